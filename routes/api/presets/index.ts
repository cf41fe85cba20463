import { ownerOf } from "../../../lib/owner.ts";
import { HttpError, json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import {
  parsePresetName,
  parseSettingsPatch,
  settingsDefaults,
  settingsFromPatch,
} from "../../../lib/settings.ts";
import {
  presetJson,
  settingsCall,
  settingsJson,
  settingsMember,
} from "../../../lib/settings_http.ts";
import type { State } from "../../../lib/state.ts";

/**
 * The owner's named presets: GET lists them by name (with the configured defaults and limits), POST `{"name", "settings"}` adds one
 * (409 `conflict` when the name is taken, 409 `too_many_presets` past SETTINGS_MAX_PRESETS).
 */
export const handler = {
  GET(ctx: Context<State>) {
    return settingsCall(async () => {
      const { store, config, backend } = ctx.state;
      const presets = await store.listPresets(ownerOf(ctx.req));
      // The defaults and limits too: a new chat's dialog has no conversation to ask.
      const { defaults, limits } = settingsJson(
        {},
        settingsDefaults(config, backend.defaultModel()),
        config.settings,
      );
      return json({
        items: presets.map(presetJson),
        max: config.settings.maxPresets,
        defaults,
        limits,
      });
    });
  },

  POST(ctx: Context<State>) {
    return settingsCall(async () => {
      const { store, config } = ctx.state;
      const owner = ownerOf(ctx.req);
      const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
      const name = parsePresetName(body.name);
      const settings = settingsFromPatch(parseSettingsPatch(settingsMember(body), config.settings));
      const { maxPresets } = config.settings;
      if ((await store.listPresets(owner)).length >= maxPresets) {
        throw new HttpError(
          409,
          "too_many_presets",
          `At most ${maxPresets} presets can be kept; delete one first.`,
        );
      }
      return json(presetJson(await store.createPreset(owner, { name, settings })), 201);
    });
  },
};
