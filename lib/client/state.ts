/**
 * The chat island's state and the logic that drives it, free of the DOM: the island wires it to
 * a WebSocket, `fetch` and `requestAnimationFrame`, tests can drive it with plain functions.
 * Create one per component instance ({@link createChatState}); nothing here is module-level.
 */
import { batch, computed, type ReadonlySignal, type Signal, signal } from "@preact/signals";
import type {
  AnswerStats,
  ChatMessage,
  ClientMessage,
  EndReason,
  ErrorCode,
  ServerFrame,
  Turn,
} from "../protocol.ts";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting";

/** Errors the island raises itself, beside the protocol's. */
export type LocalErrorCode = "connection_lost" | "message_too_large" | "http_error";

export interface ShownError {
  readonly code: ErrorCode | LocalErrorCode;
  readonly message: string;
}

/** `pending`: sent (or queued), no text yet. `done`: the model finished on its own. */
export type AnswerStatus = "pending" | "streaming" | "done" | "length" | "stopped" | "error";

export interface UserMessage {
  readonly kind: "user";
  readonly id: string;
  readonly content: string;
}

export interface AssistantMessage {
  readonly kind: "assistant";
  readonly id: string;
  /** The turns this answer was asked with (resent as they are by Retry). */
  readonly turns: readonly Turn[];
  readonly prompt: string;
  model: string;
  requestId: string;
  answerId: string | undefined;
  /** Whether the chat frame went out on the current socket (false: queued). */
  sent: boolean;
  stopRequested: boolean;
  lastSeq: number;
  /** Text received but not yet shown; flushed at most once per animation frame. */
  pendingContent: string;
  pendingThinking: string;
  thinkingStartedAt: number | undefined;
  readonly content: Signal<string>;
  readonly thinking: Signal<string>;
  readonly status: Signal<AnswerStatus>;
  readonly error: Signal<ShownError | undefined>;
  readonly stats: Signal<AnswerStats | undefined>;
  /** How long the model thought, once it stopped thinking. */
  readonly thinkingMs: Signal<number | undefined>;
  /** Place in the model's queue while the answer waits (1 = next); undefined otherwise. */
  readonly queuePosition: Signal<number | undefined>;
}

export type Message = UserMessage | AssistantMessage;

/** Model details as `GET /api/models` returns them. */
export interface ModelOption {
  readonly name: string;
  readonly size?: number;
  readonly parameterSize?: string;
  readonly quantization?: string;
  readonly family?: string;
  readonly capabilities?: readonly string[];
  readonly loaded?: boolean;
  /** `builtin`: served by the app's own engine, no Ollama needed. */
  readonly source?: "ollama" | "builtin";
  /** False for a built-in model not downloaded yet (choosing it downloads it). */
  readonly available?: boolean;
  /** The selected model, listed by the island although the server does not have it. */
  readonly missing?: boolean;
}

/** Bytes for a person: `93 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

export type ModelLoadState =
  | { readonly state: "idle" }
  | {
    readonly state: "loading";
    readonly model: string;
    /** What the server reports while it downloads or reads the model, when it does. */
    readonly progress?: {
      readonly status: string;
      readonly completed?: number;
      readonly total?: number;
    };
  }
  | { readonly state: "loaded"; readonly model: string }
  | { readonly state: "error"; readonly model: string; readonly message: string };

export interface ChatState {
  readonly defaultModel: string;
  readonly connection: Signal<ConnectionStatus>;
  /** Milliseconds until the next connection attempt while reconnecting. */
  readonly retryInMs: Signal<number | undefined>;
  /** A page-level notice (frame errors that belong to no answer, oversized frames). */
  readonly notice: Signal<string | undefined>;
  readonly models: Signal<readonly ModelOption[]>;
  /** Why the model list could not be loaded, for a person. */
  readonly modelsError: Signal<string | undefined>;
  readonly modelsLoaded: Signal<boolean>;
  readonly model: Signal<string>;
  readonly modelLoad: Signal<ModelLoadState>;
  readonly messages: Signal<readonly Message[]>;
  readonly input: Signal<string>;
  /** Largest frame the server accepts, from `hello`. */
  readonly maxMessageBytes: Signal<number | undefined>;
  /** The answer being asked for or streamed, if any. */
  readonly active: ReadonlySignal<AssistantMessage | undefined>;
  readonly busy: ReadonlySignal<boolean>;
}

export function createChatState(defaultModel: string): ChatState {
  const messages = signal<readonly Message[]>([]);
  const active = computed(() => {
    const last = messages.value.at(-1);
    return last?.kind === "assistant" &&
        (last.status.value === "pending" || last.status.value === "streaming")
      ? last
      : undefined;
  });
  return {
    defaultModel,
    connection: signal<ConnectionStatus>("connecting"),
    retryInMs: signal<number | undefined>(undefined),
    notice: signal<string | undefined>(undefined),
    models: signal<readonly ModelOption[]>([]),
    modelsError: signal<string | undefined>(undefined),
    modelsLoaded: signal(false),
    model: signal(defaultModel),
    modelLoad: signal<ModelLoadState>({ state: "idle" }),
    messages,
    input: signal(""),
    maxMessageBytes: signal<number | undefined>(undefined),
    active,
    busy: computed(() => active.value !== undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// Model list helpers

/** `llama3.2` and `llama3.2:latest` name the same model. */
export function sameModel(a: string, b: string): boolean {
  const norm = (s: string) => (s.includes(":") ? s : `${s}:latest`);
  return norm(a) === norm(b);
}

/**
 * e.g. `llama3.2:latest — 3.2B Q4_K_M ● loaded`, or for a built-in model
 * `builtin/smollm2-135m — built in · 98 MB · 135M Q4_1 · downloads when chosen`.
 */
export function modelLabel(model: ModelOption): string {
  const details = [model.parameterSize, model.quantization].filter((s) => s).join(" ");
  const parts = model.source === "builtin"
    ? [
      "built in",
      model.size ? formatBytes(model.size) : "",
      details,
      model.available === false ? "downloads when chosen" : "",
    ].filter((s) => s).join(" · ")
    : details;
  return model.name + (parts ? ` — ${parts}` : "") + (model.loaded ? " ● loaded" : "");
}

/**
 * The model to select: the saved one when the server has it, else the default, even when the
 * default is not installed: the person then sees why, instead of silently talking to another.
 */
export function pickModel(
  models: readonly ModelOption[],
  defaultModel: string,
  saved: string | undefined,
): string {
  if (saved && models.some((m) => m.name === saved)) return saved;
  return models.find((m) => sameModel(m.name, defaultModel))?.name ?? defaultModel;
}

/** e.g. `TTFT 120 ms · 42.1 tok/s · 128 tokens`; parts the server did not send are left out. */
export function formatStats(stats: AnswerStats): string {
  const parts: string[] = [];
  if (typeof stats.ttftMs === "number") parts.push(`TTFT ${Math.round(stats.ttftMs)} ms`);
  if (typeof stats.tokensPerSecond === "number") {
    parts.push(`${stats.tokensPerSecond.toFixed(1)} tok/s`);
  }
  if (typeof stats.tokens === "number") parts.push(`${stats.tokens} tokens`);
  return parts.join(" · ");
}

// ---------------------------------------------------------------------------------------------
// The controller

export const CONNECTION_LOST =
  "Connection lost while the answer was streaming. The partial answer is kept; press Retry to ask again.";
export const MESSAGE_TOO_LARGE =
  "Message too large: the conversation is bigger than the server accepts. Shorten the message or start a new chat.";

export interface ControllerDeps {
  /** Sends a frame; false when the socket is not open (the frame is then queued). */
  send(message: ClientMessage): boolean;
  isOpen(): boolean;
  /** Runs `fn` soon, at most once per frame (requestAnimationFrame in the browser). */
  schedule(fn: () => void): void;
  newId(): string;
  now(): number;
}

export interface ChatController {
  /** Sends the input as a new prompt; false when there is nothing to send or an answer runs. */
  submit(text?: string): boolean;
  stop(): void;
  retry(message: AssistantMessage): void;
  clear(): void;
  handleFrame(frame: ServerFrame): void;
  handleOpen(): void;
  handleClose(code: number): void;
}

/** The turns of the conversation so far; exchanges that produced no text at all are left out. */
export function historyOf(messages: readonly Message[]): Turn[] {
  const turns: Turn[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.kind !== "user") continue;
    const answer = messages[i + 1];
    if (answer?.kind !== "assistant") continue;
    const content = answer.content.value + answer.pendingContent;
    if (!content) continue;
    turns.push({ role: "user", content: message.content }, { role: "assistant", content });
  }
  return turns;
}

const encoder = new TextEncoder();

export function createChatController(state: ChatState, deps: ControllerDeps): ChatController {
  let flushScheduled = false;

  const assistants = (): AssistantMessage[] =>
    state.messages.value.filter((m): m is AssistantMessage => m.kind === "assistant");
  const byAnswerId = (id: string) => assistants().find((m) => m.answerId === id);
  const byRequestId = (id: string) => assistants().find((m) => m.requestId === id);
  const isLive = (m: AssistantMessage) =>
    m.status.value === "pending" || m.status.value === "streaming";

  function flush(message: AssistantMessage): void {
    if (!message.pendingContent && !message.pendingThinking) return;
    batch(() => {
      if (message.pendingThinking) {
        message.thinking.value += message.pendingThinking;
        message.pendingThinking = "";
      }
      if (message.pendingContent) {
        message.content.value += message.pendingContent;
        message.pendingContent = "";
      }
    });
  }

  function flushAll(): void {
    flushScheduled = false;
    batch(() => assistants().forEach(flush));
  }

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    deps.schedule(flushAll);
  }

  function endThinking(message: AssistantMessage): void {
    if (message.thinkingStartedAt !== undefined && message.thinkingMs.value === undefined) {
      message.thinkingMs.value = Math.max(0, deps.now() - message.thinkingStartedAt);
    }
  }

  function finish(message: AssistantMessage, status: AnswerStatus, error?: ShownError): void {
    flush(message);
    batch(() => {
      endThinking(message);
      message.queuePosition.value = undefined;
      if (error) message.error.value = error;
      message.status.value = status;
    });
  }

  /** Puts a refused prompt back in the input so the person can edit and resend it. */
  function restorePrompt(message: AssistantMessage): void {
    const current = state.input.value;
    if (!current.trim()) state.input.value = message.prompt;
  }

  function transmit(message: AssistantMessage): void {
    const frame: ChatMessage = {
      type: "chat",
      requestId: message.requestId,
      model: message.model,
      messages: message.turns,
    };
    const limit = state.maxMessageBytes.value;
    if (limit !== undefined && encoder.encode(JSON.stringify(frame)).length > limit) {
      finish(message, "error", { code: "message_too_large", message: MESSAGE_TOO_LARGE });
      restorePrompt(message);
      return;
    }
    message.sent = deps.isOpen() && deps.send(frame);
  }

  function newAnswer(prompt: string, turns: Turn[]): AssistantMessage {
    return {
      kind: "assistant",
      id: deps.newId(),
      turns,
      prompt,
      model: state.model.value,
      requestId: deps.newId(),
      answerId: undefined,
      sent: false,
      stopRequested: false,
      lastSeq: 0,
      pendingContent: "",
      pendingThinking: "",
      thinkingStartedAt: undefined,
      content: signal(""),
      thinking: signal(""),
      status: signal<AnswerStatus>("pending"),
      error: signal<ShownError | undefined>(undefined),
      stats: signal<AnswerStats | undefined>(undefined),
      thinkingMs: signal<number | undefined>(undefined),
      queuePosition: signal<number | undefined>(undefined),
    };
  }

  function onDelta(frame: Extract<ServerFrame, { type: "answer.delta" }>): void {
    const message = byAnswerId(frame.answerId);
    if (!message || !isLive(message) || frame.seq <= message.lastSeq) return;
    message.lastSeq = frame.seq;
    // Text means the answer no longer waits in the model's queue.
    if (message.queuePosition.value !== undefined) message.queuePosition.value = undefined;
    const thinking = typeof frame.thinking === "string" ? frame.thinking : "";
    const content = typeof frame.content === "string" ? frame.content : "";
    if (thinking) {
      message.thinkingStartedAt ??= deps.now();
      message.pendingThinking += thinking;
    }
    if (content) {
      endThinking(message);
      message.pendingContent += content;
    }
    if (message.status.value === "pending") message.status.value = "streaming";
    scheduleFlush();
  }

  function onEnd(frame: Extract<ServerFrame, { type: "answer.end" }>): void {
    const message = byAnswerId(frame.answerId);
    if (!message) return;
    if (frame.stats) message.stats.value = frame.stats;
    if (!isLive(message)) {
      // Stopped locally already: only the figures are new.
      flush(message);
      return;
    }
    const reason: EndReason = frame.reason;
    switch (reason) {
      case "stop":
        return finish(message, "done");
      case "length":
        return finish(message, "length");
      case "stopped":
        return finish(message, "stopped");
      case "error":
        return finish(message, "error", {
          code: frame.error?.code ?? "backend_error",
          message: frame.error?.message ?? "The answer failed. Press Retry to ask again.",
        });
      default:
        return finish(message, "done");
    }
  }

  const controller: ChatController = {
    submit(text = state.input.value) {
      const prompt = text.trim();
      if (!prompt || state.busy.value) return false;
      const turns = [...historyOf(state.messages.value), { role: "user" as const, content: text }];
      const user: UserMessage = { kind: "user", id: deps.newId(), content: text };
      const answer = newAnswer(text, turns);
      batch(() => {
        state.messages.value = [...state.messages.value, user, answer];
        state.input.value = "";
        state.notice.value = undefined;
      });
      transmit(answer);
      return true;
    },

    stop() {
      const message = state.active.value;
      if (!message) return;
      if (message.answerId) deps.send({ type: "stop", answerId: message.answerId });
      else message.stopRequested = true; // sent as soon as `answer.start` names the answer
      finish(message, "stopped");
    },

    retry(message) {
      if (state.busy.value || state.messages.value.at(-1) !== message) return;
      if (state.input.value === message.prompt) state.input.value = "";
      batch(() => {
        message.requestId = deps.newId();
        message.answerId = undefined;
        message.sent = false;
        message.stopRequested = false;
        message.lastSeq = 0;
        message.pendingContent = "";
        message.pendingThinking = "";
        message.thinkingStartedAt = undefined;
        message.model = state.model.value;
        message.content.value = "";
        message.thinking.value = "";
        message.error.value = undefined;
        message.stats.value = undefined;
        message.thinkingMs.value = undefined;
        message.status.value = "pending";
        state.notice.value = undefined;
      });
      transmit(message);
    },

    clear() {
      controller.stop();
      batch(() => {
        state.messages.value = [];
        state.notice.value = undefined;
      });
    },

    handleFrame(frame) {
      switch (frame.type) {
        case "hello":
          state.maxMessageBytes.value = typeof frame.maxMessageBytes === "number"
            ? frame.maxMessageBytes
            : undefined;
          return;
        case "answer.start": {
          const message = byRequestId(frame.requestId);
          if (!message) return;
          message.answerId = frame.answerId;
          if (message.stopRequested || !isLive(message)) {
            message.stopRequested = false;
            deps.send({ type: "stop", answerId: frame.answerId });
          }
          return;
        }
        case "answer.queued": {
          const message = byAnswerId(frame.answerId);
          if (message && isLive(message)) message.queuePosition.value = frame.position;
          return;
        }
        case "answer.delta":
          return onDelta(frame);
        case "answer.end":
          return onEnd(frame);
        case "error": {
          const error: ShownError = {
            code: frame.error.code,
            message: typeof frame.error.message === "string"
              ? frame.error.message
              : "The server refused the request.",
          };
          const message = frame.requestId === undefined ? undefined : byRequestId(frame.requestId);
          if (message && isLive(message)) {
            finish(message, "error", error);
            restorePrompt(message);
          } else if (!message) {
            state.notice.value = error.message;
          }
          return;
        }
        case "pong":
          return;
        default:
          return;
      }
    },

    handleOpen() {
      // Frames queued while the socket was down go out now.
      for (const message of assistants()) {
        if (isLive(message) && !message.sent) transmit(message);
      }
    },

    handleClose(code) {
      const tooLarge = code === 1009;
      let shown = false;
      for (const message of assistants()) {
        if (!isLive(message) || !message.sent) continue;
        shown = true;
        if (tooLarge) {
          finish(message, "error", { code: "message_too_large", message: MESSAGE_TOO_LARGE });
          restorePrompt(message);
        } else {
          finish(message, "error", { code: "connection_lost", message: CONNECTION_LOST });
        }
      }
      if (tooLarge && !shown) state.notice.value = MESSAGE_TOO_LARGE;
    },
  };
  return controller;
}
