/**
 * The model manager's HTTP calls: pull (NDJSON progress, cancelled by aborting and by asking),
 * delete and unload. Loading reuses `loadModel` (api.ts); listing reuses `fetchModels`.
 */
import { type ApiResult, errorMessage, networkMessage } from "./api.ts";

/** One progress line of a pull, as the server forwards it from Ollama. */
export interface PullLine {
  readonly status: string;
  readonly digest?: string;
  readonly completed?: number;
  readonly total?: number;
}

/** How a pull ended: `cancelled` when `signal` aborted it. */
export type PullOutcome =
  | { readonly outcome: "success" }
  | { readonly outcome: "cancelled" }
  | { readonly outcome: "error"; readonly message: string };

function isLine(value: unknown): value is PullLine {
  return typeof value === "object" && value !== null &&
    typeof (value as { status?: unknown }).status === "string";
}

/**
 * Pulls `name`, calling `onProgress` per line. Aborting `signal` closes the request, and the
 * server cancels the pull with it.
 */
export async function pullModel(
  name: string,
  onProgress: (line: PullLine) => void,
  signal: AbortSignal,
): Promise<PullOutcome> {
  const what = `Pulling ${name}`;
  try {
    const response = await fetch("/api/models/pull", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({ name }),
      signal,
    });
    if (!response.ok) {
      return { outcome: "error", message: await errorMessage(response, what) };
    }
    let buffer = "";
    let last: unknown;
    const take = (text: string) => {
      if (!text.trim()) return;
      last = JSON.parse(text);
      if (isLine(last) && last.status !== "success") onProgress(last);
    };
    // A line may arrive split across reads: only whole lines are parsed.
    for await (const text of response.body!.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) take(line);
    }
    take(buffer);
    if (isLine(last) && last.status === "success") return { outcome: "success" };
    const error = (last as { error?: { message?: unknown } } | undefined)?.error;
    return {
      outcome: "error",
      message: typeof error?.message === "string"
        ? error.message
        : `${what} stopped before it was done; try again.`,
    };
  } catch (error) {
    if (signal.aborted) return { outcome: "cancelled" };
    return { outcome: "error", message: networkMessage(error, what) };
  }
}

async function send(
  method: "POST" | "DELETE",
  url: string,
  name: string,
  what: string,
): Promise<ApiResult<string>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ name }),
    });
  } catch (error) {
    return { ok: false, message: networkMessage(error, what) };
  }
  if (!response.ok) return { ok: false, message: await errorMessage(response, what) };
  await response.body?.cancel();
  return { ok: true, value: name };
}

/**
 * Asks the server to cancel a pull of `name`, beside aborting its request: an abort alone may
 * reach the server late (a proxy's own connection, a browser reading on to reuse its own).
 */
export function cancelPull(name: string): Promise<ApiResult<string>> {
  return send("DELETE", "/api/models/pull", name, `Cancelling the pull of ${name}`);
}

/** Deletes a model (Ollama's, or a built-in model's file). */
export function deleteModel(name: string): Promise<ApiResult<string>> {
  return send("DELETE", "/api/models", name, `Deleting ${name}`);
}

/** Frees a model's memory. */
export function unloadModel(name: string): Promise<ApiResult<string>> {
  return send("POST", "/api/models/unload", name, `Unloading ${name}`);
}
