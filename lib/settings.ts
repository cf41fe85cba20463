/**
 * Per-conversation settings as people send them: parsing with field-named errors, the
 * configurable limits (lib/config.ts), and how a conversation's settings and the configured
 * defaults combine into what the model gets. See docs/settings.md.
 *
 * @example
 * ```ts
 * const patch = parseSettingsPatch({ temperature: 0.2, systemPrompt: null }, limits);
 * const next = applySettingsPatch(await store.getSettings(owner, id), patch);
 * await store.setSettings(owner, id, next);
 * const { systemPrompt, options } = effectiveSettings(next, config);
 * ```
 */
import type { GenerationOptions } from "./backends/backend.ts";
import {
  checkPresetName,
  type GenerationSettings,
  SETTING_KEYS,
  StoreError,
} from "./store/store.ts";

export type { GenerationSettings };
export type SettingKey = (typeof SETTING_KEYS)[number];

export interface SettingsLimits {
  /** Largest context window (tokens) a conversation may ask for. */
  readonly maxNumCtx: number;
  /** Longest system prompt, in characters. */
  readonly maxSystemPrompt: number;
  /** Presets one owner may keep. */
  readonly maxPresets: number;
}

/** A bad field of a request: the route answers 400 and names `field`. */
export class SettingsError extends Error {
  override readonly name = "SettingsError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/**
 * What to change: a key with a value sets it, a key with `null` clears it (back to the
 * default), a key that is absent keeps what is stored (JSON merge-patch).
 */
export type SettingsPatch = { readonly [K in SettingKey]?: GenerationSettings[K] | null };

const MAX_MODEL_NAME = 256;

/** Checks a request body's settings; throws {@link SettingsError} naming the first bad field. */
export function parseSettingsPatch(
  body: Readonly<Record<string, unknown>>,
  limits: SettingsLimits,
): SettingsPatch {
  const known = new Set<string>(SETTING_KEYS);
  for (const key of Object.keys(body)) {
    if (!known.has(key)) {
      throw new SettingsError(key, `Unknown setting "${key}"; known: ${SETTING_KEYS.join(", ")}.`);
    }
  }
  const out: { -readonly [K in SettingKey]?: GenerationSettings[K] | null } = {};
  const number = (key: SettingKey, min: number, max: number, whole: boolean) => {
    const value = body[key];
    if (value === undefined || value === null) return value;
    if (
      typeof value !== "number" || !Number.isFinite(value) || value < min || value > max ||
      (whole && !Number.isInteger(value))
    ) {
      throw new SettingsError(
        key,
        `${key} must be ${whole ? "a whole number" : "a number"} from ${min} to ${max}` +
          " (or null for the default).",
      );
    }
    return value;
  };
  const model = body.model;
  if (model !== undefined) {
    if (
      model !== null &&
      (typeof model !== "string" || model.trim() === "" || model.length > MAX_MODEL_NAME)
    ) {
      throw new SettingsError(
        "model",
        `model must be a model name of 1 to ${MAX_MODEL_NAME} characters.`,
      );
    }
    out.model = model === null ? null : model.trim();
  }
  const prompt = body.systemPrompt;
  if (prompt !== undefined) {
    if (prompt !== null && (typeof prompt !== "string" || prompt.length > limits.maxSystemPrompt)) {
      throw new SettingsError(
        "systemPrompt",
        `systemPrompt must be a text of at most ${limits.maxSystemPrompt} characters.`,
      );
    }
    out.systemPrompt = prompt;
  }
  const temperature = number("temperature", 0, 2, false);
  const topP = number("topP", 0, 1, false);
  const topK = number("topK", 1, 1_000_000, true);
  const numCtx = number("numCtx", 1, limits.maxNumCtx, true);
  if (temperature !== undefined) out.temperature = temperature;
  if (topP !== undefined) out.topP = topP;
  if (topK !== undefined) out.topK = topK;
  if (numCtx !== undefined) out.numCtx = numCtx;
  return out;
}

/**
 * The configurable limits for an imported file's `settings` (the store checks the rest); throws
 * {@link SettingsError}. Anything but an object is left to the store to refuse.
 */
export function checkSettingsLimits(raw: unknown, limits: SettingsLimits): void {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return;
  const { numCtx, systemPrompt } = raw as Record<string, unknown>;
  if (typeof numCtx === "number" && numCtx > limits.maxNumCtx) {
    throw new SettingsError("numCtx", `numCtx must be at most ${limits.maxNumCtx}.`);
  }
  if (typeof systemPrompt === "string" && systemPrompt.length > limits.maxSystemPrompt) {
    throw new SettingsError(
      "systemPrompt",
      `systemPrompt must be a text of at most ${limits.maxSystemPrompt} characters.`,
    );
  }
}

/** The settings after a patch. */
export function applySettingsPatch(
  current: GenerationSettings,
  patch: SettingsPatch,
): GenerationSettings {
  const next: Record<string, unknown> = { ...current };
  for (const key of SETTING_KEYS) {
    const value = patch[key];
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next as GenerationSettings;
}

/** Only set fields, no nulls: what a preset stores. */
export function settingsFromPatch(patch: SettingsPatch): GenerationSettings {
  return applySettingsPatch({}, patch);
}

/** A preset name, trimmed; 1 to 60 characters (the store's rule, with the field named). */
export function parsePresetName(raw: unknown): string {
  try {
    return checkPresetName(raw);
  } catch (error) {
    if (error instanceof StoreError) throw new SettingsError("name", error.message);
    throw error;
  }
}

/** What the configuration gives a conversation that set nothing itself. */
export interface SettingsDefaults {
  readonly model: string;
  readonly systemPrompt: string;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly numCtx?: number;
}

export function settingsDefaults(
  config: { readonly systemPrompt: string; readonly generation: GenerationOptions },
  defaultModel: string,
): SettingsDefaults {
  const g = config.generation;
  return {
    model: defaultModel,
    systemPrompt: config.systemPrompt,
    ...(g.temperature !== undefined ? { temperature: g.temperature } : {}),
    ...(g.top_p !== undefined ? { topP: g.top_p } : {}),
    ...(g.top_k !== undefined ? { topK: g.top_k } : {}),
    ...(g.num_ctx !== undefined ? { numCtx: g.num_ctx } : {}),
  };
}

/**
 * The system prompt and Ollama options an answer in this conversation gets: its own settings
 * over the configured ones. `num_predict` stays the configured one (no per-conversation knob).
 */
export function effectiveSettings(
  settings: GenerationSettings,
  config: { readonly systemPrompt: string; readonly generation: GenerationOptions },
): { systemPrompt: string; options: GenerationOptions } {
  const options: { -readonly [K in keyof GenerationOptions]: GenerationOptions[K] } = {
    ...config.generation,
  };
  if (settings.temperature !== undefined) options.temperature = settings.temperature;
  if (settings.topP !== undefined) options.top_p = settings.topP;
  if (settings.topK !== undefined) options.top_k = settings.topK;
  if (settings.numCtx !== undefined) options.num_ctx = settings.numCtx;
  return { systemPrompt: settings.systemPrompt ?? config.systemPrompt, options };
}
