/**
 * The models folder as a {@link ModelLibrary}: catalogue models (fetched on demand) and any
 * `.gguf` a person drops in. A catalogue file is hashed in full once, when fetched or first
 * seen; `.verified.json` remembers its size and mtime so later starts trust it without reading
 * 100 MB again.
 */

import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import {
  BUILTIN_PREFIX,
  type EnsureOptions,
  type FetchProgress,
  type LocalModel,
  type ModelLibrary,
} from "./library.ts";
import { CATALOGUE, type CatalogueModel } from "./catalogue.ts";
import { fetchModel, type FetchOptions } from "./fetch.ts";

export interface ModelLibraryOptions {
  /** The models folder, e.g. `<DATA_DIR>/models`; created on the first fetch. */
  readonly dir: string;
  readonly catalogue?: readonly CatalogueModel[];
  /** Passed to every fetch (timeouts, pip, `onSourceFailed` for logging). */
  readonly fetchOptions?: Omit<FetchOptions, "signal" | "onProgress">;
}

/** A name that is neither in the catalogue nor a file in the folder. */
export class UnknownModelError extends Error {
  override name = "UnknownModelError";
  constructor(readonly model: string) {
    super(`unknown built-in model: ${model}`);
  }
}

interface Verified {
  size: number;
  mtimeMs: number;
  sha256: string;
}

const VERIFIED_FILE = ".verified.json";

interface Download {
  promise: Promise<string>;
  controller: AbortController;
  listeners: Set<(progress: FetchProgress) => void>;
  waiting: number;
}

export function createModelLibrary(options: ModelLibraryOptions): ModelLibrary {
  const dir = resolve(options.dir);
  const catalogue = options.catalogue ?? CATALOGUE;
  const downloads = new Map<string, Download>();

  const pathOf = (model: CatalogueModel) => join(dir, model.file);

  async function readVerified(): Promise<Record<string, Verified>> {
    try {
      const value = JSON.parse(await Deno.readTextFile(join(dir, VERIFIED_FILE)));
      return value && typeof value === "object" ? value : {};
    } catch {
      // Missing or damaged: files are simply hashed again.
      return {};
    }
  }

  async function writeVerified(update: (records: Record<string, Verified>) => void) {
    const records = await readVerified();
    update(records);
    const temp = join(dir, `${VERIFIED_FILE}.${crypto.randomUUID()}.tmp`);
    await Deno.writeTextFile(temp, JSON.stringify(records, null, 2) + "\n");
    await Deno.rename(temp, join(dir, VERIFIED_FILE));
  }

  async function record(model: CatalogueModel): Promise<void> {
    const info = await Deno.stat(pathOf(model));
    await writeVerified((records) => {
      records[model.file] = {
        size: info.size,
        mtimeMs: info.mtime?.getTime() ?? 0,
        sha256: model.sha256,
      };
    });
  }

  /** Whether the catalogue file present is the right one, hashing it only when unrecorded. */
  async function isVerified(model: CatalogueModel): Promise<boolean> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(pathOf(model));
    } catch {
      return false;
    }
    if (!info.isFile || info.size !== model.size) return false;
    const known = (await readVerified())[model.file];
    if (
      known?.size === info.size && known.mtimeMs === (info.mtime?.getTime() ?? 0) &&
      known.sha256 === model.sha256
    ) {
      return true;
    }
    if (await sha256File(pathOf(model)) !== model.sha256) return false;
    await record(model);
    return true;
  }

  async function folderFiles(): Promise<{ file: string; size: number }[]> {
    const files: { file: string; size: number }[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.name.toLowerCase().endsWith(".gguf") || entry.name.startsWith(".")) continue;
        const info = await Deno.stat(join(dir, entry.name)).catch(() => undefined);
        if (info?.isFile) files.push({ file: entry.name, size: info.size });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return files.sort((a, b) => a.file.localeCompare(b.file));
  }

  /** Dropped-in files, minus catalogue files and names the catalogue already uses. */
  async function droppedIn(): Promise<LocalModel[]> {
    const taken = new Set(catalogue.map((m) => m.name));
    const catalogueFiles = new Set(catalogue.map((m) => m.file));
    const models: LocalModel[] = [];
    for (const { file, size } of await folderFiles()) {
      if (catalogueFiles.has(file)) continue;
      const stem = file.replace(/\.gguf$/i, "");
      const name = `${BUILTIN_PREFIX}${stem.toLowerCase()}`;
      if (taken.has(name)) continue;
      taken.add(name);
      models.push({
        name,
        title: stem,
        size,
        ...guessFromFileName(stem),
        path: join(dir, file),
        origin: "folder",
      });
    }
    return models;
  }

  async function catalogueEntry(name: string): Promise<CatalogueModel | LocalModel> {
    const model = catalogue.find((m) => m.name === name);
    if (model) return model;
    const dropped = (await droppedIn()).find((m) => m.name === name);
    if (dropped) return dropped;
    throw new UnknownModelError(name);
  }

  function download(model: CatalogueModel): Download {
    const controller = new AbortController();
    const listeners = new Set<(progress: FetchProgress) => void>();
    const promise = (async () => {
      if (await isVerified(model)) return pathOf(model);
      const path = await fetchModel(model, dir, {
        ...options.fetchOptions,
        signal: controller.signal,
        onProgress: (progress) => {
          for (const listener of listeners) listener(progress);
        },
      });
      await record(model);
      return path;
    })();
    const entry: Download = { promise, controller, listeners, waiting: 0 };
    const forget = () => {
      if (downloads.get(model.name) === entry) downloads.delete(model.name);
    };
    promise.then(forget, forget);
    return entry;
  }

  return {
    async list() {
      const models: LocalModel[] = [];
      for (const model of catalogue) {
        let present = false;
        try {
          // Size only: a full hash is for ensure(), not for every listing.
          present = (await Deno.stat(pathOf(model))).size === model.size;
        } catch {
          present = false;
        }
        models.push({
          name: model.name,
          title: model.title,
          size: model.size,
          parameterSize: model.parameterSize,
          quantization: model.quantization,
          path: present ? pathOf(model) : undefined,
          origin: "catalogue",
        });
      }
      return [...models, ...await droppedIn()];
    },

    async ensure(name: string, ensureOptions: EnsureOptions = {}) {
      const { signal, onProgress } = ensureOptions;
      signal?.throwIfAborted();
      const model = await catalogueEntry(name);
      if (!("sha256" in model)) return model.path!;

      let entry = downloads.get(name);
      if (!entry) {
        entry = download(model);
        downloads.set(name, entry);
      }
      const shared = entry;
      shared.waiting++;
      if (onProgress) shared.listeners.add(onProgress);
      let leave!: () => void;
      const left = new Promise<never>((_, reject) => {
        leave = () => reject(signal?.reason);
      });
      // The download is shared: it stops only once every caller waiting for it has gone.
      const onAbort = () => {
        shared.waiting--;
        if (onProgress) shared.listeners.delete(onProgress);
        if (shared.waiting === 0) shared.controller.abort(signal?.reason);
        leave();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        return await (signal ? Promise.race([shared.promise, left]) : shared.promise);
      } finally {
        if (!signal?.aborted) {
          shared.waiting--;
          if (onProgress) shared.listeners.delete(onProgress);
        }
        signal?.removeEventListener("abort", onAbort);
      }
    },

    async remove(name: string) {
      const model = await catalogueEntry(name);
      const file = "sha256" in model ? model.file : model.path!.slice(dir.length + 1);
      try {
        await Deno.remove(join(dir, file));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      if ("sha256" in model) {
        await writeVerified((records) => delete records[file]).catch(() => {});
      }
    },
  };
}

/** `135M`, `1.5B`… and `Q4_K_M`, `IQ2_XXS`, `F16`… as model files are usually named. */
export function guessFromFileName(stem: string): { parameterSize: string; quantization: string } {
  const size = /(?:^|[-_.])(\d+(?:\.\d+)?[MBK])(?=$|[-_.])/i.exec(stem);
  const quant = /(?:^|[-_.])(I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32)(?=$|[-_.])/i.exec(stem);
  return {
    parameterSize: size ? size[1]!.toUpperCase() : "",
    quantization: quant ? quant[1]!.toUpperCase() : "",
  };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  // The stream closes the file when it ends or fails.
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}
