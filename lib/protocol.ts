/**
 * The WebSocket protocol between the chat island and the server: the one source of truth.
 *
 * Every frame is a JSON object with a `type` tag. The server announces {@link PROTOCOL_VERSION}
 * in its `hello` frame; a client that speaks another version is told so with an `error` frame
 * (`unsupported_version`). Both sides import this module, so it imports nothing of ours and
 * nothing from Deno or npm. See docs/protocol.md for the prose version.
 *
 * @example
 * ```ts
 * const parsed = parseClientMessage(JSON.parse(text));
 * if (!parsed.ok) socket.send(encode(errorFrame(parsed.error)));
 * ```
 */

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Shared pieces

export type Role = "user" | "assistant";

/** One turn of the conversation as the client holds it. The server adds the system prompt. */
export interface Turn {
  readonly role: Role;
  readonly content: string;
}

/** Why an answer ended. `stopped`: the person pressed Stop; `length`: the model hit its limit. */
export type EndReason = "stop" | "length" | "stopped" | "error";

/** Figures from the last chunk Ollama sends, plus what the server measured itself. */
export interface AnswerStats {
  /** Milliseconds from the request to the first token, measured by the server. */
  readonly ttftMs: number;
  /** Tokens generated (Ollama's `eval_count`), when the backend reported it. */
  readonly tokens?: number;
  /** `eval_count / eval_duration`, when the backend reported both. */
  readonly tokensPerSecond?: number;
  /** Tokens of the prompt the model evaluated (`prompt_eval_count`). */
  readonly promptTokens?: number;
  /** Milliseconds the whole answer took, end to end on the server. */
  readonly totalMs: number;
}

/**
 * Error codes a client can act on. `invalid_json`, `unknown_type`, `invalid_message` and
 * `unsupported_version` are about the frame the client sent; the others are about an answer.
 */
export type ErrorCode =
  | "invalid_json"
  | "invalid_message"
  | "unknown_type"
  | "unsupported_version"
  | "rate_limited"
  | "too_many_answers"
  | "unknown_answer"
  | "not_found"
  | "backend_unreachable"
  | "model_not_found"
  | "backend_busy"
  | "backend_timeout"
  | "stream_broken"
  | "backend_error"
  | "shutting_down";

export interface ProtocolError {
  readonly code: ErrorCode;
  /** A sentence for a person: what happened and what to do. */
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------
// Client → server

/** Ask for an answer. `requestId` is the client's own handle, echoed in `answer.start`. */
export interface ChatMessage {
  readonly type: "chat";
  readonly requestId: string;
  readonly model: string;
  readonly messages: readonly Turn[];
}

/** End an answer at once. The partial answer stays with the client. */
export interface StopMessage {
  readonly type: "stop";
  readonly answerId: string;
}

/** Application-level ping, for clients that want a round-trip time. Answered with `pong`. */
export interface PingMessage {
  readonly type: "ping";
  readonly t: number;
}

/**
 * A prompt in a stored conversation. The server keeps the conversation: it stores the prompt
 * after `parentId` (null: the first message; another child of the same parent is a new
 * version, as when a prompt is edited), sends the model the visible branch up to it, and
 * stores the answer as it streams. No `conversationId` starts a new conversation.
 */
export interface SendMessage {
  readonly type: "send";
  readonly requestId: string;
  readonly model: string;
  readonly content: string;
  readonly conversationId?: string;
  readonly parentId?: string | null;
}

/** A new answer to a stored prompt, kept beside the earlier ones as another version. */
export interface RegenerateMessage {
  readonly type: "regenerate";
  readonly requestId: string;
  readonly model: string;
  readonly userMessageId: string;
}

/** Carries on an interrupted or stopped answer where it ended, in the same message. */
export interface ContinueMessage {
  readonly type: "continue";
  readonly requestId: string;
  readonly answerId: string;
}

/**
 * Watch an answer from after `seq` (what this page already shows): the server sends what was
 * missed as one delta, then the rest live. Any number of sockets may watch one answer.
 */
export interface ResumeMessage {
  readonly type: "resume";
  readonly answerId: string;
  readonly seq: number;
}

export type ClientMessage =
  | ChatMessage
  | SendMessage
  | RegenerateMessage
  | ContinueMessage
  | ResumeMessage
  | StopMessage
  | PingMessage;

// ---------------------------------------------------------------------------------------------
// Server → client

/** First frame on every connection. */
export interface HelloFrame {
  readonly type: "hello";
  readonly version: typeof PROTOCOL_VERSION;
  readonly defaultModel: string;
  /** Largest frame the server accepts, in bytes; a bigger one closes the socket with 1009. */
  readonly maxMessageBytes: number;
}

export interface AnswerStartFrame {
  readonly type: "answer.start";
  readonly answerId: string;
  /** The client's `requestId`; empty for a `resume`. */
  readonly requestId: string;
  readonly model: string;
  /** For answers in stored conversations: where the answer lives. */
  readonly conversationId?: string;
  /** The stored prompt this answer replies to (its parent). */
  readonly userMessageId?: string;
  /** The parent of that prompt (null for the first), so a client can place a new prompt. */
  readonly userParentId?: string | null;
  /** The conversation's title, when this prompt started it. */
  readonly title?: string;
  /** Earlier turns left out because the conversation is longer than the context window. */
  readonly omittedTurns?: number;
  /** For `continue` and `resume`: the seq the answer already had before this frame. */
  readonly seq?: number;
}

/**
 * The answer waits for the model: `position` 1 is next in line. Sent again as the line moves;
 * the first delta (or the end) means it is no longer waiting.
 */
export interface AnswerQueuedFrame {
  readonly type: "answer.queued";
  readonly answerId: string;
  readonly position: number;
}

/**
 * New text of an answer: only what is new, never the whole answer again. `seq` strictly
 * increases within an answer, starting at 1. When the reader fell behind, one frame may carry
 * several chunks at once; then `from` is the seq of the first of them. Nothing is ever dropped.
 */
export interface AnswerDeltaFrame {
  readonly type: "answer.delta";
  readonly answerId: string;
  readonly seq: number;
  readonly from?: number;
  /** Text of the answer itself. */
  readonly content?: string;
  /** Reasoning of a thinking model, shown apart from the answer. */
  readonly thinking?: string;
}

export interface AnswerEndFrame {
  readonly type: "answer.end";
  readonly answerId: string;
  /** The seq of the last delta sent for this answer (0 when there was none). */
  readonly seq: number;
  readonly reason: EndReason;
  readonly stats?: AnswerStats;
  /** Present when `reason` is `error`. */
  readonly error?: ProtocolError;
}

/** An error that belongs to no answer: a bad frame, a refused request. */
export interface ErrorFrame {
  readonly type: "error";
  readonly error: ProtocolError;
  /** The `requestId` of the chat message that was refused, when there was one. */
  readonly requestId?: string;
}

export interface PongFrame {
  readonly type: "pong";
  readonly t: number;
}

export type ServerFrame =
  | HelloFrame
  | AnswerStartFrame
  | AnswerQueuedFrame
  | AnswerDeltaFrame
  | AnswerEndFrame
  | ErrorFrame
  | PongFrame;

// ---------------------------------------------------------------------------------------------
// Parsing

export type Parsed<T> = { readonly ok: true; readonly value: T } | {
  readonly ok: false;
  readonly error: ProtocolError;
  readonly requestId?: string;
};

const MAX_ID_LENGTH = 128;

function fail<T>(code: ErrorCode, message: string, requestId?: string): Parsed<T> {
  return requestId === undefined
    ? { ok: false, error: { code, message } }
    : { ok: false, error: { code, message }, requestId };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? "a string" : `a ${typeof value}`;
}

/** Decodes a text frame; `invalid_json` when it is not JSON. */
export function decodeClientFrame(text: string): Parsed<ClientMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail("invalid_json", "The frame is not valid JSON. Send one JSON object per frame.");
  }
  return parseClientMessage(raw);
}

/** Checks a decoded client frame against the protocol. */
export function parseClientMessage(raw: unknown): Parsed<ClientMessage> {
  if (!isRecord(raw)) {
    return fail("invalid_message", `Expected a JSON object, found ${describe(raw)}.`);
  }
  if ("version" in raw && raw.version !== PROTOCOL_VERSION) {
    return fail(
      "unsupported_version",
      `This server speaks protocol version ${PROTOCOL_VERSION}, the client sent ${
        JSON.stringify(raw.version)
      }. Reload the page.`,
    );
  }
  const type = raw.type;
  switch (type) {
    case "chat":
      return parseChat(raw);
    case "send":
      return parseSend(raw);
    case "regenerate":
      return isId(raw.requestId) && isId(raw.userMessageId) && isModel(raw.model)
        ? {
          ok: true,
          value: {
            type,
            requestId: raw.requestId,
            model: raw.model,
            userMessageId: raw.userMessageId,
          },
        }
        : fail(
          "invalid_message",
          "A regenerate message needs `requestId`, `model` and `userMessageId`.",
          isId(raw.requestId) ? raw.requestId : undefined,
        );
    case "continue":
      return isId(raw.requestId) && isId(raw.answerId)
        ? { ok: true, value: { type, requestId: raw.requestId, answerId: raw.answerId } }
        : fail("invalid_message", "A continue message needs `requestId` and `answerId`.");
    case "resume":
      return isId(raw.answerId) && Number.isInteger(raw.seq) && (raw.seq as number) >= 0
        ? { ok: true, value: { type, answerId: raw.answerId, seq: raw.seq as number } }
        : fail("invalid_message", "A resume message needs `answerId` and `seq`, a whole number.");
    case "stop":
      return isId(raw.answerId)
        ? { ok: true, value: { type, answerId: raw.answerId } }
        : fail("invalid_message", "A stop message needs `answerId`, a non-empty string.");
    case "ping":
      return typeof raw.t === "number" && Number.isFinite(raw.t)
        ? { ok: true, value: { type, t: raw.t } }
        : fail("invalid_message", "A ping message needs `t`, a number.");
    default:
      return typeof type === "string"
        ? fail("unknown_type", `Unknown message type ${JSON.stringify(type.slice(0, 64))}.`)
        : fail("invalid_message", "A message needs `type`, a string.");
  }
}

function isModel(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 256;
}

function parseSend(raw: Record<string, unknown>): Parsed<SendMessage> {
  const requestId = isId(raw.requestId) ? raw.requestId : undefined;
  if (requestId === undefined) {
    return fail("invalid_message", "A send message needs `requestId`, a non-empty string.");
  }
  if (!isModel(raw.model)) {
    return fail("invalid_message", "A send message needs `model`, a model name.", requestId);
  }
  if (typeof raw.content !== "string" || raw.content.trim() === "") {
    return fail("invalid_message", "A send message needs `content`, the prompt.", requestId);
  }
  if (raw.conversationId !== undefined && !isId(raw.conversationId)) {
    return fail("invalid_message", "`conversationId` must be a conversation id.", requestId);
  }
  if (raw.parentId !== undefined && raw.parentId !== null && !isId(raw.parentId)) {
    return fail("invalid_message", "`parentId` must be a message id or null.", requestId);
  }
  return {
    ok: true,
    value: {
      type: "send",
      requestId,
      model: raw.model,
      content: raw.content,
      ...(raw.conversationId !== undefined ? { conversationId: raw.conversationId } : {}),
      ...(raw.parentId !== undefined ? { parentId: raw.parentId as string | null } : {}),
    },
  };
}

function parseChat(raw: Record<string, unknown>): Parsed<ChatMessage> {
  const requestId = isId(raw.requestId) ? raw.requestId : undefined;
  if (requestId === undefined) {
    return fail("invalid_message", "A chat message needs `requestId`, a non-empty string.");
  }
  if (typeof raw.model !== "string" || raw.model.length === 0 || raw.model.length > 256) {
    return fail("invalid_message", "A chat message needs `model`, a model name.", requestId);
  }
  if (!Array.isArray(raw.messages) || raw.messages.length === 0) {
    return fail(
      "invalid_message",
      "A chat message needs `messages`, a non-empty array of turns.",
      requestId,
    );
  }
  const messages: Turn[] = [];
  for (const [index, turn] of raw.messages.entries()) {
    if (
      !isRecord(turn) || (turn.role !== "user" && turn.role !== "assistant") ||
      typeof turn.content !== "string"
    ) {
      return fail(
        "invalid_message",
        `messages[${index}] must be {"role": "user" | "assistant", "content": string}.`,
        requestId,
      );
    }
    messages.push({ role: turn.role, content: turn.content });
  }
  if (messages[messages.length - 1]?.role !== "user") {
    return fail("invalid_message", "The last turn of `messages` must be the user's.", requestId);
  }
  return { ok: true, value: { type: "chat", requestId, model: raw.model, messages } };
}

/** Checks a decoded server frame; the island uses it so a broken server can't confuse it. */
export function parseServerFrame(raw: unknown): ServerFrame | undefined {
  if (!isRecord(raw) || typeof raw.type !== "string") return undefined;
  const frame = raw as unknown as ServerFrame;
  switch (frame.type) {
    case "hello":
      return typeof frame.defaultModel === "string" ? frame : undefined;
    case "answer.start":
      return isId(frame.answerId) && typeof frame.requestId === "string" ? frame : undefined;
    case "answer.queued":
      return isId(frame.answerId) && typeof frame.position === "number" ? frame : undefined;
    case "answer.delta":
      return isId(frame.answerId) && typeof frame.seq === "number" ? frame : undefined;
    case "answer.end":
      return isId(frame.answerId) && typeof frame.reason === "string" ? frame : undefined;
    case "error":
      return isRecord(frame.error) ? frame : undefined;
    case "pong":
      return typeof frame.t === "number" ? frame : undefined;
    default:
      return assertNever(frame, undefined);
  }
}

/** Exhaustiveness check for every `switch` over a union of this module. */
export function assertNever<T>(value: never, fallback: T): T {
  void value;
  return fallback;
}

/** Encodes a frame for the wire. */
export function encode(frame: ServerFrame | ClientMessage): string {
  return JSON.stringify(frame);
}

/** Close codes the server uses, beside the standard ones. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
} as const;
