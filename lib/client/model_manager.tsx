/**
 * The model manager: a modal dialog listing every model (size, parameters, quantization,
 * loaded, built in) with Load/Unload and Delete (confirmed inside the dialog), and a form to
 * pull a model by name with a progress bar and Cancel. Loaded lazily (model_manager_button.tsx)
 * the first time it is opened, so the chat page's first bundle stays small. It stays mounted
 * once loaded: closing the dialog does not stop a pull.
 */
import { useEffect, useId, useRef } from "preact/hooks";
import { type Signal, useSignal } from "@preact/signals";
import { fetchModels, loadModel } from "./api.ts";
import { checkModelName } from "../model_name.ts";
import { cancelPull, deleteModel, pullModel, unloadModel } from "./model_manager_api.ts";
import { describePull, type PullFigures, PullMeter } from "./model_manager_progress.ts";
import { type ChatState, formatBytes, type ModelOption } from "./state.ts";

export interface ModelManagerProps {
  readonly state: ChatState;
  /** Whether the dialog is shown; the dialog sets it false when it closes. */
  readonly open: Signal<boolean>;
}

type PullState =
  | { readonly phase: "idle" }
  | { readonly phase: "pulling"; readonly name: string; readonly figures: PullFigures }
  | { readonly phase: "done"; readonly name: string }
  | { readonly phase: "cancelled"; readonly name: string }
  | { readonly phase: "error"; readonly name: string; readonly message: string };

/** What a row is doing; one action at a time per model. */
type RowAction = "loading" | "unloading" | "deleting" | "confirm";

interface Notice {
  readonly kind: "ok" | "error";
  readonly text: string;
}

/** Fetches the model list into the chat state, so the model picker shows the change too. */
async function refreshModels(state: ChatState): Promise<void> {
  const result = await fetchModels();
  if (!result.ok) {
    state.modelsError.value = result.message;
    return;
  }
  state.models.value = result.value.models;
  state.modelsError.value = undefined;
  state.modelsLoaded.value = true;
}

export default function ModelManager({ state, open }: ModelManagerProps) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const pull = useSignal<PullState>({ phase: "idle" });
  const rows = useSignal<Readonly<Record<string, RowAction>>>({});
  const notice = useSignal<Notice | undefined>(undefined);
  const pullAbort = useRef<AbortController | undefined>(undefined);

  const isOpen = open.value;
  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (isOpen && !dialog.open) {
      dialog.showModal();
      void refreshModels(state);
    } else if (!isOpen && dialog.open) dialog.close();
  }, [isOpen]);

  // A pull in flight ends with the page, not with the dialog.
  useEffect(() => () => pullAbort.current?.abort(), []);

  const setRow = (name: string, action: RowAction | undefined) => {
    const next = { ...rows.value };
    if (action) next[name] = action;
    else delete next[name];
    rows.value = next;
  };

  const act = async (
    name: string,
    action: Exclude<RowAction, "confirm">,
    run: () => Promise<{ ok: boolean; message?: string }>,
    done: string,
  ) => {
    setRow(name, action);
    notice.value = undefined;
    const result = await run();
    await refreshModels(state);
    setRow(name, undefined);
    notice.value = result.ok
      ? { kind: "ok", text: done }
      : { kind: "error", text: result.message ?? `${name}: that failed.` };
  };

  const onLoad = (name: string) =>
    act(name, "loading", async () => {
      const result = await loadModel(name, () => {});
      if (result.ok && state.model.value === name) {
        state.modelLoad.value = { state: "loaded", model: name };
      }
      return result;
    }, `${name} is loaded.`);
  const onUnload = (name: string) =>
    act(name, "unloading", async () => {
      const result = await unloadModel(name);
      if (result.ok && state.modelLoad.value.state === "loaded") {
        state.modelLoad.value = { state: "idle" };
      }
      return result;
    }, `${name} is unloaded.`);
  const onDelete = (name: string) =>
    act(name, "deleting", () => deleteModel(name), `${name} is deleted.`);

  const startPull = async (name: string) => {
    if (pull.value.phase === "pulling") return;
    const abort = new AbortController();
    pullAbort.current = abort;
    const meter = new PullMeter();
    notice.value = undefined;
    pull.value = {
      phase: "pulling",
      name,
      figures: meter.add({ status: "starting" }, performance.now()),
    };
    const outcome = await pullModel(name, (line) => {
      if (!abort.signal.aborted) {
        pull.value = { phase: "pulling", name, figures: meter.add(line, performance.now()) };
      }
    }, abort.signal);
    pullAbort.current = undefined;
    if (outcome.outcome === "success") await refreshModels(state);
    pull.value = outcome.outcome === "error"
      ? { phase: "error", name, message: outcome.message }
      : { phase: outcome.outcome === "success" ? "done" : "cancelled", name };
  };

  const cancelRunningPull = () => {
    const current = pull.value;
    if (current.phase !== "pulling" || !pullAbort.current) return;
    void cancelPull(current.name);
    pullAbort.current.abort();
  };

  const models = state.models.value;
  return (
    <dialog
      ref={dialogRef}
      class="dialog models-dialog"
      aria-labelledby={titleId}
      onClose={() => (open.value = false)}
      onKeyDown={(event) => {
        // Escape closes the dialog only: the page's own Escape (Stop) must not see it.
        if (event.key === "Escape") {
          event.preventDefault();
          open.value = false;
        }
      }}
    >
      <div class="models-head">
        <h2 id={titleId} class="models-title">Models</h2>
        <button
          type="button"
          class="btn btn-ghost btn-small"
          onClick={() => (open.value = false)}
        >
          Close
        </button>
      </div>
      <PullForm pull={pull.value} onPull={startPull} onCancel={cancelRunningPull} />
      <div class="models-notice" role="status" aria-live="polite">
        {notice.value && (
          <p class={notice.value.kind === "error" ? "model-error" : "models-ok"}>
            {notice.value.text}
          </p>
        )}
      </div>
      {models.length === 0
        ? (
          <p class="models-empty">
            {state.modelsError.value ?? "No models yet: pull one by name above."}
          </p>
        )
        : (
          <div class="models-table-wrap">
            <table class="models-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col" class="models-detail">Size</th>
                  <th scope="col" class="models-detail">Parameters</th>
                  <th scope="col" class="models-detail">Quantization</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {models.map((model) => (
                  <ModelRow
                    key={model.name}
                    model={model}
                    action={rows.value[model.name]}
                    pulling={pull.value.phase === "pulling"}
                    onLoad={onLoad}
                    onUnload={onUnload}
                    onAskDelete={(name) => setRow(name, "confirm")}
                    onKeep={(name) => setRow(name, undefined)}
                    onDelete={onDelete}
                    onDownload={startPull}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
    </dialog>
  );
}

function ModelRow(
  { model, action, pulling, onLoad, onUnload, onAskDelete, onKeep, onDelete, onDownload }: {
    model: ModelOption;
    action: RowAction | undefined;
    pulling: boolean;
    onLoad: (name: string) => void;
    onUnload: (name: string) => void;
    onAskDelete: (name: string) => void;
    onKeep: (name: string) => void;
    onDelete: (name: string) => void;
    onDownload: (name: string) => void;
  },
) {
  const { name } = model;
  const builtin = model.source === "builtin";
  const downloaded = model.available !== false;
  const busy = action !== undefined && action !== "confirm";
  return (
    <tr data-model={name}>
      <th scope="row" class="models-name">
        <span>{name}</span>
        {builtin && <span class="badge models-badge">Built-in</span>}
        {model.loaded && <span class="badge models-badge models-loaded">Loaded</span>}
        {!downloaded && <span class="badge models-badge">Not downloaded</span>}
        {/* On a phone the three columns after this one fold into this line (styles.css). */}
        <span class="models-meta">
          {[model.size ? formatBytes(model.size) : "", model.parameterSize, model.quantization]
            .filter(Boolean).join(" · ")}
        </span>
      </th>
      <td class="models-detail">{model.size ? formatBytes(model.size) : "—"}</td>
      <td class="models-detail">{model.parameterSize || "—"}</td>
      <td class="models-detail">{model.quantization || "—"}</td>
      <td class="models-actions">
        {action === "confirm"
          ? (
            <span class="models-confirm">
              <span>Delete {name}? Its files are removed from disk.</span>
              <button type="button" class="btn btn-small btn-danger" onClick={() => onDelete(name)}>
                Yes, delete
              </button>
              <button type="button" class="btn btn-ghost btn-small" onClick={() => onKeep(name)}>
                Keep it
              </button>
            </span>
          )
          : (
            <>
              {busy && (
                <span class="models-busy">
                  <span class="spinner" aria-hidden="true" />
                  {action === "loading"
                    ? "Loading…"
                    : action === "unloading"
                    ? "Unloading…"
                    : "Deleting…"}
                </span>
              )}
              {!downloaded
                ? (
                  <button
                    type="button"
                    class="btn btn-ghost btn-small"
                    disabled={busy || pulling}
                    onClick={() => onDownload(name)}
                  >
                    Download
                  </button>
                )
                : model.loaded
                ? (
                  <button
                    type="button"
                    class="btn btn-ghost btn-small"
                    disabled={busy}
                    onClick={() => onUnload(name)}
                  >
                    Unload
                  </button>
                )
                : (
                  <button
                    type="button"
                    class="btn btn-ghost btn-small"
                    disabled={busy}
                    onClick={() => onLoad(name)}
                  >
                    Load
                  </button>
                )}
              {downloaded && (
                <button
                  type="button"
                  class="btn btn-ghost btn-small"
                  disabled={busy}
                  onClick={() => onAskDelete(name)}
                >
                  Delete
                </button>
              )}
            </>
          )}
      </td>
    </tr>
  );
}

function PullForm(
  { pull, onPull, onCancel }: {
    pull: PullState;
    onPull: (name: string) => void;
    onCancel: () => void;
  },
) {
  const inputId = useId();
  const hintId = useId();
  const invalid = useSignal<string | undefined>(undefined);
  const inputRef = useRef<HTMLInputElement>(null);
  const pulling = pull.phase === "pulling";
  // A finished pull empties the field for the next name; a failed one keeps it to correct.
  useEffect(() => {
    if (pull.phase === "done" && inputRef.current) inputRef.current.value = "";
  }, [pull.phase]);
  return (
    <section class="models-pull" aria-label="Pull a model">
      <h3 class="models-subtitle">Pull a model</h3>
      <form
        class="models-pull-form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const input = event.currentTarget.elements.namedItem("model") as HTMLInputElement;
          const checked = checkModelName(input.value);
          if (!checked.ok) {
            invalid.value = checked.message;
            input.focus();
            return;
          }
          invalid.value = undefined;
          onPull(checked.name);
        }}
      >
        <label for={inputId}>Model name</label>
        <input
          ref={inputRef}
          id={inputId}
          name="model"
          class="models-input"
          placeholder="e.g. qwen3:0.6b"
          autocomplete="off"
          spellcheck={false}
          aria-invalid={invalid.value ? "true" : undefined}
          aria-describedby={hintId}
          disabled={pulling}
        />
        <button type="submit" class="btn btn-send btn-small" disabled={pulling}>Pull</button>
      </form>
      <div id={hintId} class="models-pull-state" aria-live="polite">
        {invalid.value && <p class="model-error">{invalid.value}</p>}
        {pull.phase === "pulling" && (
          <div class="models-progress">
            <div
              class="models-bar"
              role="progressbar"
              aria-label={`Pulling ${pull.name}`}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={pull.figures.percent ?? 0}
              aria-valuetext={describePull(pull.figures) || pull.figures.status}
            >
              <span class="models-bar-fill" style={{ width: `${pull.figures.percent ?? 0}%` }} />
            </div>
            <p class="models-progress-text">
              <span>{pull.name}: {pull.figures.status}</span>
              <span data-testid="pull-figures">{describePull(pull.figures)}</span>
            </p>
            <button type="button" class="btn btn-ghost btn-small" onClick={onCancel}>
              Cancel
            </button>
          </div>
        )}
        {pull.phase === "done" && <p class="models-ok">{pull.name} is pulled and ready.</p>}
        {pull.phase === "cancelled" && <p>Pull of {pull.name} cancelled.</p>}
        {pull.phase === "error" && <p class="model-error" role="alert">{pull.message}</p>}
      </div>
    </section>
  );
}
