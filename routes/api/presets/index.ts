import { ownerOf } from "../../../lib/owner.ts";
import { HttpError, json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import { parsePresetName, parseSettingsPatch, settingsFromPatch } from "../../../lib/settings.ts";
import { presetJson, settingsCall, settingsMember } from "../../../lib/settings_http.ts";
import type { State } from "../../../lib/state.ts";

/**
 * The owner's named presets: GET lists them by name, POST `{"name", "settings"}` adds one
 * (409 `conflict` when the name is taken, 409 `too_many_presets` past SETTINGS_MAX_PRESETS).
 */
export const handler = {
  GET(ctx: Context<State>) {
    return settingsCall(async () => {
      const presets = await ctx.state.store.listPresets(ownerOf(ctx.req));
      return json({ items: presets.map(presetJson), max: ctx.state.config.settings.maxPresets });
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
