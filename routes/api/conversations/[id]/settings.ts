import { idParam } from "../../../../lib/conversation_http.ts";
import { ownerOf } from "../../../../lib/owner.ts";
import { json, readJsonObject } from "../../../../lib/server/http_error.ts";
import type { Context } from "../../../../lib/server/types.ts";
import {
  applySettingsPatch,
  parseSettingsPatch,
  settingsDefaults,
} from "../../../../lib/settings.ts";
import { settingsCall, settingsJson } from "../../../../lib/settings_http.ts";
import type { State } from "../../../../lib/state.ts";

/**
 * A conversation's settings (docs/settings.md). GET: its own, the configured defaults and the
 * effective ones. PUT: a merge patch, `{"temperature": 0.2, "systemPrompt": null}` sets the
 * first and puts the second back to its default; keys left out keep their value.
 */
export const handler = {
  GET(ctx: Context<State>) {
    return settingsCall(async () => {
      const { store, config, backend } = ctx.state;
      const settings = await store.getSettings(ownerOf(ctx.req), idParam(ctx));
      return json(
        settingsJson(settings, settingsDefaults(config, backend.defaultModel()), config.settings),
      );
    });
  },

  PUT(ctx: Context<State>) {
    return settingsCall(async () => {
      const { store, config, backend } = ctx.state;
      const owner = ownerOf(ctx.req);
      const id = idParam(ctx);
      const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
      const patch = parseSettingsPatch(body, config.settings);
      const next = applySettingsPatch(await store.getSettings(owner, id), patch);
      const saved = await store.setSettings(owner, id, next);
      return json(
        settingsJson(saved, settingsDefaults(config, backend.defaultModel()), config.settings),
      );
    });
  },
};
