import { ownerOf } from "../../../lib/owner.ts";
import { json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import { parsePresetName, parseSettingsPatch, settingsFromPatch } from "../../../lib/settings.ts";
import {
  presetIdParam,
  presetJson,
  settingsCall,
  settingsMember,
} from "../../../lib/settings_http.ts";
import type { State } from "../../../lib/state.ts";

/**
 * One preset. PUT `{"name"?, "settings"?}`: a new name, and/or settings that replace the old
 * ones whole. DELETE removes it; conversations it was applied to keep their settings.
 */
export const handler = {
  PUT(ctx: Context<State>) {
    return settingsCall(async () => {
      const { store, config } = ctx.state;
      const id = presetIdParam(ctx);
      const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
      const name = body.name === undefined ? undefined : parsePresetName(body.name);
      const settings = body.settings === undefined
        ? undefined
        : settingsFromPatch(parseSettingsPatch(settingsMember(body), config.settings));
      const preset = await store.updatePreset(ownerOf(ctx.req), id, {
        ...(name !== undefined ? { name } : {}),
        ...(settings !== undefined ? { settings } : {}),
      });
      return json(presetJson(preset));
    });
  },

  DELETE(ctx: Context<State>) {
    return settingsCall(async () => {
      await ctx.state.store.deletePreset(ownerOf(ctx.req), presetIdParam(ctx));
      return json({ deleted: true });
    });
  },
};
