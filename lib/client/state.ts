/**
 * The chat island's state and the logic that drives it, free of the DOM: the island wires it to
 * a WebSocket, `fetch` and `requestAnimationFrame`, tests can drive it with plain functions.
 * Create one per component instance ({@link createChatState}); nothing here is module-level.
 */
import { batch, computed, type ReadonlySignal, type Signal, signal } from "@preact/signals";
import type { AnswerStats, ClientMessage, EndReason, ErrorCode, ServerFrame } from "../protocol.ts";
import {
  childrenOf,
  type Choices,
  choicesThrough,
  choose,
  type ConversationSummary,
  ROOT,
  siblingAt,
  visibleBranch,
} from "./conversations.ts";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting";

/** Errors the island raises itself, beside the protocol's. */
export type LocalErrorCode = "connection_lost" | "message_too_large" | "http_error";

export interface ShownError {
  readonly code: ErrorCode | LocalErrorCode;
  readonly message: string;
}

/**
 * `pending`: sent (or queued), no text yet. `done`: the model finished on its own.
 * `interrupted`: the server stopped under it (a restart); it can be continued.
 */
export type AnswerStatus =
  | "pending"
  | "streaming"
  | "done"
  | "length"
  | "stopped"
  | "interrupted"
  | "error";

/** What a message's place in the tree needs; see conversations.ts. */
interface Node {
  /** Stable in this page: the server id, or a local id until the server names the message. */
  readonly key: string;
  /** The server id once known (`saved`), else the same as `key`. */
  id: string;
  /** The parent's key; null for a first message. */
  readonly parentKey: string | null;
  /** Whether the server stores the message under `id`. */
  saved: boolean;
}

export interface UserMessage extends Node {
  readonly kind: "user";
  readonly content: string;
}

/** What asks the server for an answer (sent again by Retry when it was refused). */
export type AnswerRequest =
  | {
    readonly type: "send";
    readonly content: string;
    readonly conversationId?: string;
    readonly parentId: string | null;
  }
  | { readonly type: "regenerate"; readonly userMessageId: string }
  | { readonly type: "continue"; readonly answerId: string };

export interface AssistantMessage extends Node {
  readonly kind: "assistant";
  /** The prompt this answers (put back in the input when the request is refused). */
  readonly prompt: string;
  model: string;
  requestId: string;
  /** What was last asked for this message; undefined for one loaded from the server. */
  request: AnswerRequest | undefined;
  answerId: string | undefined;
  /** Whether the request went out on the current socket (false: queued). */
  sent: boolean;
  /** Whether this socket gets the answer's frames (false after a reconnect, until `resume`). */
  watching: boolean;
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
  /** Earlier turns the server left out of the model's input (context window). */
  readonly omittedTurns: Signal<number | undefined>;
}

export type Message = UserMessage | AssistantMessage;

/** A stored message as `GET /api/conversations/:id` returns it. */
export interface StoredMessage {
  readonly id: string;
  readonly parentId: string | null;
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
  readonly thinking?: string;
  readonly model?: string | null;
  readonly state: "streaming" | "complete" | "stopped" | "interrupted" | "error";
  readonly error?: { readonly code: string; readonly message: string } | null;
  readonly stats?: Record<string, unknown> | null;
  readonly lastSeq?: number;
  readonly createdAt?: number;
}

export interface StoredConversation {
  readonly conversation: ConversationSummary;
  readonly messages: readonly StoredMessage[];
}

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

export type LoadState = "idle" | "loading" | "missing" | "failed";

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
  /** The stored conversation shown; undefined for a new chat (until its first answer starts). */
  readonly conversationId: Signal<string | undefined>;
  readonly title: Signal<string | undefined>;
  /** Loading the conversation over HTTP, or why it could not be shown. */
  readonly load: Signal<{ readonly state: LoadState; readonly message?: string }>;
  /** Every message of every branch, oldest first. */
  readonly messages: Signal<readonly Message[]>;
  /** The chosen version at each step (see conversations.ts). */
  readonly choices: Signal<Choices>;
  readonly children: ReadonlySignal<ReadonlyMap<string, readonly Message[]>>;
  /** The branch the page shows, root first. */
  readonly visible: ReadonlySignal<readonly Message[]>;
  /** A message to bring into view and mark briefly (a search hit), by server id. */
  readonly highlight: Signal<string | undefined>;
  readonly input: Signal<string>;
  /**
   * How many of the newest messages of the branch are rendered; earlier ones come in steps of
   * {@link MESSAGE_WINDOW} as the person scrolls up, so a long conversation opens fast.
   */
  readonly shown: Signal<number>;
  /** The prompt being edited in place (its key), if any: one at a time. */
  readonly editing: Signal<string | undefined>;
  /** Largest frame the server accepts, from `hello`. */
  readonly maxMessageBytes: Signal<number | undefined>;
  /** The answer being asked for or streamed at the end of the visible branch, if any. */
  readonly active: ReadonlySignal<AssistantMessage | undefined>;
  readonly busy: ReadonlySignal<boolean>;
}

/** Messages rendered at first, and added each time earlier ones are asked for. */
export const MESSAGE_WINDOW = 20;

export function isLive(message: AssistantMessage): boolean {
  return message.status.value === "pending" || message.status.value === "streaming";
}

export function createChatState(defaultModel: string): ChatState {
  const messages = signal<readonly Message[]>([]);
  const choices = signal<Choices>(new Map());
  const children = computed(() => childrenOf(messages.value));
  const visible = computed(() => visibleBranch(children.value, choices.value));
  const active = computed(() => {
    const last = visible.value.at(-1);
    return last?.kind === "assistant" && isLive(last) ? last : undefined;
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
    conversationId: signal<string | undefined>(undefined),
    title: signal<string | undefined>(undefined),
    load: signal<{ readonly state: LoadState; readonly message?: string }>({ state: "idle" }),
    messages,
    choices,
    children,
    visible,
    highlight: signal<string | undefined>(undefined),
    input: signal(""),
    shown: signal(MESSAGE_WINDOW),
    editing: signal<string | undefined>(undefined),
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
  "Connection lost before the server took the message. Press Retry to send it again.";
export const MESSAGE_TOO_LARGE =
  "Message too large: the conversation is bigger than the server accepts. Shorten the message or start a new chat.";
export const RESUME_FAILED =
  "This answer is no longer streaming and its end was not stored. Regenerate it to ask again.";

export interface ControllerDeps {
  /** Sends a frame; false when the socket is not open (the frame is then queued). */
  send(message: ClientMessage): boolean;
  isOpen(): boolean;
  /** Runs `fn` soon, at most once per frame (requestAnimationFrame in the browser). */
  schedule(fn: () => void): void;
  newId(): string;
  now(): number;
  /**
   * An answer started in a stored conversation: `current` when it is the one shown (a new
   * chat just got its id and title), for the URL and the list.
   */
  onConversation?(info: { id: string; title?: string; current: boolean }): void;
  /** The page's copy of the conversation is stale (a missed answer): load it again. */
  reload?(conversationId: string): void;
}

export interface ChatController {
  /** Sends the input as a new prompt; false when there is nothing to send or an answer runs. */
  submit(text?: string): boolean;
  stop(): void;
  /** Asks again for a failed answer (a new version when its prompt is stored). */
  retry(message: AssistantMessage): void;
  /** A new answer to the prompt above `message`, shown as its newest version. */
  regenerate(message: AssistantMessage): boolean;
  /** A new version of a prompt, answered. */
  edit(message: UserMessage, text: string): boolean;
  /** Carries on an interrupted or stopped answer. */
  continueAnswer(message: AssistantMessage): boolean;
  /** Shows the sibling `step` places away (−1: previous version). */
  showVersion(message: Message, step: number): void;
  /** Shows a conversation loaded over HTTP; `focus` (a message id) is made visible. */
  load(data: StoredConversation, focus?: string): void;
  /** A new, empty chat. */
  clear(): void;
  handleFrame(frame: ServerFrame): void;
  handleOpen(): void;
  handleClose(code: number): void;
}

const encoder = new TextEncoder();

function statusOf(message: StoredMessage): AnswerStatus {
  switch (message.state) {
    case "streaming":
      return "streaming";
    case "stopped":
      return "stopped";
    case "interrupted":
      return "interrupted";
    case "error":
      return "error";
    default:
      return message.stats?.reason === "length" ? "length" : "done";
  }
}

function statsOf(stats: StoredMessage["stats"]): AnswerStats | undefined {
  return stats && typeof stats.ttftMs === "number" ? stats as unknown as AnswerStats : undefined;
}

export function createChatController(state: ChatState, deps: ControllerDeps): ChatController {
  let flushScheduled = false;
  /** Answers asked to `resume`, in order: the server answers them in order, or says unknown. */
  let resumes: string[] = [];
  /** Answers whose resume the server refused; a reload that still says streaming is wrong. */
  const resumeFailed = new Set<string>();

  const assistants = (): AssistantMessage[] =>
    state.messages.value.filter((m): m is AssistantMessage => m.kind === "assistant");
  const byAnswerId = (id: string) => assistants().find((m) => m.answerId === id);
  const byRequestId = (id: string) =>
    id === "" ? undefined : assistants().find((m) => m.requestId === id);
  const byKey = (key: string | null) =>
    key === null ? undefined : state.messages.value.find((m) => m.key === key);

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
    if (message.request?.type !== "send") return;
    if (!state.input.value.trim()) state.input.value = message.prompt;
  }

  /** The server id of the nearest stored message at or above `key`. */
  function savedIdAt(key: string | null): string | null {
    let node = byKey(key);
    while (node && !node.saved) node = byKey(node.parentKey);
    return node ? node.id : null;
  }

  function transmit(message: AssistantMessage): void {
    const request = message.request;
    if (!request) return;
    const frame: ClientMessage = request.type === "send"
      ? {
        type: "send",
        requestId: message.requestId,
        model: message.model,
        content: request.content,
        parentId: request.parentId,
        ...(request.conversationId !== undefined ? { conversationId: request.conversationId } : {}),
      }
      : request.type === "regenerate"
      ? {
        type: "regenerate",
        requestId: message.requestId,
        model: message.model,
        userMessageId: request.userMessageId,
      }
      : { type: "continue", requestId: message.requestId, answerId: request.answerId };
    const limit = state.maxMessageBytes.value;
    if (limit !== undefined && encoder.encode(JSON.stringify(frame)).length > limit) {
      finish(message, "error", { code: "message_too_large", message: MESSAGE_TOO_LARGE });
      restorePrompt(message);
      return;
    }
    message.sent = deps.isOpen() && deps.send(frame);
  }

  function resume(message: AssistantMessage): void {
    if (!message.answerId || message.watching || !deps.isOpen()) return;
    if (deps.send({ type: "resume", answerId: message.answerId, seq: message.lastSeq })) {
      message.watching = true;
      resumes.push(message.answerId);
    }
  }

  function newAnswer(
    parentKey: string | null,
    prompt: string,
    request: AnswerRequest,
  ): AssistantMessage {
    const key = `local-${deps.newId()}`;
    return {
      kind: "assistant",
      key,
      id: key,
      parentKey,
      saved: false,
      prompt,
      model: state.model.value,
      requestId: deps.newId(),
      request,
      answerId: undefined,
      sent: false,
      watching: false,
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
      omittedTurns: signal<number | undefined>(undefined),
    };
  }

  function fromStored(m: StoredMessage): Message | undefined {
    if (m.role === "user") {
      return {
        kind: "user",
        key: m.id,
        id: m.id,
        parentKey: m.parentId,
        saved: true,
        content: m.content,
      };
    }
    if (m.role !== "assistant") return undefined;
    const stats = statsOf(m.stats);
    let status = statusOf(m);
    let error: ShownError | undefined = m.error
      ? { code: m.error.code as ErrorCode, message: m.error.message }
      : undefined;
    if (status === "streaming" && resumeFailed.has(m.id)) {
      status = "error";
      error = { code: "unknown_answer", message: RESUME_FAILED };
    }
    if (status === "error" && !error) {
      error = { code: "backend_error", message: "The answer failed. Press Retry to ask again." };
    }
    return {
      kind: "assistant",
      key: m.id,
      id: m.id,
      parentKey: m.parentId,
      saved: true,
      prompt: "",
      model: m.model ?? state.model.value,
      requestId: "",
      request: undefined,
      answerId: m.id,
      sent: true,
      watching: false,
      stopRequested: false,
      lastSeq: m.lastSeq ?? 0,
      pendingContent: "",
      pendingThinking: "",
      thinkingStartedAt: undefined,
      content: signal(m.content),
      thinking: signal(m.thinking ?? ""),
      status: signal(status),
      error: signal(error),
      stats: signal(stats),
      thinkingMs: signal<number | undefined>(undefined),
      queuePosition: signal<number | undefined>(undefined),
      omittedTurns: signal<number | undefined>(undefined),
    };
  }

  /** Adds messages at the end of the tree and shows them (each the chosen version). */
  function add(...added: Message[]): void {
    let choices: Choices = state.choices.value;
    for (const m of added) choices = choose(choices, m);
    batch(() => {
      state.messages.value = [...state.messages.value, ...added];
      state.choices.value = choices;
      state.notice.value = undefined;
    });
  }

  function onStart(frame: Extract<ServerFrame, { type: "answer.start" }>): void {
    if (frame.conversationId !== undefined) {
      const current = state.conversationId.value === undefined
        ? frame.requestId !== "" && byRequestId(frame.requestId) !== undefined
        : state.conversationId.value === frame.conversationId;
      if (current && state.conversationId.value === undefined) {
        batch(() => {
          state.conversationId.value = frame.conversationId;
          if (frame.title !== undefined) state.title.value = frame.title;
        });
      } else if (current && frame.title !== undefined) {
        // A chat created before its first prompt (by saving its settings) is named now.
        state.title.value = frame.title;
      }
      if (frame.requestId !== "") {
        deps.onConversation?.({
          id: frame.conversationId,
          ...(frame.title !== undefined ? { title: frame.title } : {}),
          current,
        });
      }
    }
    const message = frame.requestId === ""
      ? byAnswerId(frame.answerId)
      : byRequestId(frame.requestId);
    if (frame.requestId === "") resumes = resumes.filter((id) => id !== frame.answerId);
    if (!message) return;
    message.watching = true;
    if (frame.requestId !== "") {
      message.answerId = frame.answerId;
      message.id = frame.answerId;
      message.saved ||= frame.conversationId !== undefined;
      if (typeof frame.seq === "number") message.lastSeq = frame.seq;
      if (typeof frame.omittedTurns === "number" && frame.omittedTurns > 0) {
        message.omittedTurns.value = frame.omittedTurns;
      }
      const prompt = byKey(message.parentKey);
      if (prompt?.kind === "user" && frame.userMessageId !== undefined && !prompt.saved) {
        prompt.id = frame.userMessageId;
        prompt.saved = true;
      }
      // New ids: recompute what depends on them.
      state.messages.value = [...state.messages.value];
    }
    if (message.stopRequested || !isLive(message)) {
      message.stopRequested = false;
      if (isLive(message) || frame.requestId !== "") {
        deps.send({ type: "stop", answerId: frame.answerId });
      }
    }
  }

  function stale(): void {
    const id = state.conversationId.value;
    if (id !== undefined) deps.reload?.(id);
  }

  function onDelta(frame: Extract<ServerFrame, { type: "answer.delta" }>): void {
    const message = byAnswerId(frame.answerId);
    if (!message || !isLive(message) || frame.seq <= message.lastSeq) return;
    if (frame.from !== undefined && frame.from > message.lastSeq + 1) {
      // Text between what is shown and this frame never came: the store has it.
      return stale();
    }
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
    const missed = frame.seq > message.lastSeq;
    const reason: EndReason = frame.reason;
    switch (reason) {
      case "length":
        finish(message, "length");
        break;
      case "stopped":
        finish(message, "stopped");
        break;
      case "error":
        if (frame.error?.code === "shutting_down" && message.saved) {
          finish(message, "interrupted");
        } else {
          finish(message, "error", {
            code: frame.error?.code ?? "backend_error",
            message: frame.error?.message ?? "The answer failed. Press Retry to ask again.",
          });
          // Nothing came back: the prompt goes back in the input, to edit or send again.
          if (!message.content.value) restorePrompt(message);
        }
        break;
      default:
        finish(message, "done");
    }
    if (missed && message.saved) stale();
  }

  function onError(frame: Extract<ServerFrame, { type: "error" }>): void {
    const error: ShownError = {
      code: frame.error.code,
      message: typeof frame.error.message === "string"
        ? frame.error.message
        : "The server refused the request.",
    };
    if (frame.requestId === undefined && frame.error.code === "unknown_answer" && resumes.length) {
      // The oldest resume was refused: the answer ended and left the server's memory.
      const answerId = resumes.shift()!;
      resumeFailed.add(answerId);
      const message = byAnswerId(answerId);
      if (message && isLive(message)) stale();
      return;
    }
    const message = frame.requestId === undefined ? undefined : byRequestId(frame.requestId);
    if (message && isLive(message)) {
      finish(message, "error", error);
      restorePrompt(message);
    } else if (!message && frame.error.code !== "unknown_answer") {
      state.notice.value = error.message;
    }
  }

  /** The prompt above an answer, when the server stores it. */
  function storedPrompt(message: AssistantMessage): UserMessage | undefined {
    const prompt = byKey(message.parentKey);
    return prompt?.kind === "user" && prompt.saved ? prompt : undefined;
  }

  const controller: ChatController = {
    submit(text = state.input.value) {
      const prompt = text.trim();
      if (!prompt || state.busy.value) return false;
      const parent = state.visible.value.at(-1);
      const conversationId = state.conversationId.value;
      const parentId = conversationId === undefined ? null : savedIdAt(parent?.key ?? null);
      const key = `local-${deps.newId()}`;
      const user: UserMessage = {
        kind: "user",
        key,
        id: key,
        parentKey: parent?.key ?? null,
        saved: false,
        content: text,
      };
      const answer = newAnswer(key, text, {
        type: "send",
        content: text,
        parentId,
        ...(conversationId !== undefined ? { conversationId } : {}),
      });
      batch(() => {
        add(user, answer);
        state.input.value = "";
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
      if (isLive(message)) return;
      const prompt = message.prompt || storedPrompt(message)?.content;
      if (prompt && state.input.value === prompt && !state.busy.value) state.input.value = "";
      if (storedPrompt(message)) {
        controller.regenerate(message);
        return;
      }
      // Refused before the server stored anything: ask the same again.
      if (state.busy.value || !message.request) return;
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

    regenerate(message) {
      const prompt = storedPrompt(message);
      if (!prompt || state.busy.value) return false;
      const answer = newAnswer(prompt.key, prompt.content, {
        type: "regenerate",
        userMessageId: prompt.id,
      });
      add(answer);
      transmit(answer);
      return true;
    },

    edit(message, text) {
      const content = text.trim();
      const conversationId = state.conversationId.value;
      if (!content || state.busy.value || conversationId === undefined) return false;
      const parentId = savedIdAt(message.parentKey);
      const key = `local-${deps.newId()}`;
      const user: UserMessage = {
        kind: "user",
        key,
        id: key,
        parentKey: message.parentKey,
        saved: false,
        content: text,
      };
      const answer = newAnswer(key, text, {
        type: "send",
        content: text,
        parentId,
        conversationId,
      });
      add(user, answer);
      transmit(answer);
      return true;
    },

    continueAnswer(message) {
      if (!message.saved || !message.answerId || isLive(message) || state.busy.value) {
        return false;
      }
      batch(() => {
        message.requestId = deps.newId();
        message.request = { type: "continue", answerId: message.answerId! };
        message.sent = false;
        message.stopRequested = false;
        message.error.value = undefined;
        message.stats.value = undefined;
        message.status.value = "pending";
        state.choices.value = choose(state.choices.value, message);
        state.notice.value = undefined;
      });
      transmit(message);
      return true;
    },

    showVersion(message, step) {
      const sibling = siblingAt(state.children.value, message, step);
      if (sibling) state.choices.value = choose(state.choices.value, sibling);
    },

    load(data, focus) {
      const sameConversation = state.conversationId.value === data.conversation.id;
      // The versions the person picked survive a reload of the same conversation.
      const previous = new Map<string, string>();
      if (sameConversation) {
        const ids = new Map(state.messages.value.map((m) => [m.key, m.id]));
        for (const [parent, child] of state.choices.value) {
          const childId = ids.get(child);
          if (childId !== undefined) {
            previous.set(parent === ROOT ? ROOT : ids.get(parent) ?? parent, childId);
          }
        }
      }
      const messages = data.messages.map(fromStored).filter((m): m is Message => m !== undefined);
      const choices = focus !== undefined ? choicesThrough(messages, focus, previous) : previous;
      resumes = [];
      batch(() => {
        state.conversationId.value = data.conversation.id;
        state.title.value = data.conversation.title;
        state.messages.value = messages;
        state.choices.value = choices;
        state.load.value = { state: "idle" };
        state.notice.value = undefined;
        state.highlight.value = focus;
        if (!sameConversation) state.shown.value = MESSAGE_WINDOW;
      });
      if (focus !== undefined) {
        // A search hit above the window: render down from it (and a little context).
        const branch = state.visible.value;
        const index = branch.findIndex((m) => m.id === focus);
        if (index >= 0 && branch.length - index > state.shown.value) {
          state.shown.value = branch.length - index + 2;
        }
      }
      for (const m of messages) if (m.kind === "assistant" && isLive(m)) resume(m);
    },

    clear() {
      resumes = [];
      batch(() => {
        state.editing.value = undefined;
        state.shown.value = MESSAGE_WINDOW;
        state.conversationId.value = undefined;
        state.title.value = undefined;
        state.messages.value = [];
        state.choices.value = new Map();
        state.load.value = { state: "idle" };
        state.notice.value = undefined;
        state.highlight.value = undefined;
      });
    },

    handleFrame(frame) {
      switch (frame.type) {
        case "hello":
          state.maxMessageBytes.value = typeof frame.maxMessageBytes === "number"
            ? frame.maxMessageBytes
            : undefined;
          return;
        case "answer.start":
          return onStart(frame);
        case "answer.queued": {
          const message = byAnswerId(frame.answerId);
          if (message && isLive(message)) message.queuePosition.value = frame.position;
          return;
        }
        case "answer.delta":
          return onDelta(frame);
        case "answer.end":
          return onEnd(frame);
        case "error":
          return onError(frame);
        default:
          return;
      }
    },

    handleOpen() {
      // Requests queued while the socket was down go out now; answers streamed before it
      // went down are watched again from what the page shows.
      for (const message of assistants()) {
        if (!isLive(message)) continue;
        if (!message.sent) transmit(message);
        else resume(message);
      }
    },

    handleClose(code) {
      const tooLarge = code === 1009;
      let shown = false;
      resumes = [];
      for (const message of assistants()) {
        message.watching = false;
        if (!isLive(message) || !message.sent) continue;
        // The server keeps a named answer going: it is resumed on the next socket.
        if (message.answerId && !tooLarge) continue;
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
