/**
 * The chat island's pieces. Not islands themselves (islands/ holds only `Chat.tsx`); they read
 * the per-instance state from props, so they render the same on the server and in the browser.
 */
import type { ComponentChildren, Ref } from "preact";
import { useEffect, useId, useMemo, useState } from "preact/hooks";
import { ensureLanguages, renderMarkdown } from "./markdown.ts";
import {
  type AssistantMessage,
  type ChatState,
  formatBytes,
  formatStats,
  type Message,
  modelLabel,
  type ModelOption,
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

function UserMessageView({ content }: { content: string }) {
  return (
    <article class="msg msg-user" data-role="user">
      <div class="bubble">
        <p class="user-text">{content}</p>
      </div>
    </article>
  );
}

function Markdown({ source, class: cls }: { source: string; class: string }) {
  // Content signals change at most once per animation frame (see state.ts), so this parses
  // at most once per frame too. renderMarkdown returns DOMPurify's output only.
  // Grammars load on first use; `grammars` bumps when one arrives so the code gets colours.
  const [grammars, setGrammars] = useState(0);
  useEffect(() => {
    let live = true;
    ensureLanguages(source).then((loaded) => {
      if (live && loaded) setGrammars((n) => n + 1);
    });
    return () => {
      live = false;
    };
  }, [source]);
  const html = useMemo(() => renderMarkdown(source), [source, grammars]);
  // deno-lint-ignore react-no-danger
  return <div class={cls} dangerouslySetInnerHTML={{ __html: html }} />;
}

function Thinking({ message }: { message: AssistantMessage }) {
  const thinking = message.thinking.value;
  const ms = message.thinkingMs.value;
  if (!thinking) return null;
  const label = ms === undefined
    ? "Thinking"
    : `Thought for ${Math.max(1, Math.round(ms / 1000))} s`;
  return (
    <details class="thinking" data-testid="thinking">
      <summary>{label}</summary>
      <div class="thinking-text">{thinking}</div>
    </details>
  );
}

function AssistantMessageView(
  { message, canRetry, onRetry }: {
    message: AssistantMessage;
    canRetry: boolean;
    onRetry: (message: AssistantMessage) => void;
  },
) {
  const status = message.status.value;
  const content = message.content.value;
  const thinking = message.thinking.value;
  const error = message.error.value;
  const stats = message.stats.value;
  const live = status === "pending" || status === "streaming";
  // An answer that failed before its first word has no figures worth showing.
  const statsText = stats && !live && (content || status !== "error") ? formatStats(stats) : "";
  return (
    <article
      class="msg msg-assistant"
      data-role="assistant"
      data-status={status}
      aria-busy={live ? "true" : "false"}
    >
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
            {canRetry && (
              <button
                type="button"
                class="btn btn-small"
                onClick={() => onRetry(message)}
              >
                Retry
              </button>
            )}
          </div>
        )}
      </div>
      {(status === "stopped" || status === "length" || statsText) && (
        <footer class="meta">
          {status === "stopped" && <span class="badge" data-testid="stopped">stopped</span>}
          {status === "length" && <span class="badge">cut off at the model's length limit</span>}
          {statsText && <span class="stats" data-testid="stats">{statsText}</span>}
        </footer>
      )}
    </article>
  );
}

export function MessageView(
  { message, isLast, busy, onRetry }: {
    message: Message;
    isLast: boolean;
    busy: boolean;
    onRetry: (message: AssistantMessage) => void;
  },
) {
  if (message.kind === "user") return <UserMessageView content={message.content} />;
  return <AssistantMessageView message={message} canRetry={isLast && !busy} onRetry={onRetry} />;
}

export function MessageList(
  { state, onRetry, scrollerRef, logRef, onScroll }: {
    state: ChatState;
    onRetry: (message: AssistantMessage) => void;
    scrollerRef: Ref<HTMLElement>;
    logRef: Ref<HTMLDivElement>;
    onScroll: () => void;
  },
) {
  const messages = state.messages.value;
  const busy = state.busy.value;
  const notice = state.notice.value;
  return (
    <main class="scroller" ref={scrollerRef} onScroll={onScroll}>
      <div
        class="log"
        role="log"
        aria-live="polite"
        aria-label="Messages"
        aria-busy={busy ? "true" : "false"}
        ref={logRef}
      >
        {messages.length === 0 && <EmptyState model={state.model.value} />}
        {messages.map((message, index) => (
          <MessageView
            key={message.id}
            message={message}
            isLast={index === messages.length - 1}
            busy={busy}
            onRetry={onRetry}
          />
        ))}
      </div>
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
