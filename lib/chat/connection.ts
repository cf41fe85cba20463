/**
 * One WebSocket: reads frames (size, rate and shape checked), starts, stops and resumes
 * answers, and writes through a bounded {@link Outbox}. Bad input gets a typed error frame and
 * the socket keeps serving; only an oversized message (1009) or a stalled reader (1013) closes
 * it. Answers themselves live in the {@link AnswerRegistry}, so they outlive the socket.
 */
import type { Backend } from "../backends/backend.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { LOCAL_OWNER } from "../owner.ts";
import {
  type ChatMessage,
  CloseCode,
  type ContinueMessage,
  decodeClientFrame,
  type ErrorCode,
  PROTOCOL_VERSION,
  type RegenerateMessage,
  type SendMessage,
  type ServerFrame,
} from "../protocol.ts";
import { type Store, StoreError } from "../store/store.ts";
import type { AnswerRegistry, AnswerSpec, Watcher } from "./answers.ts";
import { effectiveSettings } from "../settings.ts";
import { branchTo, modelInput, NEW_CHAT_TITLE, titleFrom } from "./history.ts";
import { Outbox } from "./outbox.ts";
import type { AbortReason } from "./turn.ts";

export interface ConnectionDeps {
  readonly backend: Backend;
  readonly store: Store;
  readonly config: Config;
  readonly logger: Logger;
  readonly answers: AnswerRegistry;
  /** The model a person gets until they pick one (it changes as Ollama comes and goes). */
  readonly defaultModel: () => string;
}

export class ChatConnection {
  readonly #socket: WebSocket;
  readonly #deps: ConnectionDeps;
  readonly #outbox: Outbox;
  readonly #watcher: Watcher;
  /** Answers this socket asked for, while they stream: the per-socket limit counts them. */
  readonly #started = new Set<string>();
  #tokens: number;
  #refilledAt = performance.now();
  /** Resolves once the socket has closed. */
  readonly closed: Promise<void>;

  constructor(socket: WebSocket, deps: ConnectionDeps) {
    this.#socket = socket;
    this.#deps = deps;
    this.#tokens = deps.config.limits.maxFramesPerSecond;
    this.#watcher = { send: (frame) => this.#send(frame) };
    this.#outbox = new Outbox(socket, deps.config.limits, () => {
      deps.logger.warn("slow reader closed", { answers: this.#started.size });
      // The close frame waits behind the unread data, so leaving can't wait for it.
      deps.answers.leave(this.#watcher);
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
      deps.answers.leave(this.#watcher);
      resolve();
    });
  }

  /** Closes the socket with 1001 (the hub has ended the answers first). */
  shutdown(): void {
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
        return this.#chat(message);
      case "send":
      case "regenerate":
      case "continue":
        return void this.#stored(message);
      case "resume": {
        const answer = this.#deps.answers.get(message.answerId);
        if (!answer?.watchFrom(this.#watcher, message.seq)) {
          this.#error(
            "unknown_answer",
            "That answer is no longer streaming here; reload the conversation to see it.",
          );
        }
        return;
      }
      case "stop": {
        const answer = this.#deps.answers.get(message.answerId);
        if (!answer || answer.end) {
          return this.#error("unknown_answer", "That answer is not streaming.");
        }
        answer.controller.abort("stopped" satisfies AbortReason);
        return;
      }
      case "ping":
        return this.#send({ type: "pong", t: message.t });
    }
  }

  /** The stateless form: the client sends every turn, nothing is stored. */
  #chat(message: ChatMessage): void {
    const { config } = this.#deps;
    if (!this.#admit(message.requestId)) return;
    const messages = config.systemPrompt === ""
      ? [...message.messages]
      : [{ role: "system" as const, content: config.systemPrompt }, ...message.messages];
    this.#start({
      id: crypto.randomUUID(),
      request: { model: message.model, messages, options: config.generation },
      start: { model: message.model },
    }, message.requestId);
  }

  /** `send`, `regenerate` and `continue`: answers in stored conversations. */
  async #stored(message: SendMessage | RegenerateMessage | ContinueMessage): Promise<void> {
    if (!this.#admit(message.requestId)) return;
    try {
      const spec = message.type === "send"
        ? await this.#sendSpec(message)
        : message.type === "regenerate"
        ? await this.#regenerateSpec(message)
        : await this.#continueSpec(message);
      this.#start(spec, message.requestId);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      this.#error(
        error.code === "not_found" ? "not_found" : "invalid_message",
        error.code === "not_found"
          ? "That conversation or message does not exist (it may have been deleted)."
          : error.message,
        message.requestId,
      );
    }
  }

  async #sendSpec(message: SendMessage): Promise<AnswerSpec> {
    const { store } = this.#deps;
    let title: string | undefined;
    let conversationId = message.conversationId;
    if (conversationId === undefined) {
      title = titleFrom(message.content);
      conversationId = (await store.createConversation(LOCAL_OWNER, { title })).id;
    } else {
      const existing = await store.getConversation(LOCAL_OWNER, conversationId);
      // A chat created by saving its settings (no message yet) is named by its first prompt.
      if (existing.title === NEW_CHAT_TITLE && (message.parentId ?? null) === null) {
        title = titleFrom(message.content);
        await store.renameConversation(LOCAL_OWNER, conversationId, title);
      }
    }
    const parentId = message.conversationId === undefined ? null : message.parentId ?? null;
    const prompt = await store.addMessage(LOCAL_OWNER, {
      conversationId,
      parentId,
      role: "user",
      content: message.content,
    });
    return await this.#answerTo(prompt.id, conversationId, parentId, message.model, title, true);
  }

  async #regenerateSpec(message: RegenerateMessage): Promise<AnswerSpec> {
    const prompt = await this.#deps.store.getMessage(LOCAL_OWNER, message.userMessageId);
    if (prompt.role !== "user") {
      throw new StoreError("invalid", "Only a prompt can be answered again.");
    }
    return await this.#answerTo(prompt.id, prompt.conversationId, prompt.parentId, message.model);
  }

  /** A new answer (a new version when the prompt had one) to a stored prompt. */
  async #answerTo(
    promptId: string,
    conversationId: string,
    promptParentId: string | null,
    model: string,
    title?: string,
    rememberModel = false,
  ): Promise<AnswerSpec> {
    const { store, config } = this.#deps;
    const branch = branchTo(await store.listMessages(LOCAL_OWNER, conversationId), promptId);
    // The conversation's own settings over the configured ones (docs/settings.md).
    const settings = await store.getSettings(LOCAL_OWNER, conversationId);
    const { systemPrompt, options } = effectiveSettings(settings, config);
    const input = modelInput(branch, systemPrompt, options);
    // A prompt sent with a model makes it the conversation's model, so reopening selects it.
    if (rememberModel && settings.model !== model) {
      await store.setSettings(LOCAL_OWNER, conversationId, { ...settings, model });
    }
    const answer = await store.startAnswer(LOCAL_OWNER, {
      conversationId,
      parentId: promptId,
      model,
    });
    return {
      id: answer.id,
      request: { model, messages: input.messages, options },
      start: {
        model,
        conversationId,
        userMessageId: promptId,
        userParentId: promptParentId,
        ...(title !== undefined ? { title } : {}),
        ...(input.omittedTurns > 0 ? { omittedTurns: input.omittedTurns } : {}),
      },
      stored: { store, ownerId: LOCAL_OWNER },
    };
  }

  async #continueSpec(message: ContinueMessage): Promise<AnswerSpec> {
    const { store, config, answers } = this.#deps;
    if (answers.get(message.answerId) && !answers.get(message.answerId)!.end) {
      throw new StoreError("invalid", "That answer is still streaming.");
    }
    const answer = await store.getMessage(LOCAL_OWNER, message.answerId);
    if (answer.role !== "assistant" || answer.state === "streaming" || !answer.parentId) {
      throw new StoreError("invalid", "Only an answer that has ended can be continued.");
    }
    // The partial answer goes last: the model carries on from its final word.
    const branch = branchTo(
      await store.listMessages(LOCAL_OWNER, answer.conversationId),
      answer.id,
    );
    const settings = await store.getSettings(LOCAL_OWNER, answer.conversationId);
    const { systemPrompt, options } = effectiveSettings(settings, config);
    const input = modelInput(branch, systemPrompt, options);
    const prompt = branch.at(-2);
    await store.updateAnswer(LOCAL_OWNER, answer.id, { state: "streaming" });
    const model = answer.model ?? settings.model ?? this.#deps.defaultModel();
    return {
      id: answer.id,
      request: { model, messages: input.messages, options },
      start: {
        model,
        conversationId: answer.conversationId,
        userMessageId: answer.parentId,
        userParentId: prompt?.parentId ?? null,
        ...(input.omittedTurns > 0 ? { omittedTurns: input.omittedTurns } : {}),
      },
      stored: { store, ownerId: LOCAL_OWNER },
      prefix: { content: answer.content, thinking: answer.thinking, seq: answer.lastSeq },
    };
  }

  #admit(requestId: string): boolean {
    const { maxAnswersPerConnection } = this.#deps.config.limits;
    if (this.#started.size < maxAnswersPerConnection) return true;
    this.#error(
      "too_many_answers",
      `At most ${maxAnswersPerConnection} answers may stream at once on one connection; ` +
        "stop one or wait for it to finish.",
      requestId,
    );
    return false;
  }

  #start(spec: AnswerSpec, requestId: string): void {
    this.#started.add(spec.id);
    const answer = this.#deps.answers.start(spec, this.#watcher, requestId);
    answer.done.then(() => this.#started.delete(spec.id));
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
