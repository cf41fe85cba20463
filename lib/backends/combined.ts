/**
 * Ollama and the built-in engine behind one {@link Backend}: built-in models are named
 * `builtin/…`, everything else goes to Ollama. It also keeps watch on Ollama (a probe every few
 * seconds), so Ollama appearing or going away changes the model list and the default model
 * without a restart.
 */
import {
  type Backend,
  BackendError,
  type ChatChunk,
  type ChatRequest,
  type Health,
  type LoadedModel,
  type LoadProgress,
  type ModelInfo,
  type ModelManagement,
  type PullProgress,
} from "./backend.ts";

const BUILTIN_PREFIX = "builtin/";

export interface CombinedOptions {
  readonly ollama: Backend & ModelManagement;
  /** Absent when built-in models are turned off. */
  readonly builtin?: Backend & ModelManagement & { close(): Promise<void> };
  /** The default model when Ollama answers. */
  readonly ollamaDefault: string;
  /** The default model when it does not. */
  readonly builtinDefault?: string;
  readonly probeMs: number;
}

export interface BackendStatus {
  readonly ollama: Health;
  /** Present when built-in models are on. */
  readonly builtin?: Health & { readonly serving: boolean };
  readonly defaultModel: string;
  /** Whether any model server can answer. */
  readonly serving: boolean;
}

export class CombinedBackend implements Backend, ModelManagement {
  readonly name = "combined";
  readonly #options: CombinedOptions;
  #ollamaHealth: Health = { reachable: false, reason: "not checked yet" };
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: CombinedOptions) {
    this.#options = options;
  }

  /** Checks Ollama now and then every `probeMs`; resolves after the first check. */
  async start(): Promise<void> {
    await this.#probe();
    this.#timer = setInterval(() => void this.#probe(), this.#options.probeMs);
    Deno.unrefTimer(this.#timer);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#options.builtin?.close();
  }

  /** The model a person gets until they pick one: Ollama's when it answers, else built in. */
  defaultModel(): string {
    const { builtinDefault, ollamaDefault, builtin } = this.#options;
    return !this.#ollamaHealth.reachable && builtin && builtinDefault
      ? builtinDefault
      : ollamaDefault;
  }

  async status(): Promise<BackendStatus> {
    await this.#probe();
    const builtin = this.#options.builtin ? await this.#options.builtin.health() : undefined;
    return {
      ollama: this.#ollamaHealth,
      ...(builtin ? { builtin: { ...builtin, serving: builtin.reachable } } : {}),
      defaultModel: this.defaultModel(),
      serving: this.#ollamaHealth.reachable || (builtin?.reachable ?? false),
    };
  }

  async list(signal?: AbortSignal): Promise<ModelInfo[]> {
    const { ollama, builtin } = this.#options;
    const [fromOllama, fromBuiltin] = await Promise.allSettled([
      ollama.list(signal),
      builtin ? builtin.list(signal) : Promise.resolve([]),
    ]);
    this.#noteOllama(fromOllama);
    if (fromBuiltin.status === "rejected") throw fromBuiltin.reason;
    if (fromOllama.status === "rejected") {
      // Without built-in models there is nothing to offer: say why Ollama failed.
      if (!builtin) throw fromOllama.reason;
      return fromBuiltin.value;
    }
    return [...fromOllama.value, ...fromBuiltin.value];
  }

  async loaded(signal?: AbortSignal): Promise<LoadedModel[]> {
    const { ollama, builtin } = this.#options;
    const results = await Promise.allSettled([
      ollama.loaded(signal),
      builtin ? builtin.loaded(signal) : Promise.resolve([]),
    ]);
    return results.flatMap((r) => r.status === "fulfilled" ? r.value : []);
  }

  load(
    model: string,
    signal?: AbortSignal,
    onProgress?: (progress: LoadProgress) => void,
  ): Promise<void> {
    return this.#pick(model).load(model, signal, onProgress);
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk> {
    return this.#pick(request.model).chat(request, signal);
  }

  pull(name: string, signal: AbortSignal): AsyncIterable<PullProgress> {
    return this.#pick(name).pull(name, signal);
  }

  remove(name: string, signal?: AbortSignal): Promise<void> {
    return this.#pick(name).remove(name, signal);
  }

  unload(name: string, signal?: AbortSignal): Promise<void> {
    return this.#pick(name).unload(name, signal);
  }

  async health(signal?: AbortSignal): Promise<Health> {
    this.#ollamaHealth = await this.#options.ollama.health(signal);
    return this.#ollamaHealth;
  }

  #pick(model: string): Backend & ModelManagement {
    if (!model.startsWith(BUILTIN_PREFIX)) return this.#options.ollama;
    if (this.#options.builtin) return this.#options.builtin;
    throw new BackendError(
      "not_found",
      `"${model}" is a built-in model, and built-in models are turned off (BUILTIN_MODELS=off).`,
    );
  }

  async #probe(): Promise<void> {
    this.#ollamaHealth = await this.#options.ollama.health();
  }

  #noteOllama(result: PromiseSettledResult<unknown>): void {
    if (result.status === "fulfilled") {
      if (!this.#ollamaHealth.reachable) this.#ollamaHealth = { reachable: true };
    } else if (result.reason instanceof BackendError && result.reason.kind === "unreachable") {
      this.#ollamaHealth = { reachable: false, reason: result.reason.message };
    }
  }
}
