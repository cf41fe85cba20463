/**
 * The conversation settings dialog: system prompt, temperature, top P, top K and context
 * length, each empty for "the default" (shown as its placeholder), plus named presets. A
 * native modal `<dialog>`: the page behind is inert, Esc and Cancel close it without saving,
 * and the caller puts focus back on its button. Loaded on first use (see settings_button.tsx).
 *
 * In a new chat, Save creates the conversation with these settings, so its first answer already
 * follows them (docs/settings.md).
 */
import { useEffect, useId, useRef, useState } from "preact/hooks";
import {
  createPreset,
  createWithSettings,
  deletePreset,
  getSettings,
  listPresets,
  type Preset,
  putSettings,
  type Settings,
  type SettingsDefaults,
  type SettingsPatch,
  updatePreset,
} from "./settings.ts";

export interface SettingsDialogProps {
  /** The stored conversation shown; undefined in a new chat. */
  readonly conversationId: string | undefined;
  /** The model picked in the header: a new chat created by Save starts with it. */
  readonly model: string;
  /** A new chat was created by Save (its id and title, for the page and the list). */
  readonly onCreated: (conversation: ConversationCreated) => void;
  readonly onClose: () => void;
}

export interface ConversationCreated {
  readonly id: string;
  readonly title: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

type Field = "systemPrompt" | "temperature" | "topP" | "topK" | "numCtx";
type Fields = Record<Field, string>;

const NUMERIC: readonly { key: Exclude<Field, "systemPrompt">; label: string; hint: string }[] = [
  { key: "temperature", label: "Temperature", hint: "0 to 2: higher is more varied" },
  { key: "topP", label: "Top P", hint: "0 to 1" },
  { key: "topK", label: "Top K", hint: "a whole number, 1 or more" },
  { key: "numCtx", label: "Context length", hint: "tokens the model reads" },
];

const EMPTY: Fields = { systemPrompt: "", temperature: "", topP: "", topK: "", numCtx: "" };

function fieldsOf(settings: Settings): Fields {
  const text = (value: number | undefined) => value === undefined ? "" : String(value);
  return {
    systemPrompt: settings.systemPrompt ?? "",
    temperature: text(settings.temperature),
    topP: text(settings.topP),
    topK: text(settings.topK),
    numCtx: text(settings.numCtx),
  };
}

/** The fields as a patch (empty: back to the default), or the first field that is no number. */
function patchOf(fields: Fields): { patch: SettingsPatch } | { field: Field; message: string } {
  const patch: Record<string, string | number | null> = {
    systemPrompt: fields.systemPrompt.trim() === "" ? null : fields.systemPrompt,
  };
  for (const { key, label } of NUMERIC) {
    const raw = fields[key].trim().replace(",", ".");
    const value = Number(raw);
    if (raw !== "" && !Number.isFinite(value)) {
      return { field: key, message: `${label} must be a number, or empty for the default.` };
    }
    patch[key] = raw === "" ? null : value;
  }
  return { patch: patch as SettingsPatch };
}

/** A patch without its nulls: what a preset or a new chat stores. */
function settingsOf(patch: SettingsPatch): Settings {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null)) as Settings;
}

function placeholder(defaults: SettingsDefaults | undefined, key: Field): string {
  if (!defaults) return "";
  const value = defaults[key];
  if (key === "systemPrompt") return value ? `default: ${value}` : "default: none";
  return value === undefined ? "default: the model's own" : `default: ${value}`;
}

export function SettingsDialog(props: SettingsDialogProps) {
  const { conversationId } = props;
  const id = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  // Closed first, so the page is no longer inert when the caller moves focus back.
  const onClose = () => {
    dialog.current?.close();
    props.onClose();
  };
  const [fields, setFields] = useState<Fields>(EMPTY);
  const [defaults, setDefaults] = useState<SettingsDefaults | undefined>(undefined);
  const [presets, setPresets] = useState<readonly Preset[]>([]);
  const [presetId, setPresetId] = useState("");
  /** The name box: for a new preset, or a new name for the chosen one. */
  const [naming, setNaming] = useState<"new" | "rename" | undefined>(undefined);
  const [presetName, setPresetName] = useState("");
  const [loading, setLoading] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string } | undefined>(undefined);
  const [notice, setNotice] = useState("");

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    let live = true;
    Promise.all([listPresets(), conversationId ? getSettings(conversationId) : undefined])
      .then(([list, own]) => {
        if (!live) return;
        if (list.ok) {
          setPresets(list.value.items);
          setDefaults(list.value.defaults);
        }
        if (own?.ok) {
          setFields(fieldsOf(own.value.settings));
          setDefaults(own.value.defaults);
        }
        const failed = !list.ok ? list : own && !own.ok ? own : undefined;
        if (failed) setError({ message: failed.message });
        setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [conversationId]);

  // The fields are disabled while they load: focus the first once it can take it.
  useEffect(() => {
    if (!loading) dialog.current?.querySelector<HTMLElement>('[name="systemPrompt"]')?.focus();
  }, [loading]);

  const set = (key: Field, value: string) => {
    setFields((old) => ({ ...old, [key]: value }));
    if (error?.field === key) setError(undefined);
  };

  const fail = (field: string | undefined, message: string) => {
    setError(field ? { field, message } : { message });
    if (field) dialog.current?.querySelector<HTMLElement>(`[name="${field}"]`)?.focus();
  };

  const save = async (event: Event) => {
    event.preventDefault();
    const parsed = patchOf(fields);
    if ("field" in parsed) return fail(parsed.field, parsed.message);
    setBusy(true);
    if (conversationId) {
      const result = await putSettings(conversationId, parsed.patch);
      setBusy(false);
      if (!result.ok) return fail(result.field, result.message);
    } else {
      const result = await createWithSettings({ ...settingsOf(parsed.patch), model: props.model });
      setBusy(false);
      if (!result.ok) return fail(result.field, result.message);
      props.onCreated(result.value.conversation as ConversationCreated);
    }
    onClose();
  };

  const applyPreset = (chosen: string) => {
    setPresetId(chosen);
    const preset = presets.find((p) => p.id === chosen);
    if (preset) {
      setFields(fieldsOf(preset.settings));
      setError(undefined);
      setNotice(`Preset “${preset.name}” applied; Save to keep it.`);
    }
  };

  const chosen = presets.find((p) => p.id === presetId);

  /** Puts `preset` in the list (in place of its old self), sorted by name, and chooses it. */
  const keep = (preset: Preset) => {
    setPresets((old) =>
      [...old.filter((p) => p.id !== preset.id), preset].sort((a, b) => a.name < b.name ? -1 : 1)
    );
    setPresetId(preset.id);
    setError(undefined);
  };

  const savePreset = async () => {
    const parsed = patchOf(fields);
    if ("field" in parsed) return fail(parsed.field, parsed.message);
    setBusy(true);
    const result = naming === "rename" && chosen
      ? await updatePreset(chosen.id, { name: presetName })
      : await createPreset(presetName, settingsOf(parsed.patch));
    setBusy(false);
    if (!result.ok) {
      return fail(result.field === "name" ? "presetName" : result.field, result.message);
    }
    keep(result.value);
    setNaming(undefined);
    setPresetName("");
    setNotice(
      naming === "rename" && chosen
        ? `Preset “${chosen.name}” renamed “${result.value.name}”.`
        : `Preset “${result.value.name}” saved.`,
    );
  };

  /** The fields as they are now become the chosen preset's settings. */
  const updateChosen = async () => {
    if (!chosen) return;
    const parsed = patchOf(fields);
    if ("field" in parsed) return fail(parsed.field, parsed.message);
    setBusy(true);
    const result = await updatePreset(chosen.id, { settings: settingsOf(parsed.patch) });
    setBusy(false);
    if (!result.ok) return fail(result.field, result.message);
    keep(result.value);
    setNotice(`Preset “${result.value.name}” updated.`);
  };

  const openNaming = (mode: "new" | "rename") => {
    if (naming === mode) return setNaming(undefined);
    setNaming(mode);
    setPresetName(mode === "rename" ? chosen?.name ?? "" : "");
    if (error?.field === "presetName") setError(undefined);
  };

  const removePreset = async () => {
    const preset = presets.find((p) => p.id === presetId);
    if (!preset) return;
    setBusy(true);
    const result = await deletePreset(preset.id);
    setBusy(false);
    if (!result.ok) return fail(undefined, result.message);
    setPresets((old) => old.filter((p) => p.id !== preset.id));
    setPresetId("");
    if (naming === "rename") setNaming(undefined);
    setNotice(`Preset “${preset.name}” deleted.`);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== "Escape") return;
    // Handled here, so the page's own Esc (stop the answer) does not also fire.
    event.preventDefault();
    event.stopPropagation();
    onClose();
  };

  const invalid = (key: string) => error?.field === key ? "true" : undefined;
  const errorId = `${id}-error`;
  const described = (key: string) => error?.field === key ? errorId : `${id}-${key}-hint`;
  const disabled = loading || busy;

  return (
    <dialog
      ref={dialog}
      class="dialog settings-dialog"
      aria-labelledby={`${id}-title`}
      onKeyDown={onKeyDown}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <form class="settings-form" onSubmit={save}>
        <h2 id={`${id}-title`} class="settings-title">Conversation settings</h2>
        <p class="settings-intro">
          {conversationId
            ? "These apply to this conversation's next answers. Empty fields use the default."
            : "Saving creates this chat with these settings. Empty fields use the default."}
        </p>

        <div class="settings-presets">
          <label for={`${id}-preset`}>Preset</label>
          <select
            id={`${id}-preset`}
            value={presetId}
            disabled={disabled || presets.length === 0}
            onChange={(event) => applyPreset(event.currentTarget.value)}
          >
            <option value="">{presets.length === 0 ? "No presets yet" : "Choose a preset…"}</option>
            {presets.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
          <button
            type="button"
            class="btn btn-ghost btn-small"
            disabled={disabled || !chosen}
            title={chosen ? `Save the fields below into “${chosen.name}”` : undefined}
            onClick={updateChosen}
          >
            Update preset
          </button>
          <button
            type="button"
            class="btn btn-ghost btn-small"
            disabled={disabled || !chosen}
            aria-expanded={naming === "rename" ? "true" : "false"}
            onClick={() => openNaming("rename")}
          >
            Rename preset…
          </button>
          <button
            type="button"
            class="btn btn-ghost btn-small"
            disabled={disabled || !chosen}
            onClick={removePreset}
          >
            Delete preset
          </button>
          <button
            type="button"
            class="btn btn-ghost btn-small"
            disabled={disabled}
            aria-expanded={naming === "new" ? "true" : "false"}
            onClick={() => openNaming("new")}
          >
            Save as preset…
          </button>
        </div>
        {naming && (
          <div class="settings-preset-name">
            <label for={`${id}-preset-name`}>Preset name</label>
            <input
              id={`${id}-preset-name`}
              name="presetName"
              type="text"
              maxLength={60}
              value={presetName}
              aria-invalid={invalid("presetName")}
              aria-describedby={error?.field === "presetName" ? errorId : undefined}
              onInput={(event) => setPresetName(event.currentTarget.value)}
              onKeyDown={(event) => {
                if (event.key === "Enter") {
                  event.preventDefault();
                  savePreset();
                }
              }}
            />
            <button
              type="button"
              class="btn btn-ghost btn-small"
              disabled={disabled || presetName.trim() === ""}
              onClick={savePreset}
            >
              {naming === "rename" ? "Rename" : "Save preset"}
            </button>
          </div>
        )}

        <label for={`${id}-systemPrompt`} class="settings-label">System prompt</label>
        <textarea
          id={`${id}-systemPrompt`}
          name="systemPrompt"
          class="settings-prompt"
          rows={4}
          autofocus
          disabled={disabled}
          value={fields.systemPrompt}
          placeholder={placeholder(defaults, "systemPrompt")}
          aria-invalid={invalid("systemPrompt")}
          aria-describedby={error?.field === "systemPrompt" ? errorId : undefined}
          onInput={(event) => set("systemPrompt", event.currentTarget.value)}
        />

        <div class="settings-grid">
          {NUMERIC.map(({ key, label, hint }) => (
            <div class="settings-field" key={key}>
              <label for={`${id}-${key}`} class="settings-label">{label}</label>
              <input
                id={`${id}-${key}`}
                name={key}
                type="text"
                inputMode={key === "topK" || key === "numCtx" ? "numeric" : "decimal"}
                autocomplete="off"
                disabled={disabled}
                value={fields[key]}
                placeholder={placeholder(defaults, key)}
                aria-invalid={invalid(key)}
                aria-describedby={described(key)}
                onInput={(event) => set(key, event.currentTarget.value)}
              />
              <span id={`${id}-${key}-hint`} class="settings-hint">{hint}</span>
            </div>
          ))}
        </div>

        <p id={errorId} class="settings-error" role="alert">{error?.message ?? ""}</p>
        <p class="settings-notice" role="status">{loading ? "Loading…" : notice}</p>

        <div class="settings-actions">
          <button
            type="button"
            class="btn btn-ghost btn-small settings-reset"
            disabled={disabled}
            onClick={() => {
              setFields(EMPTY);
              setPresetId("");
              setError(undefined);
              setNotice("All fields use the defaults; Save to keep that.");
            }}
          >
            Reset to defaults
          </button>
          <button type="button" class="btn btn-ghost btn-small" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn btn-send btn-small" disabled={disabled}>Save</button>
        </div>
      </form>
    </dialog>
  );
}
