/**
 * Model names as Ollama accepts them, checked before a name reaches Ollama or the models
 * folder: `[host[:port]/][namespace/]model[:tag]`, e.g. `llama3.2`, `qwen3:0.6b`,
 * `hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M` or `builtin/smollm2-135m`.
 *
 * The grammar is Ollama's own (types/model/name.go): each part starts with a letter, digit or
 * `_`, then letters, digits, `_`, `-` and `.` (no `.` in a namespace; `:` only in the host, for
 * a port). Part lengths are Ollama's: host up to 350, every other part up to 80. The whole
 * name is capped at {@link MAX_MODEL_NAME_LENGTH}, below what the parts allow together, so no
 * request carries a name Ollama would only refuse. No Deno or npm imports: the island uses it
 * to check the pull form before sending.
 *
 * @example
 * ```ts
 * checkModelName("llama3.2:latest"); // { ok: true, name: "llama3.2:latest" }
 * checkModelName("../etc/passwd"); // { ok: false, message: "…" }
 * ```
 */

/** The longest name accepted, in characters. */
export const MAX_MODEL_NAME_LENGTH = 256;

export type ModelNameCheck =
  | { readonly ok: true; readonly name: string }
  | { readonly ok: false; readonly message: string };

const PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const NAMESPACE = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const HOST = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

const EXPECTED = "a model name such as llama3.2, qwen3:0.6b or namespace/model:tag " +
  "(letters, digits, '_', '-' and '.', with an optional host/ and namespace/ before it and " +
  ":tag after it)";

/** Whether `value` is a model name Ollama would accept; the message says what was wrong. */
export function checkModelName(value: unknown): ModelNameCheck {
  if (typeof value !== "string" || value.trim() === "") {
    return { ok: false, message: `Expected ${EXPECTED}; got ${describe(value)}.` };
  }
  const name = value.trim();
  if (name.length > MAX_MODEL_NAME_LENGTH) {
    return {
      ok: false,
      message: `The model name is ${name.length} characters long; at most ` +
        `${MAX_MODEL_NAME_LENGTH} are allowed.`,
    };
  }
  const slash = name.lastIndexOf("/");
  const colon = name.indexOf(":", slash + 1);
  const path = colon === -1 ? name : name.slice(0, colon);
  const tag = colon === -1 ? undefined : name.slice(colon + 1);
  const parts = path.split("/");
  const model = parts.pop()!;
  const namespace = parts.pop();
  const host = parts.pop();
  const valid = parts.length === 0 &&
    fits(model, PART, 80) &&
    (tag === undefined || fits(tag, PART, 80)) &&
    (namespace === undefined || fits(namespace, NAMESPACE, 80)) &&
    (host === undefined || fits(host, HOST, 350));
  if (!valid) return { ok: false, message: `Expected ${EXPECTED}; got ${JSON.stringify(name)}.` };
  return { ok: true, name };
}

function fits(part: string, pattern: RegExp, max: number): boolean {
  return part.length >= 1 && part.length <= max && pattern.test(part);
}

function describe(value: unknown): string {
  if (typeof value === "string") return "an empty name";
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
