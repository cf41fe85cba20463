/**
 * The chat island's pieces. Not islands themselves (islands/ holds only `Chat.tsx`); they read
 * the per-instance state from props, so they render the same on the server and in the browser.
 */
import type { ComponentChildren, Ref } from "preact";
import { useId, useState } from "preact/hooks";
import { Markdown, Thinking } from "./markdown_view.tsx";
import { type Versions, versionsOf } from "./conversations.ts";
import { ModelManagerButton } from "./model_manager_button.tsx";
import {
  type AssistantMessage,
  type ChatState,
  formatBytes,
  formatStats,
  type Message,
  modelLabel,
  type ModelOption,
  type UserMessage,
} from "./state.ts";

// ---------------------------------------------------------------------------------------------
// Header

export function StatusBadge({ state }: { state: ChatState }) {
  const status = state.connection.value;
  const retry = state.retryInMs.value;
  const text = status === "reconnecting" && retry !== undefined
    ? `reconnecting in ${Math.max(1, Math.ceil(retry / 1000))}s`
    : status;
  return (
    <span class="status" role="status" data-status={status}>
      <span class="status-dot" aria-hidden="true" />
      <span class="status-text">{text}</span>
    </span>
  );
}

export function ModelPicker(
  { state, onChange }: { state: ChatState; onChange: (model: string) => void },
) {
  const id = useId();
  const noteId = `${id}-note`;
  const models = state.models.value;
  const selected = state.model.value;
  // The selected model stays listed even when the server lacks it, marked, so the choice and
  // the reason it fails are both visible.
  const missing = state.modelsLoaded.value && models.length > 0 &&
    !models.some((m) => m.name === selected);
  const options: readonly ModelOption[] = models.length === 0
    ? [{ name: selected }]
    : missing
    ? [...models, { name: selected, missing: true }]
    : models;
  const listError = state.modelsError.value;
  const load = state.modelLoad.value;
  const empty = state.modelsLoaded.value && !listError && models.length === 0;
  return (
    <div class="model-picker">
      <label for={id} class="model-label">Model</label>
      <select
        id={id}
        class="model-select"
        value={selected}
        aria-describedby={noteId}
        onChange={(event) => onChange(event.currentTarget.value)}
      >
        {options.map((model) => (
          <option key={model.name} value={model.name} selected={model.name === selected}>
            {model.missing
              ? `${model.name} — not installed`
              : model.loaded === undefined && model.parameterSize === undefined
              ? model.name
              : modelLabel(model)}
          </option>
        ))}
      </select>
      <ModelManagerButton state={state} />
      <div id={noteId} class="model-note" aria-live="polite" data-testid="model-note">
        {listError && <p class="model-error" data-testid="model-error">{listError}</p>}
        {empty && (
          <p class="model-error" data-testid="model-error">
            No models are installed. Pull one with <code>ollama pull {state.defaultModel}</code>.
          </p>
        )}
        {missing && !selected.startsWith("builtin/") && (
          <p class="model-error" data-testid="model-missing">
            {selected} is not installed in Ollama. Pull it with{" "}
            <code>ollama pull {selected}</code>, or pick another model.
          </p>
        )}
        {load.state === "loading" && (
          <LoadProgressView model={load.model} progress={load.progress} />
        )}
        {load.state === "loaded" && (
          <p class="model-load" data-state="loaded">{load.model} loaded</p>
        )}
        {load.state === "error" && load.message !== listError && (
          <p class="model-load model-error" data-state="error">{load.message}</p>
        )}
      </div>
    </div>
  );
}

function LoadProgressView(
  { model, progress }: {
    model: string;
    progress: { status: string; completed?: number; total?: number } | undefined;
  },
) {
  const total = progress?.total;
  const completed = progress?.completed ?? 0;
  if (!progress || !total) {
    return (
      <p class="model-load" data-state="loading">
        <span class="spinner" role="progressbar" aria-label="Loading" />
        {progress?.status === "downloading" ? "Downloading" : "Loading"} {model}…
      </p>
    );
  }
  const percent = Math.min(100, Math.floor((completed / total) * 100));
  // The bar and the words say the same thing: downloading, or checking the downloaded file.
  const verb = progress.status === "downloading" ? "Downloading" : "Checking";
  return (
    <p class="model-load" data-state="loading">
      <progress
        class="load-progress"
        max={total}
        value={completed}
        aria-label={`${verb} ${model}`}
      />
      {verb} {model}… {percent}% ({formatBytes(completed)} of {formatBytes(total)})
    </p>
  );
}

// ---------------------------------------------------------------------------------------------
// Messages

/** What a message can do; the island supplies the handlers. */
export interface MessageActions {
  readonly onRetry: (message: AssistantMessage) => void;
  readonly onRegenerate: (message: AssistantMessage) => void;
  readonly onContinue: (message: AssistantMessage) => void;
  readonly onEdit: (message: UserMessage, text: string) => void;
  readonly onVersion: (message: Message, step: number) => void;
}

/** `‹ 2/3 ›` between the versions of a turn. */
function VersionSwitch(
  { message, versions, onVersion }: {
    message: Message;
    versions: Versions;
    onVersion: MessageActions["onVersion"];
  },
) {
  if (versions.count < 2) return null;
  return (
    <span class="versions" data-testid="versions">
      <button
        type="button"
        class="icon-button"
        aria-label="Previous version"
        disabled={versions.index === 0}
        onClick={() => onVersion(message, -1)}
      >
        ‹
      </button>
      <span class="versions-count">{versions.index + 1}/{versions.count}</span>
      <button
        type="button"
        class="icon-button"
        aria-label="Next version"
        disabled={versions.index >= versions.count - 1}
        onClick={() => onVersion(message, 1)}
      >
        ›
      </button>
    </span>
  );
}

/** `id="m-<id>"` and `data-message-id` for stored messages, so search can point at them. */
function anchor(message: Message) {
  return message.saved
    ? { id: `m-${message.id}`, "data-message-id": message.id }
    : { "data-message-id": undefined };
}

function UserMessageView(
  { message, versions, canEdit, highlighted, actions }: {
    message: UserMessage;
    versions: Versions;
    canEdit: boolean;
    highlighted: boolean;
    actions: MessageActions;
  },
) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const id = useId();
  const save = () => {
    if (!draft.trim()) return;
    setEditing(false);
    actions.onEdit(message, draft);
  };
  return (
    <article
      class="msg msg-user"
      data-role="user"
      data-highlight={highlighted ? "true" : undefined}
      {...anchor(message)}
    >
      {editing
        ? (
          <form
            class="edit-form"
            onSubmit={(event) => {
              event.preventDefault();
              save();
            }}
          >
            <label for={id} class="visually-hidden">Edit message</label>
            <textarea
              id={id}
              class="edit-input"
              value={draft}
              rows={Math.min(10, Math.max(2, draft.split("\n").length))}
              onInput={(event) => setDraft(event.currentTarget.value)}
              onKeyDown={(event) => {
                if (event.key === "Escape") {
                  event.preventDefault();
                  setEditing(false);
                } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
                  event.preventDefault();
                  save();
                }
              }}
              ref={(el) => el?.focus()}
            />
            <div class="edit-buttons">
              <button
                type="button"
                class="btn btn-small btn-ghost"
                onClick={() => setEditing(false)}
              >
                Cancel
              </button>
              <button type="submit" class="btn btn-small btn-send" disabled={!canEdit}>
                Save &amp; send
              </button>
            </div>
          </form>
        )
        : (
          <div class="bubble">
            <p class="user-text">{message.content}</p>
          </div>
        )}
      {!editing && (versions.count > 1 || message.saved) && (
        <footer class="msg-tools">
          <VersionSwitch message={message} versions={versions} onVersion={actions.onVersion} />
          {message.saved && (
            <button
              type="button"
              class="icon-button"
              disabled={!canEdit}
              onClick={() => {
                setDraft(message.content);
                setEditing(true);
              }}
            >
              Edit
            </button>
          )}
        </footer>
      )}
    </article>
  );
}

function AssistantMessageView(
  { message, versions, idle, highlighted, actions }: {
    message: AssistantMessage;
    versions: Versions;
    /** No answer streams at the end of the visible branch: new requests may go. */
    idle: boolean;
    highlighted: boolean;
    actions: MessageActions;
  },
) {
  const status = message.status.value;
  const content = message.content.value;
  const thinking = message.thinking.value;
  const error = message.error.value;
  const stats = message.stats.value;
  const omitted = message.omittedTurns.value;
  const live = status === "pending" || status === "streaming";
  // An answer that failed before its first word has no figures worth showing.
  const statsText = stats && !live && (content || status !== "error") ? formatStats(stats) : "";
  const canContinue = idle && message.saved && (status === "interrupted" || status === "stopped");
  const canRegenerate = idle && !live && message.saved;
  return (
    <article
      class="msg msg-assistant"
      data-role="assistant"
      data-status={status}
      data-highlight={highlighted ? "true" : undefined}
      aria-busy={live ? "true" : "false"}
      {...anchor(message)}
    >
      {omitted !== undefined && omitted > 0 && (
        <p class="omitted" data-testid="omitted">
          {omitted === 1
            ? "1 earlier message was left out to fit the model's context window"
            : `${omitted} earlier messages were left out to fit the model's context window`}
        </p>
      )}
      <div class="bubble">
        <Thinking message={message} />
        {live && !content && !thinking && message.queuePosition.value !== undefined && (
          <p class="queued" data-testid="queued">
            Waiting for the model: {message.queuePosition.value === 1
              ? "next in line"
              : `${message.queuePosition.value - 1} answers ahead`}
          </p>
        )}
        {live && !content && !thinking && (
          <span class="typing" role="img" aria-label="Assistant is typing">…</span>
        )}
        {content && <Markdown class="md" source={content} />}
        {error && (
          <div class="answer-error">
            <p role="alert" data-code={error.code}>{error.message}</p>
            {idle && (
              <button
                type="button"
                class="btn btn-small"
                onClick={() => actions.onRetry(message)}
              >
                Retry
              </button>
            )}
          </div>
        )}
      </div>
      {(status === "stopped" || status === "length" || status === "interrupted" || statsText ||
        versions.count > 1 || canRegenerate) && (
        <footer class="meta">
          <VersionSwitch message={message} versions={versions} onVersion={actions.onVersion} />
          {status === "stopped" && <span class="badge" data-testid="stopped">stopped</span>}
          {status === "interrupted" && (
            <span class="badge badge-warn" data-testid="interrupted">interrupted</span>
          )}
          {status === "length" && <span class="badge">cut off at the model's length limit</span>}
          {statsText && <span class="stats" data-testid="stats">{statsText}</span>}
          {canContinue && (
            <button
              type="button"
              class="icon-button"
              onClick={() => actions.onContinue(message)}
            >
              Continue
            </button>
          )}
          {canRegenerate && status !== "error" && (
            <button
              type="button"
              class="icon-button"
              onClick={() => actions.onRegenerate(message)}
            >
              Regenerate
            </button>
          )}
        </footer>
      )}
    </article>
  );
}

export function MessageList(
  { state, actions, scrollerRef, logRef, onScroll }: {
    state: ChatState;
    actions: MessageActions;
    scrollerRef: Ref<HTMLElement>;
    logRef: Ref<HTMLDivElement>;
    onScroll: () => void;
  },
) {
  const messages = state.visible.value;
  const children = state.children.value;
  const busy = state.busy.value;
  const notice = state.notice.value;
  const load = state.load.value;
  const highlight = state.highlight.value;
  return (
    <main class="scroller" ref={scrollerRef} onScroll={onScroll}>
      <div
        class="log"
        role="log"
        aria-live="polite"
        aria-label="Messages"
        aria-busy={busy || load.state === "loading" ? "true" : "false"}
        ref={logRef}
      >
        {messages.length === 0 && load.state === "idle" && <EmptyState model={state.model.value} />}
        {load.state === "loading" && messages.length === 0 && (
          <p class="loading" data-testid="loading">Loading the conversation…</p>
        )}
        {messages.map((message) =>
          message.kind === "user"
            ? (
              <UserMessageView
                key={message.key}
                message={message}
                versions={versionsOf(children, message)}
                canEdit={!busy}
                highlighted={highlight === message.id}
                actions={actions}
              />
            )
            : (
              <AssistantMessageView
                key={message.key}
                message={message}
                versions={versionsOf(children, message)}
                idle={!busy}
                highlighted={highlight === message.id}
                actions={actions}
              />
            )
        )}
      </div>
      {(load.state === "missing" || load.state === "failed") && (
        <p class="notice" role="alert" data-testid="load-error">{load.message}</p>
      )}
      {notice && <p class="notice" data-testid="notice">{notice}</p>}
    </main>
  );
}

function EmptyState({ model }: { model: string }) {
  return (
    <div class="empty">
      <p class="empty-title">How can I help?</p>
      <p class="empty-hint">
        Answers come from <strong>{model}</strong>, running on this machine.
      </p>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Composer

export function Composer(
  { state, onSubmit, onStop, textareaRef }: {
    state: ChatState;
    onSubmit: () => void;
    onStop: () => void;
    textareaRef: Ref<HTMLTextAreaElement>;
  },
) {
  const id = useId();
  const busy = state.busy.value;
  return (
    <footer class="composer">
      <form
        class="composer-inner"
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit();
        }}
      >
        <label for={id} class="visually-hidden">Message</label>
        <textarea
          id={id}
          ref={textareaRef}
          class="composer-input"
          rows={1}
          placeholder="Send a message…"
          value={state.input.value}
          onInput={(event) => (state.input.value = event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
            event.preventDefault();
            onSubmit();
          }}
        />
        {busy
          ? (
            <button type="button" class="btn btn-stop" onClick={onStop}>
              <StopIcon />
              <span>Stop</span>
            </button>
          )
          : (
            <button type="submit" class="btn btn-send">
              <SendIcon />
              <span>Send</span>
            </button>
          )}
      </form>
      <p class="composer-hint">
        Enter to send · Shift+Enter for a new line{busy ? " · Esc to stop" : ""}
      </p>
    </footer>
  );
}

function Icon({ children }: { children: ComponentChildren }) {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
      {children}
    </svg>
  );
}

function SendIcon() {
  return (
    <Icon>
      <path d="M12 19V5M5 12l7-7 7 7" fill="none" stroke="currentColor" stroke-width="2.2" />
    </Icon>
  );
}

function StopIcon() {
  return (
    <Icon>
      <rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor" />
    </Icon>
  );
}
