/**
 * A conversation's settings in the browser: the HTTP calls of the settings dialog
 * (settings_dialog.tsx, loaded on first use) and the two the page needs at once: the model a
 * conversation remembers, and saving a newly picked one. See docs/settings.md.
 */

/** Every field optional: absent means "the configured default". */
export interface Settings {
  readonly model?: string;
  readonly systemPrompt?: string;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly numCtx?: number;
}

/** What the configuration gives; a numeric field absent here is the model's own default. */
export interface SettingsDefaults extends Settings {
  readonly model: string;
  readonly systemPrompt: string;
}

export interface SettingsLimits {
  readonly maxNumCtx: number;
  readonly maxSystemPrompt: number;
}

export interface SettingsView {
  readonly settings: Settings;
  readonly defaults: SettingsDefaults;
  readonly limits: SettingsLimits;
}

export interface Preset {
  readonly id: string;
  readonly name: string;
  readonly settings: Settings;
}

export interface PresetList extends Omit<SettingsView, "settings"> {
  readonly items: readonly Preset[];
  readonly max: number;
}

/** A setting to change: `null` puts it back to its default. */
export type SettingsPatch = { readonly [K in keyof Settings]?: Settings[K] | null };

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | {
    readonly ok: false;
    readonly message: string;
    readonly field?: string;
    readonly status?: number;
  };

async function request<T>(url: string, what: string, init: RequestInit = {}): Promise<Result<T>> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      headers: { accept: "application/json", "content-type": "application/json" },
    });
  } catch {
    return { ok: false, message: `${what} failed: the server could not be reached.` };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (response.ok && body !== undefined) return { ok: true, value: body as T };
  const error = (body as { error?: { message?: unknown; field?: unknown } } | undefined)?.error;
  return {
    ok: false,
    status: response.status,
    message: typeof error?.message === "string"
      ? error.message
      : `${what} failed (HTTP ${response.status}).`,
    ...(typeof error?.field === "string" ? { field: error.field } : {}),
  };
}

const settingsUrl = (id: string) => `/api/conversations/${encodeURIComponent(id)}/settings`;
const presetUrl = (id: string) => `/api/presets/${encodeURIComponent(id)}`;
const body = (method: string, value: unknown): RequestInit => ({
  method,
  body: JSON.stringify(value),
});

export function getSettings(id: string): Promise<Result<SettingsView>> {
  return request(settingsUrl(id), "Loading the settings");
}

export function putSettings(id: string, patch: SettingsPatch): Promise<Result<SettingsView>> {
  return request(settingsUrl(id), "Saving the settings", body("PUT", patch));
}

/** A new chat that starts with `settings` (its first prompt then names it). */
export function createWithSettings(
  settings: Settings,
): Promise<Result<SettingsView & { conversation: { id: string; title: string } }>> {
  return request("/api/conversations", "Saving the settings", body("POST", { settings }));
}

export function listPresets(): Promise<Result<PresetList>> {
  return request("/api/presets", "Loading the presets");
}

export function createPreset(name: string, settings: Settings): Promise<Result<Preset>> {
  return request("/api/presets", "Saving the preset", body("POST", { name, settings }));
}

/** A new name, and/or settings that replace the preset's whole. */
export function updatePreset(
  id: string,
  patch: { name?: string; settings?: Settings },
): Promise<Result<Preset>> {
  return request(presetUrl(id), "Saving the preset", body("PUT", patch));
}

export function deletePreset(id: string): Promise<Result<{ deleted: true }>> {
  return request(presetUrl(id), "Deleting the preset", { method: "DELETE" });
}

/** The model the conversation remembers, if any (a failed request counts as none). */
export async function conversationModel(id: string): Promise<string | undefined> {
  const result = await getSettings(id);
  return result.ok ? result.value.settings.model : undefined;
}

/**
 * Makes a picked model the conversation's. A failure is not shown: the next prompt, sent with
 * that model, records it anyway.
 */
export function rememberModel(id: string, model: string): void {
  void putSettings(id, { model });
}
