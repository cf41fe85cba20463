/**
 * The chat island's pieces. Not islands themselves (islands/ holds only `Chat.tsx`); they read
 * the per-instance state from props, so they render the same on the server and in the browser.
 */
import type { ComponentChildren, Ref, RefObject } from "preact";
import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import { loadRenderer } from "./markdown.ts";
import { Markdown, Thinking } from "./markdown_view.tsx";
import { copyText } from "./clipboard.ts";
import { type Versions, versionsOf } from "./conversations.ts";
import { ModelManagerButton } from "./model_manager_button.tsx";
import {
  type AssistantMessage,
  type ChatState,
  formatBytes,
  formatStats,
  type Message,
  MESSAGE_WINDOW,
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
  /** Opens (a key) or closes (undefined) the in-place editor of a prompt. */
  readonly onEditing: (key: string | undefined) => void;
  readonly onVersion: (message: Message, step: number) => void;
  /** Deletes a message with what follows from it (Undo in a toast). */
  readonly onDelete: (message: Message) => void;
}

/** How long "Copied" shows before the button says "Copy" again. */
const COPIED_MS = 2000;

/** Copies a message's text; says "Copied" (or why not) for a moment. */
function CopyButton({ text }: { text: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <button
      type="button"
      class="icon-button"
      aria-label={state === "idle" ? "Copy message" : undefined}
      data-state={state}
      onClick={async () => {
        setState((await copyText(text)) ? "copied" : "failed");
        clearTimeout(timer.current);
        timer.current = setTimeout(() => setState("idle"), COPIED_MS);
      }}
    >
      <span aria-live="polite">
        {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy"}
      </span>
    </button>
  );
}

function DeleteButton({ message, onDelete, disabled }: {
  message: Message;
  onDelete: MessageActions["onDelete"];
  disabled: boolean;
}) {
  return (
    <button
      type="button"
      class="icon-button icon-button-danger"
      aria-label="Delete message"
      title="Delete this message and what follows it"
      disabled={disabled}
      onClick={() => onDelete(message)}
    >
      Delete
    </button>
  );
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
  { message, versions, canEdit, editing, highlighted, actions }: {
    message: UserMessage;
    versions: Versions;
    canEdit: boolean;
    /** Its in-place editor is open (state.editing). */
    editing: boolean;
    highlighted: boolean;
    actions: MessageActions;
  },
) {
  const [draft, setDraft] = useState(message.content);
  const id = useId();
  // Opened from anywhere (↑ in the empty message box too): start from the prompt's text.
  useEffect(() => {
    if (editing) setDraft(message.content);
  }, [editing]);
  const setEditing = (open: boolean) => actions.onEditing(open ? message.key : undefined);
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
      {!editing && (
        <footer class="msg-tools">
          <VersionSwitch message={message} versions={versions} onVersion={actions.onVersion} />
          <CopyButton text={message.content} />
          {message.saved && (
            <button
              type="button"
              class="icon-button"
              disabled={!canEdit}
              title="Edit (↑ in an empty message box edits the last one)"
              onClick={() => setEditing(true)}
            >
              Edit
            </button>
          )}
          {message.saved && (
            <DeleteButton message={message} onDelete={actions.onDelete} disabled={!canEdit} />
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
        versions.count > 1 || canRegenerate || (content && !live)) && (
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
          {content && !live && <CopyButton text={content} />}
          {canRegenerate && status !== "error" && (
            <button
              type="button"
              class="icon-button"
              onClick={() => actions.onRegenerate(message)}
            >
              Regenerate
            </button>
          )}
          {message.saved && !live && (
            <DeleteButton message={message} onDelete={actions.onDelete} disabled={!idle} />
          )}
        </footer>
      )}
    </article>
  );
}

export function MessageList(
  { state, actions, scrollerRef, logRef, onScroll, onExample }: {
    state: ChatState;
    actions: MessageActions;
    scrollerRef: Ref<HTMLElement>;
    logRef: Ref<HTMLDivElement>;
    onScroll: () => void;
    /** An example prompt of the empty state was chosen: send it. */
    onExample: (prompt: string) => void;
  },
) {
  const branch = state.visible.value;
  const hidden = Math.max(0, branch.length - state.shown.value);
  const messages = hidden > 0 ? branch.slice(hidden) : branch;
  const children = state.children.value;
  const busy = state.busy.value;
  const notice = state.notice.value;
  const load = state.load.value;
  const highlight = state.highlight.value;
  const editing = state.editing.value;
  return (
    <main class="scroller" ref={scrollerRef} onScroll={onScroll}>
      {/* Quiet on purpose: the Announcer reads each answer once it ends, not every token. */}
      <div
        class="log"
        role="log"
        aria-live="off"
        aria-label="Messages"
        aria-busy={busy || load.state === "loading" ? "true" : "false"}
        ref={logRef}
      >
        {messages.length === 0 && load.state === "idle" && (
          <EmptyState model={state.model.value} onExample={onExample} />
        )}
        {load.state === "loading" && messages.length === 0 && <Skeleton />}
        {hidden > 0 && (
          <EarlierMessages
            count={hidden}
            scroller={scrollerRef as RefObject<HTMLElement>}
            onShow={() => (state.shown.value += MESSAGE_WINDOW)}
          />
        )}
        {messages.map((message) =>
          message.kind === "user"
            ? (
              <UserMessageView
                key={message.key}
                message={message}
                versions={versionsOf(children, message)}
                canEdit={!busy}
                editing={editing === message.key}
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

/**
 * "Show earlier messages": renders the next older part of a long conversation, by button or
 * when it scrolls into view, keeping what the person was reading where it was.
 */
function EarlierMessages(
  { count, scroller, onShow }: {
    count: number;
    scroller: RefObject<HTMLElement>;
    onShow: () => void;
  },
) {
  const button = useRef<HTMLButtonElement>(null);
  const fromBottom = useRef<number | undefined>(undefined);
  const show = () => {
    const el = scroller.current;
    if (el) fromBottom.current = el.scrollHeight - el.scrollTop;
    onShow();
  };
  // After the older messages are in, the same text stays under the reader's eyes.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && fromBottom.current !== undefined) el.scrollTop = el.scrollHeight - fromBottom.current;
    fromBottom.current = undefined;
  }, [count]);
  useEffect(() => {
    const el = button.current;
    if (!el || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      // Only a person scrolling up brings it into view: the page opens at the bottom. The entry
      // may be older than a scroll to the bottom since, so the live geometry decides.
      const view = scroller.current;
      if (!entries.some((e) => e.isIntersecting) || !view || view.scrollTop <= 0) return;
      if (el.getBoundingClientRect().bottom >= view.getBoundingClientRect().top - 200) show();
    }, { root: scroller.current, rootMargin: "200px 0px 0px 0px" });
    observer.observe(el);
    return () => observer.disconnect();
  }, [count]);
  return (
    <div class="earlier">
      <button type="button" class="btn btn-ghost btn-small" ref={button} onClick={show}>
        Show earlier messages ({count})
      </button>
    </div>
  );
}

/** Prompts a new chat can start from; clicking one sends it. */
export const EXAMPLE_PROMPTS: readonly string[] = [
  "Explain how a hash map works, with a short code example",
  "Compare tea and coffee in a table",
  "Give me three tips for a focused workday",
  "Write a haiku about the sea",
];

function EmptyState({ model, onExample }: { model: string; onExample: (p: string) => void }) {
  return (
    <div class="empty">
      <p class="empty-title">How can I help?</p>
      <p class="empty-hint">
        Answers come from <strong>{model}</strong>, running on this machine.
      </p>
      <ul class="examples" aria-label="Example prompts">
        {EXAMPLE_PROMPTS.map((prompt) => (
          <li key={prompt}>
            <button type="button" class="example" onClick={() => onExample(prompt)}>
              {prompt}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Grey shapes where the conversation will be, while it loads. */
function Skeleton() {
  return (
    <div class="skeleton" role="status" data-testid="loading">
      <span class="visually-hidden">Loading the conversation…</span>
      {["user", "assistant", "user", "assistant"].map((role, i) => (
        <div key={i} class={`skeleton-msg skeleton-${role}`} aria-hidden="true">
          <span class="skeleton-line" />
          {role === "assistant" && <span class="skeleton-line skeleton-short" />}
        </div>
      ))}
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Composer

export function Composer(
  { state, onSubmit, onStop, onEditLast, textareaRef }: {
    state: ChatState;
    onSubmit: () => void;
    onStop: () => void;
    /** ↑ in the empty box: edit the last prompt; false when there is none to edit. */
    onEditLast: () => boolean;
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
          onInput={(event) => {
            state.input.value = event.currentTarget.value;
            // An answer will need the Markdown renderer: fetch it while the person types.
            loadRenderer();
          }}
          onKeyDown={(event) => {
            if (
              event.key === "ArrowUp" && !event.shiftKey && !event.ctrlKey && !event.altKey &&
              !event.metaKey && event.currentTarget.value === "" && onEditLast()
            ) {
              event.preventDefault();
              return;
            }
            if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
            event.preventDefault();
            onSubmit();
          }}
        />
        {busy
          ? (
            <button type="button" class="btn btn-stop" onClick={onStop} title="Stop (Esc)">
              <StopIcon />
              <span>Stop</span>
            </button>
          )
          : (
            <button type="submit" class="btn btn-send" title="Send (Enter)">
              <SendIcon />
              <span>Send</span>
            </button>
          )}
      </form>
      <p class="composer-hint">
        Enter to send · Shift+Enter for a new line ·{" "}
        {busy ? "Esc to stop" : "↑ edits your last message"}
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
