/**
 * What the settings and preset routes share: their JSON shapes and the one mapping of a
 * {@link SettingsError} to a 400 that names the field.
 */
import { asStoreHttpError } from "./conversation_http.ts";
import { HttpError, json } from "./server/http_error.ts";
import type { Context } from "./server/types.ts";
import {
  type GenerationSettings,
  type SettingsDefaults,
  SettingsError,
  type SettingsLimits,
} from "./settings.ts";
import { MAX_ID_LENGTH, type Preset } from "./store/store.ts";

/** `GET /api/conversations/:id/settings`: what the dialog shows. */
export interface SettingsJson {
  /** The conversation's own choices; a field it lacks follows the default. */
  readonly settings: GenerationSettings;
  /** The configuration's values; a numeric field absent here is the model's own default. */
  readonly defaults: SettingsDefaults;
  /** What an answer uses now: `settings` over `defaults`. */
  readonly effective: SettingsDefaults;
  readonly limits: Pick<SettingsLimits, "maxNumCtx" | "maxSystemPrompt">;
}

export interface PresetJson {
  readonly id: string;
  readonly name: string;
  readonly settings: GenerationSettings;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export function settingsJson(
  settings: GenerationSettings,
  defaults: SettingsDefaults,
  limits: SettingsLimits,
): SettingsJson {
  return {
    settings,
    defaults,
    effective: { ...defaults, ...settings },
    limits: { maxNumCtx: limits.maxNumCtx, maxSystemPrompt: limits.maxSystemPrompt },
  };
}

export function presetJson(p: Preset): PresetJson {
  return {
    id: p.id,
    name: p.name,
    settings: p.settings,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/**
 * Runs a settings handler: a bad field becomes 400 `invalid_setting` with `field`, a store
 * error its status (404, 409, 400).
 */
export async function settingsCall(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SettingsError) {
      return json(
        { error: { code: "invalid_setting", field: error.field, message: error.message } },
        400,
      );
    }
    throw asStoreHttpError(error, "invalid_setting");
  }
}

/** The `:id` of a preset URL; an id that cannot exist is simply not found. */
export function presetIdParam(ctx: Context<unknown>): string {
  let id = "";
  try {
    id = decodeURIComponent(ctx.params.id ?? "");
  } catch {
    // a malformed escape: not an id of ours
  }
  if (id === "" || id.length > MAX_ID_LENGTH) {
    throw new HttpError(404, "not_found", `No preset ${JSON.stringify(id.slice(0, 64))}.`);
  }
  return id;
}

/** A body's `settings` member: an object, or absent. */
export function settingsMember(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const value = body.settings;
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SettingsError("settings", "settings must be an object of settings.");
  }
  return value as Record<string, unknown>;
}
