/**
 * One WebSocket: reads frames (size, rate and shape checked), starts and stops answers, and
 * writes through a bounded {@link Outbox}. Bad input gets a typed error frame and the socket
 * keeps serving; only an oversized message (1009) or a stalled reader (1013) closes it.
 */
import type { Backend, ChatTurn } from "../backends/backend.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import {
  type ChatMessage,
  CloseCode,
  decodeClientFrame,
  type ErrorCode,
  PROTOCOL_VERSION,
  type ServerFrame,
} from "../protocol.ts";
import { Outbox } from "./outbox.ts";
import { type AbortReason, runTurn } from "./turn.ts";

export interface ConnectionDeps {
  readonly backend: Backend;
  readonly config: Config;
  readonly logger: Logger;
  /** The model a person gets until they pick one (it changes as Ollama comes and goes). */
  readonly defaultModel: () => string;
}

interface LiveAnswer {
  readonly controller: AbortController;
  seq: number;
  /** Settles once the answer's end frame has been sent. */
  ended?: Promise<void>;
}

export class ChatConnection {
  readonly #socket: WebSocket;
  readonly #deps: ConnectionDeps;
  readonly #outbox: Outbox;
  readonly #answers = new Map<string, LiveAnswer>();
  #tokens: number;
  #refilledAt = performance.now();
  /** Resolves once the socket has closed (its answers are aborted then). */
  readonly closed: Promise<void>;

  constructor(socket: WebSocket, deps: ConnectionDeps) {
    this.#socket = socket;
    this.#deps = deps;
    this.#tokens = deps.config.limits.maxFramesPerSecond;
    this.#outbox = new Outbox(socket, deps.config.limits, () => {
      deps.logger.warn("slow reader closed", { answers: this.#answers.size });
      // The close frame waits behind the unread data, so the answers can't wait for it.
      this.#abortAll("disconnected");
      this.#closeSocket(CloseCode.tryAgainLater, "reader too slow");
    });
    const { promise, resolve } = Promise.withResolvers<void>();
    this.closed = promise;
    socket.addEventListener("open", () => {
      this.#send({
        type: "hello",
        version: PROTOCOL_VERSION,
        defaultModel: deps.defaultModel(),
        maxMessageBytes: deps.config.limits.maxMessageBytes,
      });
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
    socket.addEventListener("close", () => {
      this.#outbox.close();
      this.#abortAll("disconnected");
      resolve();
    });
  }

  /** Ends every answer (the server is stopping), sends their end frames, closes with 1001. */
  async shutdown(): Promise<void> {
    const ending = [...this.#answers.values()].map((answer) => answer.ended);
    this.#abortAll("shutting_down");
    await Promise.all(ending);
    this.#closeSocket(CloseCode.goingAway, "server shutting down");
  }

  #receive(data: unknown): void {
    const { limits } = this.#deps.config;
    if (typeof data !== "string") {
      const size = data instanceof ArrayBuffer ? data.byteLength : (data as Blob).size ?? 0;
      if (size > limits.maxMessageBytes) return this.#tooBig();
      return this.#error("invalid_message", "Binary frames are not part of the protocol.");
    }
    if (utf8Length(data, limits.maxMessageBytes) > limits.maxMessageBytes) return this.#tooBig();
    if (!this.#takeToken()) {
      return this.#error("rate_limited", "Too many messages; slow down and try again.");
    }
    const parsed = decodeClientFrame(data);
    if (!parsed.ok) return this.#error(parsed.error.code, parsed.error.message, parsed.requestId);
    const message = parsed.value;
    switch (message.type) {
      case "chat":
        return this.#startAnswer(message);
      case "stop": {
        const answer = this.#answers.get(message.answerId);
        if (!answer) {
          return this.#error("unknown_answer", "That answer is not streaming on this connection.");
        }
        answer.controller.abort("stopped" satisfies AbortReason);
        return;
      }
      case "ping":
        return this.#send({ type: "pong", t: message.t });
    }
  }

  #startAnswer(message: ChatMessage): void {
    const { config, backend, logger } = this.#deps;
    if (this.#answers.size >= config.limits.maxAnswersPerConnection) {
      return this.#error(
        "too_many_answers",
        `At most ${config.limits.maxAnswersPerConnection} answers may stream at once on one ` +
          "connection; stop one or wait for it to finish.",
        message.requestId,
      );
    }
    const answerId = crypto.randomUUID();
    const answer: LiveAnswer = { controller: new AbortController(), seq: 0 };
    this.#answers.set(answerId, answer);
    this.#send({
      type: "answer.start",
      answerId,
      requestId: message.requestId,
      model: message.model,
    });

    const messages: ChatTurn[] = config.systemPrompt === ""
      ? [...message.messages]
      : [{ role: "system", content: config.systemPrompt }, ...message.messages];
    answer.ended = runTurn({
      backend,
      request: {
        model: message.model,
        messages,
        options: config.generation,
        onQueue: (position) => {
          if (position > 0) this.#send({ type: "answer.queued", answerId, position });
        },
      },
      signal: answer.controller.signal,
      onDelta: (content, thinking) => {
        answer.seq++;
        this.#send(
          thinking === ""
            ? { type: "answer.delta", answerId, seq: answer.seq, content }
            : content === ""
            ? { type: "answer.delta", answerId, seq: answer.seq, thinking }
            : { type: "answer.delta", answerId, seq: answer.seq, content, thinking },
        );
      },
    }).then((outcome) => {
      this.#answers.delete(answerId);
      if (outcome.error) {
        logger.info("answer failed", { answerId, model: message.model, code: outcome.error.code });
      }
      this.#send({
        type: "answer.end",
        answerId,
        seq: answer.seq,
        reason: outcome.reason,
        stats: outcome.stats,
        ...(outcome.error ? { error: outcome.error } : {}),
      });
    });
  }

  #abortAll(reason: AbortReason): void {
    for (const answer of this.#answers.values()) answer.controller.abort(reason);
  }

  #send(frame: ServerFrame): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#outbox.send(frame);
  }

  #error(code: ErrorCode, message: string, requestId?: string): void {
    this.#send(
      requestId === undefined
        ? { type: "error", error: { code, message } }
        : { type: "error", error: { code, message }, requestId },
    );
  }

  #tooBig(): void {
    this.#closeSocket(
      CloseCode.messageTooBig,
      `message over ${this.#deps.config.limits.maxMessageBytes} bytes`,
    );
  }

  #closeSocket(code: number, reason: string): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(code, reason);
  }

  /** A bucket of `maxFramesPerSecond` tokens, refilled continuously. */
  #takeToken(): boolean {
    const rate = this.#deps.config.limits.maxFramesPerSecond;
    const now = performance.now();
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

/** UTF-8 length, computed only when the character count leaves it in doubt. */
function utf8Length(text: string, limit: number): number {
  if (text.length > limit) return text.length;
  if (text.length * 3 <= limit) return text.length;
  return new TextEncoder().encode(text).byteLength;
}
