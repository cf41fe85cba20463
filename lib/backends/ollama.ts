/**
 * Ollama behind our {@link Backend} seam, through the official npm client. We call only chat,
 * tags, ps, show and version, and pull and delete for the model manager: the app is not a
 * proxy, whatever the browser sends.
 *
 * The client hands back an abortable stream only once the first token has arrived, so each
 * call gets a client whose `fetch` honours that answer's own signal: Stop works while the model
 * is still loading. Failures are classified by error name and HTTP status, never by text.
 */
import { Ollama } from "ollama/browser";
import {
  type Backend,
  BackendError,
  type ChatChunk,
  type ChatRequest,
  type Health,
  type LoadedModel,
  type ModelInfo,
  type ModelManagement,
  type PullProgress,
} from "./backend.ts";
import { abortableFetch, abortWith } from "../abort.ts";
import { fetchReusingBuffer } from "./reused_buffer_fetch.ts";

export interface OllamaOptions {
  /** Base URL, already normalised (see `ollamaUrl` in lib/config.ts). */
  readonly url: string;
  /** Milliseconds to wait for a reply, and then between chunks of a stream. */
  readonly timeoutMs: number;
}

/** Health and listing should answer fast even when chat is allowed to wait long. */
const QUICK_TIMEOUT_MS = 5000;

export class OllamaBackend implements Backend, ModelManagement {
  readonly name = "ollama";
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(options: OllamaOptions) {
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs;
  }

  async list(signal?: AbortSignal): Promise<ModelInfo[]> {
    const { models } = await this.#call(QUICK_TIMEOUT_MS, signal, (client) => client.list());
    return models.map((model) => ({
      name: model.name,
      size: model.size,
      parameterSize: model.details?.parameter_size ?? "",
      quantization: model.details?.quantization_level ?? "",
      family: model.details?.family ?? "",
      capabilities: (model as { capabilities?: string[] }).capabilities ?? [],
      modifiedAt: String(model.modified_at),
      source: "ollama" as const,
      available: true,
    }));
  }

  async loaded(signal?: AbortSignal): Promise<LoadedModel[]> {
    const { models } = await this.#call(QUICK_TIMEOUT_MS, signal, (client) => client.ps());
    return models.map((model) => ({
      name: model.name,
      size: model.size,
      expiresAt: String(model.expires_at),
    }));
  }

  async load(model: string, signal?: AbortSignal): Promise<void> {
    // An empty chat is Ollama's way to load a model; it answers once the model is in memory.
    await this.#call(
      this.#timeoutMs,
      signal,
      (client) => client.chat({ model, messages: [], stream: false }),
      model,
    );
  }

  /**
   * `/api/pull`, streamed. Ollama sends a line every ~60 ms per layer, so a silence of the
   * chat timeout means it is stuck. Aborting closes the HTTP request: Ollama stops the
   * download and keeps the layers it has for a later pull.
   */
  async *pull(name: string, signal: AbortSignal): AsyncGenerator<PullProgress> {
    const exchange = this.#exchange(this.#timeoutMs, signal, abortableFetch);
    let started = false;
    let finished = false;
    try {
      const parts = await exchange.client.pull({ model: name, stream: true });
      started = true;
      for await (const part of parts) {
        exchange.idle.reset();
        yield {
          status: part.status,
          ...(part.digest ? { digest: part.digest } : {}),
          ...(typeof part.completed === "number" ? { completed: part.completed } : {}),
          ...(typeof part.total === "number" ? { total: part.total } : {}),
        };
        if (part.status === "success") {
          finished = true;
          return;
        }
      }
    } catch (error) {
      if (!started || error instanceof BackendError) {
        throw this.#classify(error, signal, exchange.idle, name, false);
      }
      if (signal.aborted) throw new BackendError("aborted", "The pull was cancelled.");
      // A streamed `{"error"}` line (unknown name, registry unreachable, disk full…) carries
      // Ollama's own words; there is no status to go by.
      const detail = exchange.idle.fired
        ? `Ollama sent nothing for ${Math.round(exchange.idle.ms / 1000)} s`
        : error instanceof Error
        ? error.message
        : String(error);
      throw new BackendError(
        "failed",
        `Ollama could not pull "${name}": ${detail}. Check the name (ollama.com/library lists ` +
          "them) and Ollama's connection to the internet, then try again.",
        { cause: error },
      );
    } finally {
      // The reader stopped early (cancel): end the request so Ollama stops downloading.
      exchange.end(!finished);
    }
  }

  /** `/api/delete`. */
  async remove(name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#call(this.#timeoutMs, signal, (c) => c.delete({ model: name }), name);
    } catch (error) {
      if (error instanceof BackendError && error.kind === "not_found") {
        throw new BackendError("not_found", `There is no model "${name}" in Ollama to delete.`);
      }
      throw error;
    }
  }

  /** An empty chat with `keep_alive: 0`: Ollama's documented way to unload at once. */
  async unload(name: string, signal?: AbortSignal): Promise<void> {
    await this.#call(
      QUICK_TIMEOUT_MS,
      signal,
      (client) => client.chat({ model: name, messages: [], keep_alive: 0, stream: false }),
      name,
    );
  }

  async health(signal?: AbortSignal): Promise<Health> {
    try {
      const { version } = await this.#call(QUICK_TIMEOUT_MS, signal, (c) => c.version());
      return { reachable: true, version };
    } catch (error) {
      return { reachable: false, reason: (error as Error).message };
    }
  }

  async *chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatChunk> {
    const exchange = this.#exchange(this.#timeoutMs, signal, fetchReusingBuffer);
    const { client, idle } = exchange;
    let started = false;
    let ended = false;
    try {
      const stream = await client.chat({
        model: request.model,
        messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
        stream: true,
        ...(request.options ? { options: request.options } : {}),
      });
      started = true;
      // Aborting the request errors the body: the loop below throws and is classified.
      for await (const part of stream) {
        idle.reset();
        const content = part.message?.content ?? "";
        const thinking = part.message?.thinking ?? "";
        if (!part.done) {
          yield { done: false, content, thinking };
          continue;
        }
        const last = {
          done: true as const,
          content,
          thinking,
          reason: part.done_reason === "length" ? "length" as const : "stop" as const,
          ...(part.eval_count ? { evalCount: part.eval_count } : {}),
          ...(part.eval_duration ? { evalDurationNs: part.eval_duration } : {}),
          ...(part.prompt_eval_count ? { promptEvalCount: part.prompt_eval_count } : {}),
        };
        ended = true;
        yield last;
        return;
      }
      throw new BackendError(
        "broken",
        "The answer broke off: Ollama closed the stream before the end. The partial answer " +
          "is kept; press Retry to ask again.",
      );
    } catch (error) {
      throw this.#classify(error, signal, idle, request.model, started);
    } finally {
      // A consumer that stopped reading before the last line: end the request at Ollama.
      exchange.end(!ended);
    }
  }

  /**
   * One HTTP request to Ollama: the caller's signal (Stop, socket close, shutdown) and the idle
   * timer both abort one controller, and the client's `fetch` answers to it alone (the client's
   * own `abort()` is never needed). lib/abort.ts says why each fetch goes through
   * `abortableFetch`.
   */
  #exchange(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    fetchImpl: typeof abortableFetch,
  ) {
    const controller = new AbortController();
    const idle = new IdleTimer(timeoutMs, controller);
    const unlink = abortWith(controller, signal);
    const client = new Ollama({
      host: this.#url,
      fetch: (input, init) => fetchImpl(input, { ...init, signal: controller.signal }),
    });
    return {
      client,
      idle,
      /** Stops the timer and unlinks the caller's signal; `abort` ends a request still open. */
      end(abort: boolean) {
        idle.clear();
        unlink();
        if (abort) controller.abort("gone");
      },
    };
  }

  async #call<T>(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    run: (client: Ollama) => Promise<T>,
    model?: string,
  ): Promise<T> {
    const exchange = this.#exchange(timeoutMs, signal, abortableFetch);
    try {
      return await run(exchange.client);
    } catch (error) {
      throw this.#classify(error, signal, exchange.idle, model, false);
    } finally {
      exchange.end(false);
    }
  }

  #classify(
    error: unknown,
    signal: AbortSignal | undefined,
    idle: IdleTimer,
    model: string | undefined,
    started: boolean,
  ): BackendError {
    if (error instanceof BackendError) return error;
    if (signal?.aborted) return new BackendError("aborted", "The request was stopped.");
    if (idle.fired) {
      return new BackendError(
        "timeout",
        `Ollama sent nothing for ${Math.round(idle.ms / 1000)} s, so the request was given up. ` +
          "The model may still be loading or the machine is overloaded; try again, or raise " +
          "OLLAMA_TIMEOUT.",
      );
    }
    const name = error instanceof Error ? error.name : "";
    const detail = error instanceof Error ? error.message : String(error);
    if (started) {
      return new BackendError(
        "broken",
        `The answer broke off (${detail}). The partial answer is kept; press Retry to ask again.`,
      );
    }
    if (name === "ResponseError") {
      const status = (error as { status_code?: number }).status_code ?? 0;
      if (status === 404) {
        const label = model ?? "that model";
        return new BackendError(
          "not_found",
          `The model "${label}" is not installed in Ollama. Pull it with \`ollama pull ${label}\`, ` +
            "or pick another model.",
        );
      }
      if (status === 503) {
        return new BackendError(
          "busy",
          "Ollama is busy: too many requests are waiting for a model to load. Wait a moment " +
            "and try again.",
        );
      }
      if (status === 400) {
        return new BackendError("bad_request", `Ollama refused the request: ${detail}`);
      }
      return new BackendError("failed", `Ollama failed (HTTP ${status}): ${detail}`);
    }
    if (error instanceof TypeError) {
      return new BackendError(
        "unreachable",
        `Ollama is not reachable at ${this.#url} (${detail}). Start Ollama (\`ollama serve\`) ` +
          "or point OLLAMA_HOST at it, then try again.",
        { cause: error },
      );
    }
    return new BackendError("failed", `Ollama failed: ${detail}`, { cause: error });
  }
}

/**
 * Aborts its controller when `reset()` is not called for `ms` milliseconds. `reset()` runs once per
 * token, so it only notes the time; the one timer re-arms itself for whatever is left.
 */
class IdleTimer {
  readonly #controller: AbortController;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastActivity = performance.now();
  /** Set when the timer (not someone else) aborted the controller. */
  fired = false;

  /** Aborts `controller` when idle for `ms`. */
  constructor(readonly ms: number, controller: AbortController) {
    this.#controller = controller;
    this.#arm(ms);
  }

  reset(): void {
    this.#lastActivity = performance.now();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => {
      const idle = performance.now() - this.#lastActivity;
      if (idle < this.ms) return this.#arm(this.ms - idle);
      this.fired = true;
      this.#controller.abort("timeout");
    }, delay);
  }
}
