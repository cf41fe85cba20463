/** The island's two HTTP calls: the model list and loading a model into memory. */
import type { ModelOption } from "./state.ts";

export type ApiResult<T> = { readonly ok: true; readonly value: T } | {
  readonly ok: false;
  readonly message: string;
};

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
}

async function errorMessage(response: Response, what: string): Promise<string> {
  try {
    const body = (await response.json()) as ErrorBody;
    if (typeof body?.error?.message === "string" && body.error.message) return body.error.message;
  } catch {
    // not JSON: fall through
  }
  return `${what} failed (HTTP ${response.status}).`;
}

function networkMessage(error: unknown, what: string): string {
  const detail = error instanceof Error && error.message ? ` (${error.message})` : "";
  return `${what} failed: the server could not be reached${detail}.`;
}

function isModel(value: unknown): value is ModelOption {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string";
}

export async function fetchModels(
  signal?: AbortSignal,
): Promise<ApiResult<{ models: ModelOption[]; defaultModel?: string }>> {
  let response: Response;
  try {
    response = await fetch("/api/models", {
      headers: { accept: "application/json" },
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    return { ok: false, message: networkMessage(error, "Listing the models") };
  }
  if (!response.ok) {
    return { ok: false, message: await errorMessage(response, "Listing the models") };
  }
  try {
    const body = (await response.json()) as { models?: unknown; defaultModel?: unknown };
    const models = Array.isArray(body.models) ? body.models.filter(isModel) : [];
    return typeof body.defaultModel === "string"
      ? { ok: true, value: { models, defaultModel: body.defaultModel } }
      : { ok: true, value: { models } };
  } catch {
    return { ok: false, message: "Listing the models failed: the server sent no JSON." };
  }
}

export interface LoadProgress {
  readonly status: string;
  readonly completed?: number;
  readonly total?: number;
}

/**
 * Loads a model into memory. The server streams progress lines (a built-in model may have to
 * be downloaded first), then `{"model","loaded":true}` or `{"error"}` as the last line.
 */
export async function loadModel(
  model: string,
  onProgress: (progress: LoadProgress) => void,
  signal?: AbortSignal,
): Promise<ApiResult<string>> {
  let response: Response;
  try {
    response = await fetch("/api/models/load", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({ model }),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    return { ok: false, message: networkMessage(error, `Loading ${model}`) };
  }
  if (!response.ok) return { ok: false, message: await errorMessage(response, `Loading ${model}`) };
  if (!response.body) return { ok: true, value: model };
  let last: { model?: unknown; error?: { message?: unknown } } = {};
  try {
    let buffer = "";
    for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        const value = JSON.parse(line);
        if (value?.progress && typeof value.progress.status === "string") {
          onProgress(value.progress);
        } else last = value;
      }
    }
    if (buffer.trim()) last = JSON.parse(buffer);
  } catch (error) {
    return { ok: false, message: networkMessage(error, `Loading ${model}`) };
  }
  if (last.error) {
    return {
      ok: false,
      message: typeof last.error.message === "string"
        ? last.error.message
        : `Loading ${model} failed.`,
    };
  }
  return { ok: true, value: typeof last.model === "string" ? last.model : model };
}
