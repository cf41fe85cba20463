/**
 * The seam between the chat and whatever runs the models. One file per model server sits
 * behind it (ollama.ts today); nothing outside lib/backends/ knows which one answered.
 * Every failure comes out as a {@link BackendError} with a {@link BackendErrorKind}.
 */

export interface ModelInfo {
  /** The name to send back in a chat request, e.g. `llama3.2:latest`. */
  readonly name: string;
  /** Bytes on disk. */
  readonly size: number;
  /** e.g. `3.2B`; empty when the backend does not say. */
  readonly parameterSize: string;
  /** e.g. `Q4_K_M`; empty when the backend does not say. */
  readonly quantization: string;
  readonly family: string;
  readonly capabilities: readonly string[];
  readonly modifiedAt?: string;
  /** Who serves it: Ollama, or the built-in engine (lib/backends/llama.ts). */
  readonly source: "ollama" | "builtin";
  /** False for a built-in model whose file is not downloaded yet (loading fetches it). */
  readonly available: boolean;
}

/** Progress of a load that has to fetch or read a model first. */
export interface LoadProgress {
  /** For a person: "downloading", "verifying", "loading". */
  readonly status: string;
  /** Bytes done and in all, when known. */
  readonly completed?: number;
  readonly total?: number;
}

export interface LoadedModel {
  readonly name: string;
  /** Bytes in memory. */
  readonly size: number;
  readonly expiresAt?: string;
}

export interface ChatTurn {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** Ollama's generation options that the app sets; unset ones keep the model's defaults. */
export interface GenerationOptions {
  readonly temperature?: number;
  readonly top_p?: number;
  readonly top_k?: number;
  readonly num_ctx?: number;
  /** Most tokens to generate; the answer then ends with reason `length`. */
  readonly num_predict?: number;
}

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatTurn[];
  readonly options?: GenerationOptions;
  /**
   * Called while the request waits for the model, with its place in the queue (1 = next), and
   * with 0 once it is being answered. Backends that never queue don't call it.
   */
  readonly onQueue?: (position: number) => void;
}

/** One piece of a streamed answer. The last one has `done` and the backend's figures. */
export type ChatChunk =
  | { readonly done: false; readonly content: string; readonly thinking: string }
  | {
    readonly done: true;
    readonly content: string;
    readonly thinking: string;
    readonly reason: "stop" | "length";
    /** Tokens generated, when known. */
    readonly evalCount?: number;
    /** Nanoseconds spent generating them, when known. */
    readonly evalDurationNs?: number;
    readonly promptEvalCount?: number;
  };

export interface Health {
  readonly reachable: boolean;
  readonly version?: string;
  /** Why the backend is unreachable, for a person. */
  readonly reason?: string;
}

export interface Backend {
  readonly name: string;
  /** Models the backend has, newest first. */
  list(signal?: AbortSignal): Promise<ModelInfo[]>;
  /** Models in memory now. */
  loaded(signal?: AbortSignal): Promise<LoadedModel[]>;
  /** Loads a model into memory (fetching its file first if need be); resolves once ready. */
  load(
    model: string,
    signal?: AbortSignal,
    onProgress?: (progress: LoadProgress) => void,
  ): Promise<void>;
  /**
   * Streams an answer. Aborting `signal` ends the request to the backend at once, also before
   * the first chunk (while the model loads); iteration then throws a `BackendError` of kind
   * `aborted`.
   */
  chat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk>;
  health(signal?: AbortSignal): Promise<Health>;
}

/** One line of a pull's progress, as Ollama reports it (the built-in engine reports alike). */
export interface PullProgress {
  /** For a person: `pulling manifest`, `pulling 6a0746a1ec1a`, `downloading`, `success`… */
  readonly status: string;
  /** The layer being fetched, when the backend works in layers. */
  readonly digest?: string;
  /** Bytes of this layer (or file) done and in all, when known. */
  readonly completed?: number;
  readonly total?: number;
}

/**
 * What the model manager does beside chatting: fetch, delete and unload models. Every backend
 * behind the {@link Backend} seam offers it; failures are {@link BackendError}s as for chat.
 */
export interface ModelManagement {
  /**
   * Fetches `name`, yielding progress until it ends with a `success` line. Aborting `signal`
   * ends the transfer at once (the backend keeps nothing half-written under the model's name);
   * iteration then throws a `BackendError` of kind `aborted`.
   */
  pull(name: string, signal: AbortSignal): AsyncIterable<PullProgress>;
  /** Deletes the model's files; `not_found` when there is no such model. */
  remove(name: string, signal?: AbortSignal): Promise<void>;
  /** Frees the model's memory now; resolves also when it was not loaded. */
  unload(name: string, signal?: AbortSignal): Promise<void>;
}

export type BackendErrorKind =
  | "unreachable"
  | "not_found"
  | "busy"
  | "timeout"
  | "broken"
  | "bad_request"
  | "aborted"
  | "failed";

/** What went wrong talking to a backend; `message` is for a person and says what to do. */
export class BackendError extends Error {
  override name = "BackendError";
  constructor(readonly kind: BackendErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
