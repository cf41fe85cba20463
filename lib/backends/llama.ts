/**
 * The built-in engine: llama.cpp through node-llama-cpp, behind our {@link Backend} seam, so
 * the app answers with no Ollama at all. Model files come from a {@link ModelLibrary}.
 *
 * One model is in memory at a time, with one context of one sequence: answers take turns in a
 * FIFO queue (the waiting ones are told their place), and a model switch waits for the answer
 * in flight. The prompt is built with the model's own chat template (node-llama-cpp resolves
 * the GGUF's jinja template, or the built-in wrapper it renders the same as). Inference runs on
 * llama.cpp's own threads; the event loop only sees one callback per token.
 *
 * node-llama-cpp is imported on first use, not with this module: the app imports this file even
 * when only Ollama is used. Failures are classified by error name and state, never by text.
 */
import type {
  ChatHistoryItem,
  Llama,
  LlamaChat,
  LlamaChatResponse,
  LlamaContext,
  LlamaModel,
} from "node-llama-cpp";
import {
  type Backend,
  BackendError,
  type ChatChunk,
  type ChatRequest,
  type ChatTurn,
  type Health,
  type LoadedModel,
  type LoadProgress,
  type ModelInfo,
  type ModelManagement,
  type PullProgress,
} from "./backend.ts";
import { PushQueue } from "./push_queue.ts";
import type { LocalModel, ModelLibrary } from "../models/library.ts";
import type { Logger } from "../log.ts";

export const NODE_LLAMA_CPP_VERSION = "3.21.1";
const VERSION = `llama.cpp (node-llama-cpp ${NODE_LLAMA_CPP_VERSION})`;

export interface LlamaBackendOptions {
  readonly library: ModelLibrary;
  /** CPU threads for inference; default all cores. */
  readonly threads?: number;
  /** Unload the model after this long unused (like Ollama's keep_alive). */
  readonly idleUnloadMs: number;
  /** Tokens of context; default 4096, or the model's training context when smaller. */
  readonly contextSize?: number;
  /** Answers allowed to wait; one more is refused as `busy`. Default 32. */
  readonly maxQueue?: number;
  /** Where llama.cpp's warnings and errors go; default nowhere. */
  readonly logger?: Logger;
}

/** Sampling when the request leaves it unset: Ollama's defaults, so both engines feel alike. */
const DEFAULT_SAMPLING = { temperature: 0.8, topK: 40, topP: 0.9 } as const;
const DEFAULT_CONTEXT = 4096;
const DEFAULT_MAX_QUEUE = 32;

type NodeLlamaCpp = typeof import("node-llama-cpp");

/** The model in memory with its one context and the chat over its one sequence. */
interface Loaded {
  readonly name: string;
  readonly model: LlamaModel;
  /** The context size asked for (llama.cpp may round it up). */
  readonly requestedContext: number;
  readonly context: LlamaContext;
  readonly chat: LlamaChat;
}

/** A request waiting for its turn. */
interface Waiter {
  readonly start: () => void;
  readonly onQueue: ((position: number) => void) | undefined;
}

export class LlamaBackend implements Backend, ModelManagement {
  readonly name = "builtin";
  readonly #library: ModelLibrary;
  readonly #threads: number;
  readonly #idleUnloadMs: number;
  readonly #contextSize: number;
  readonly #maxQueue: number;
  readonly #logger: Logger | undefined;

  #module: Promise<NodeLlamaCpp> | undefined;
  #llama: Promise<Llama> | undefined;
  #loaded: Loaded | undefined;
  /** True while a job (an answer, a load, an unload) owns the engine. */
  #busy = false;
  readonly #waiting: Waiter[] = [];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #idleSince = 0;
  /** Stops the answer in flight; set while one runs. */
  #stopCurrent: ((reason: unknown) => void) | undefined;
  /** Settles once the job in flight has released the engine. */
  #current: Promise<void> = Promise.resolve();
  #settleCurrent: () => void = () => {};
  #closed = false;

  constructor(options: LlamaBackendOptions) {
    this.#library = options.library;
    this.#threads = options.threads ?? navigator.hardwareConcurrency;
    this.#idleUnloadMs = options.idleUnloadMs;
    this.#contextSize = options.contextSize ?? DEFAULT_CONTEXT;
    this.#maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.#logger = options.logger;
  }

  async list(): Promise<ModelInfo[]> {
    const models = await this.#models();
    return models.map((model) => ({
      name: model.name,
      size: model.size,
      parameterSize: model.parameterSize,
      quantization: model.quantization,
      family: "",
      capabilities: ["completion"],
      source: "builtin" as const,
      available: model.path !== undefined,
    }));
  }

  loaded(): Promise<LoadedModel[]> {
    const loaded = this.#loaded;
    if (!loaded) return Promise.resolve([]);
    const expires = this.#busy || this.#waiting.length > 0
      ? Date.now() + this.#idleUnloadMs
      : this.#idleSince + this.#idleUnloadMs;
    return Promise.resolve([{
      name: loaded.name,
      size: loaded.model.size + loaded.context.memoryUsage.ram + loaded.context.memoryUsage.vram,
      expiresAt: new Date(expires).toISOString(),
    }]);
  }

  async load(
    model: string,
    signal?: AbortSignal,
    onProgress?: (progress: LoadProgress) => void,
  ): Promise<void> {
    const outer = signal ?? new AbortController().signal;
    const path = await this.#ensure(model, outer, onProgress);
    await this.#turn(outer, undefined);
    try {
      await this.#activate(model, path, this.#contextSize, outer, onProgress);
    } finally {
      this.#release();
    }
  }

  /** Fetches a catalogue model's file (verified) with progress; a present file just succeeds. */
  async *pull(name: string, signal: AbortSignal): AsyncGenerator<PullProgress> {
    const progress = new PushQueue<PullProgress>();
    let outcome: { error: unknown } | { ok: true } | undefined;
    this.#ensure(name, signal, (p) => {
      progress.push({
        status: p.status,
        ...(p.completed !== undefined ? { completed: p.completed } : {}),
        ...(p.total ? { total: p.total } : {}),
      });
    }).then(
      () => outcome = { ok: true },
      (error) => outcome = { error },
    ).finally(() => progress.close());
    yield* progress.values();
    const settled = outcome as { error: unknown } | { ok: true };
    if ("error" in settled) throw settled.error;
    yield { status: "success" };
  }

  /** Deletes the model's file, unloading it first when it is the one in memory. */
  async remove(name: string, signal?: AbortSignal): Promise<void> {
    const models = await this.#models();
    if (!models.some((m) => m.name === name)) throw notFound(name, models);
    await this.unload(name, signal);
    try {
      await this.#library.remove(name);
    } catch (error) {
      throw new BackendError(
        "failed",
        `The built-in model "${name}" could not be deleted: ${detailOf(error)}.`,
        { cause: error },
      );
    }
  }

  /** Unloads `name` if it is in memory, once the answer in flight (if any) is done. */
  async unload(name: string, signal?: AbortSignal): Promise<void> {
    if (this.#loaded?.name !== name) return;
    await this.#turn(signal ?? new AbortController().signal, undefined);
    try {
      // Another job may have swapped the model while this one waited.
      if (this.#loaded?.name === name) await this.#unload();
    } finally {
      this.#release();
    }
  }

  async health(): Promise<Health> {
    if (this.#closed) return { reachable: false, reason: "The built-in engine is shut down." };
    try {
      await this.#getLlama();
      return { reachable: true, version: VERSION };
    } catch (error) {
      return { reachable: false, reason: (error as BackendError).message };
    }
  }

  async *chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
    if (signal.aborted) throw stopped();
    const path = this.#loaded?.name === request.model
      ? undefined
      : await this.#ensure(request.model, signal, undefined);
    await this.#turn(signal, request.onQueue);
    // From here the engine is ours until `released`, which waits for llama.cpp to stop.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#release();
    };
    let generation: Promise<unknown> | undefined;
    const stopper = new AbortController();
    try {
      const requested = request.options?.num_ctx ?? this.#contextSize;
      const loaded = await this.#activate(
        request.model,
        path ?? await this.#ensure(request.model, signal, undefined),
        requested,
        signal,
        undefined,
      );
      const { chat, context } = loaded;
      const sequence = chat.sequence;
      const chunks = new PushQueue<ChatChunk>();
      let outcome: { value: LlamaChatResponse } | { error: unknown } | undefined;
      let tokens = 0;
      let firstAt = 0;
      let lastAt = 0;
      let cut = false;
      const startedAt = performance.now();
      const meterBefore = sequence.tokenMeter.getState();
      const limit = numPredict(request);
      const options = request.options ?? {};

      this.#stopCurrent = (reason) => stopper.abort(reason);
      const onAbort = () => {
        stopper.abort(signal.reason);
        chunks.wake();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      generation = chat.generateResponse(toHistory(request.messages), {
        signal: stopper.signal,
        // A stop after the first token returns what was made instead of throwing.
        stopOnAbortSignal: true,
        ...(limit !== undefined ? { maxTokens: limit } : {}),
        temperature: options.temperature ?? DEFAULT_SAMPLING.temperature,
        topK: options.top_k ?? DEFAULT_SAMPLING.topK,
        topP: options.top_p ?? DEFAULT_SAMPLING.topP,
        onResponseChunk: (chunk) => {
          const now = performance.now();
          if (chunk.tokens.length > 0) {
            tokens += chunk.tokens.length;
            if (firstAt === 0) firstAt = now;
            lastAt = now;
          }
          // A full context would make node-llama-cpp drop old history and go on; Ollama (and
          // we) end the answer there instead, as cut for length.
          if (sequence.nextTokenIndex >= context.contextSize - 1 && !stopper.signal.aborted) {
            cut = true;
            stopper.abort("length");
          }
          if (chunk.text === "") return;
          const thinking = chunk.type === "segment" && chunk.segmentType === "thought";
          chunks.push({
            done: false,
            content: thinking ? "" : chunk.text,
            thinking: thinking ? chunk.text : "",
          });
        },
      }).then(
        (value) => outcome = { value },
        (error) => outcome = { error },
      ).finally(() => {
        signal.removeEventListener("abort", onAbort);
        this.#stopCurrent = undefined;
        release();
        chunks.close();
      });

      yield* chunks.values(() => signal.aborted);
      if (signal.aborted) throw stopped();
      const settled = outcome as { value: LlamaChatResponse } | { error: unknown };
      if ("error" in settled) throw settled.error;
      const stopReason = settled.value.metadata.stopReason;
      if (stopReason === "abort" && !cut) {
        throw new BackendError("failed", "The built-in engine was shut down mid-answer.");
      }
      const meterAfter = sequence.tokenMeter.getState();
      const promptEvalCount = meterAfter.usedInputTokens - meterBefore.usedInputTokens;
      yield {
        done: true,
        content: "",
        thinking: "",
        reason: cut || stopReason === "maxTokens" ? "length" : "stop",
        ...(tokens > 0 ? { evalCount: tokens } : {}),
        ...(tokens > 0 ? { evalDurationNs: evalNs(tokens, firstAt, lastAt, startedAt) } : {}),
        ...(promptEvalCount > 0 ? { promptEvalCount } : {}),
      };
    } catch (error) {
      throw this.#classify(error, signal, request.model, "answering");
    } finally {
      // Also when the reader stops iterating early: llama.cpp stops within a token and the
      // engine is released once it has, without making the reader wait for it.
      if (!stopper.signal.aborted) stopper.abort("done");
      if (!generation) release();
    }
  }

  /** Disposes the model, its context and llama.cpp; waiting and running answers end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#stopCurrent?.(new BackendError("failed", "The built-in engine is shutting down."));
    for (const waiter of this.#waiting.splice(0)) waiter.start();
    await this.#current;
    await this.#unload();
    const llama = this.#llama;
    this.#llama = undefined;
    if (llama) await llama.then((l) => l.dispose(), () => {});
  }

  // -- models ------------------------------------------------------------------------------

  async #models(): Promise<LocalModel[]> {
    try {
      return await this.#library.list();
    } catch (error) {
      throw new BackendError(
        "failed",
        `The built-in models folder cannot be read: ${detailOf(error)}`,
        { cause: error },
      );
    }
  }

  /** The verified file of `name`, fetching it when missing; not_found for unknown names. */
  async #ensure(
    name: string,
    signal: AbortSignal,
    onProgress: ((progress: LoadProgress) => void) | undefined,
  ): Promise<string> {
    if (this.#closed) throw closedError();
    const models = await this.#models();
    if (!models.some((m) => m.name === name)) throw notFound(name, models);
    try {
      return await this.#library.ensure(name, {
        signal,
        ...(onProgress
          ? {
            onProgress: (p) => {
              if (p.status !== "done") {
                onProgress({ status: p.status, completed: p.completed, total: p.total });
              }
            },
          }
          : {}),
      });
    } catch (error) {
      if (signal.aborted) throw stopped();
      if (error instanceof Error && error.name === "UnknownModelError") {
        throw notFound(name, models);
      }
      throw new BackendError(
        "failed",
        `The built-in model "${name}" could not be fetched: ${detailOf(error)}. Check the ` +
          "connection (or drop the .gguf file into the models folder) and try again.",
        { cause: error },
      );
    }
  }

  /** Makes `name` the loaded model with a context of `contextSize`; the caller owns the turn. */
  async #activate(
    name: string,
    path: string,
    contextSize: number,
    signal: AbortSignal,
    onProgress: ((progress: LoadProgress) => void) | undefined,
  ): Promise<Loaded> {
    const current = this.#loaded;
    if (current?.name === name && current.requestedContext === contextSize) return current;
    try {
      const llama = await this.#getLlama();
      let model: LlamaModel;
      if (current?.name === name) {
        current.chat.dispose();
        await current.context.dispose();
        model = current.model;
        this.#loaded = undefined;
      } else {
        await this.#unload();
        // Loading reports no bytes (LoadProgress counts bytes): reading a small GGUF takes
        // a moment, and "loading" says all a person needs.
        onProgress?.({ status: "loading" });
        model = await llama.loadModel({ modelPath: path, loadSignal: signal });
      }
      try {
        const { LlamaChat } = await this.#import();
        const context = await model.createContext({
          contextSize: Math.min(contextSize, model.trainContextSize),
          threads: this.#threads,
          sequences: 1,
        });
        const chat = new LlamaChat({ contextSequence: context.getSequence() });
        this.#loaded = { name, model, requestedContext: contextSize, context, chat };
        return this.#loaded;
      } catch (error) {
        await model.dispose();
        throw error;
      }
    } catch (error) {
      throw this.#classify(error, signal, name, "loading");
    }
  }

  async #unload(): Promise<void> {
    const loaded = this.#loaded;
    if (!loaded) return;
    this.#loaded = undefined;
    loaded.chat.dispose();
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  // -- the queue -----------------------------------------------------------------------------

  /** Resolves once the engine is ours (FIFO); `onQueue` hears the place while waiting. */
  #turn(signal: AbortSignal, onQueue: ((position: number) => void) | undefined): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (signal.aborted) return Promise.reject(stopped());
    if (!this.#busy && this.#waiting.length === 0) {
      this.#claim();
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.#maxQueue) {
      return Promise.reject(
        new BackendError(
          "busy",
          `The built-in engine is busy: ${this.#waiting.length} answers are already waiting. ` +
            "Wait a moment and try again.",
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        this.#tellPositions(at);
        reject(stopped());
      };
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener("abort", onAbort);
          if (this.#closed) return reject(closedError());
          onQueue?.(0);
          resolve();
        },
        onQueue,
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
      onQueue?.(this.#waiting.length);
    });
  }

  #claim(): void {
    this.#busy = true;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#current = promise;
    this.#settleCurrent = resolve;
  }

  /** Hands the engine to the next waiter, or starts the idle countdown. */
  #release(): void {
    this.#busy = false;
    this.#settleCurrent();
    if (this.#closed) return;
    const next = this.#waiting.shift();
    if (next) {
      this.#claim();
      next.start();
      this.#tellPositions(0);
      return;
    }
    this.#idleSince = Date.now();
    if (!this.#loaded) return;
    this.#idleTimer = setTimeout(() => void this.#unloadIdle(), this.#idleUnloadMs);
    // An idle model must not keep the process alive.
    Deno.unrefTimer(this.#idleTimer);
  }

  async #unloadIdle(): Promise<void> {
    this.#idleTimer = undefined;
    if (this.#busy || this.#waiting.length > 0 || this.#closed) return;
    this.#claim();
    try {
      await this.#unload();
    } catch (error) {
      this.#logger?.warn("builtin_unload_failed", { error: detailOf(error) });
    } finally {
      this.#busy = false;
      this.#settleCurrent();
      const next = this.#waiting.shift();
      if (next) {
        this.#claim();
        next.start();
        this.#tellPositions(0);
      }
    }
  }

  /** Tells waiters from index `from` on their (new) place. */
  #tellPositions(from: number): void {
    for (let i = Math.max(from, 0); i < this.#waiting.length; i++) {
      this.#waiting[i]!.onQueue?.(i + 1);
    }
  }

  // -- node-llama-cpp --------------------------------------------------------------------------

  #import(): Promise<NodeLlamaCpp> {
    this.#module ??= import("node-llama-cpp");
    return this.#module;
  }

  /** llama.cpp's native library, loaded on first use (a prebuilt binary; never compiled). */
  #getLlama(): Promise<Llama> {
    if (this.#closed) return Promise.reject(closedError());
    this.#llama ??= (async () => {
      try {
        const { getLlama, LlamaLogLevel } = await this.#import();
        return await getLlama({
          build: "never",
          logLevel: LlamaLogLevel.warn,
          logger: (level, message) => {
            const text = message.trim();
            if (!this.#logger || text === "") return;
            if (level === LlamaLogLevel.warn) this.#logger.warn("llama_cpp", { message: text });
            else this.#logger.error("llama_cpp", { level, message: text });
          },
        });
      } catch (error) {
        this.#llama = undefined;
        throw new BackendError(
          "failed",
          `The built-in engine cannot start: llama.cpp did not load on this machine ` +
            `(${detailOf(error)}). Use Ollama instead.`,
          { cause: error },
        );
      }
    })();
    return this.#llama;
  }

  #classify(
    error: unknown,
    signal: AbortSignal,
    model: string,
    doing: "loading" | "answering",
  ): BackendError {
    if (error instanceof BackendError) return error;
    if (signal.aborted) return stopped();
    if (this.#closed) return closedError();
    const name = error instanceof Error ? error.name : "";
    if (name === "InsufficientMemoryError") {
      return new BackendError(
        "failed",
        `There is not enough memory to run the built-in model "${model}". Close other ` +
          "programs, pick a smaller model, or lower the context size.",
        { cause: error },
      );
    }
    return new BackendError(
      "failed",
      doing === "loading"
        ? `The built-in engine could not load "${model}" (${detailOf(error)}). The file may ` +
          "be damaged or not a GGUF model; remove it and fetch it again."
        : `The built-in engine failed while answering (${detailOf(error)}). Press Retry to ` +
          "ask again.",
      { cause: error },
    );
  }
}

/** Our turns as node-llama-cpp's history, ending with the model's (empty) turn to fill. */
function toHistory(messages: readonly ChatTurn[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m): ChatHistoryItem => {
    if (m.role === "system") return { type: "system", text: m.content };
    if (m.role === "user") return { type: "user", text: m.content };
    return { type: "model", response: [m.content] };
  });
  // A trailing assistant turn is continued, as Ollama does; otherwise a new one starts.
  if (history.at(-1)?.type !== "model") history.push({ type: "model", response: [] });
  return history;
}

/** Ollama's `num_predict`: tokens to generate at most. */
function numPredict(request: ChatRequest): number | undefined {
  const value = request.options?.num_predict;
  return value !== undefined && value > 0 ? Math.floor(value) : undefined;
}

/**
 * Time spent generating: the first token comes out of the prompt's evaluation, so the n-1
 * tokens after it set the pace, which is scaled to all n.
 */
function evalNs(tokens: number, firstAt: number, lastAt: number, startedAt: number): number {
  const ms = tokens > 1 ? (lastAt - firstAt) * tokens / (tokens - 1) : lastAt - startedAt;
  return Math.max(1, Math.round(ms * 1e6));
}

function notFound(name: string, models: readonly LocalModel[]): BackendError {
  const names = models.map((m) => m.name);
  return new BackendError(
    "not_found",
    `There is no built-in model "${name}". ` +
      (names.length > 0
        ? `Built-in models: ${names.join(", ")}.`
        : "There are no built-in models; drop a .gguf file into the models folder."),
  );
}

function stopped(): BackendError {
  return new BackendError("aborted", "The request was stopped.");
}

function closedError(): BackendError {
  return new BackendError("failed", "The built-in engine is shut down.");
}

function detailOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
