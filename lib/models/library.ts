/**
 * The built-in engine's model files: a catalogue of known models (each with its size, sha256
 * and the sources it can be fetched from, tried in order) plus any `.gguf` a person drops into
 * the models folder. Fetching writes to a temporary name and renames only once the digest
 * matches, so a half-written file is never taken for a model.
 */

export interface LocalModel {
  /** The name the app and the protocol use, e.g. `builtin/smollm2-135m`. */
  readonly name: string;
  /** For a person, e.g. `SmolLM2 135M Instruct`. */
  readonly title: string;
  /** Bytes of the file (expected size for one not downloaded yet). */
  readonly size: number;
  readonly parameterSize: string;
  readonly quantization: string;
  /** Absolute path when the file is present and verified; undefined when not downloaded. */
  readonly path: string | undefined;
  /** From the catalogue (fetchable), or a file dropped into the models folder. */
  readonly origin: "catalogue" | "folder";
}

export interface FetchProgress {
  readonly status: "downloading" | "verifying" | "done";
  readonly source: string;
  readonly completed: number;
  readonly total: number;
}

export interface EnsureOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: FetchProgress) => void;
}

export interface ModelLibrary {
  /** Catalogue models (downloaded or not) and dropped-in `.gguf` files. */
  list(): Promise<LocalModel[]>;
  /**
   * The path of the model's verified file, fetching it first when missing. Each failing source
   * is reported (reason) and the next one tried; throws `ModelFetchError` when all fail.
   */
  ensure(name: string, options?: EnsureOptions): Promise<string>;
  /** Deletes a downloaded file (catalogue entries stay listed, as not downloaded). */
  remove(name: string): Promise<void>;
}

/** Prefix of every built-in model's name, so it never collides with an Ollama model. */
export const BUILTIN_PREFIX = "builtin/";
