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

export async function loadModel(model: string, signal?: AbortSignal): Promise<ApiResult<string>> {
  let response: Response;
  try {
    response = await fetch("/api/models/load", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ model }),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    return { ok: false, message: networkMessage(error, `Loading ${model}`) };
  }
  if (!response.ok) return { ok: false, message: await errorMessage(response, `Loading ${model}`) };
  try {
    const body = (await response.json()) as { model?: unknown };
    return { ok: true, value: typeof body.model === "string" ? body.model : model };
  } catch {
    return { ok: true, value: model };
  }
}
