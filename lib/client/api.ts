/**
 * The island's HTTP calls: the model list, loading a model into memory, and the stored
 * conversations (list, read, rename, delete and restore, import, search).
 */
import type { ConversationSummary } from "./conversations.ts";
import type { ModelOption, StoredConversation } from "./state.ts";

export type ApiResult<T> = { readonly ok: true; readonly value: T } | {
  readonly ok: false;
  readonly message: string;
};

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
}

/** The server's JSON error message, or one naming `what` and the status. */
export async function errorMessage(response: Response, what: string): Promise<string> {
  try {
    const body = (await response.json()) as ErrorBody;
    if (typeof body?.error?.message === "string" && body.error.message) return body.error.message;
  } catch {
    // not JSON: fall through
  }
  return `${what} failed (HTTP ${response.status}).`;
}

/** What to say when the request never reached the server. */
export function networkMessage(error: unknown, what: string): string {
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

// ---------------------------------------------------------------------------------------------
// Stored conversations

async function call<T>(
  url: string,
  what: string,
  init: RequestInit = {},
  parse: (body: unknown) => T | undefined = (body) => body as T,
): Promise<ApiResult<T> & { status?: number }> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      headers: { accept: "application/json", ...(init.headers ?? {}) },
    });
  } catch (error) {
    if (init.signal?.aborted) return { ok: false, message: "aborted", status: 0 };
    return { ok: false, message: networkMessage(error, what) };
  }
  if (!response.ok) {
    return { ok: false, message: await errorMessage(response, what), status: response.status };
  }
  try {
    const value = parse(await response.json());
    if (value !== undefined) return { ok: true, value };
  } catch {
    // fall through
  }
  return { ok: false, message: `${what} failed: the server sent an unexpected answer.` };
}

function isSummary(value: unknown): value is ConversationSummary {
  const v = value as Partial<ConversationSummary> | null;
  return typeof v === "object" && v !== null && typeof v.id === "string" &&
    typeof v.title === "string";
}

export interface ConversationPage {
  readonly items: ConversationSummary[];
  readonly nextCursor: string | null;
}

export function listConversations(
  cursor: string | null,
  limit = 30,
  signal?: AbortSignal,
): Promise<ApiResult<ConversationPage>> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return call(
    `/api/conversations?${query}`,
    "Listing the conversations",
    signal ? { signal } : {},
    (body) => {
      const b = body as { items?: unknown; nextCursor?: unknown };
      if (!Array.isArray(b?.items)) return undefined;
      return {
        items: b.items.filter(isSummary),
        nextCursor: typeof b.nextCursor === "string" ? b.nextCursor : null,
      };
    },
  );
}

const conversationUrl = (id: string) => `/api/conversations/${encodeURIComponent(id)}`;

export function getConversation(
  id: string,
  signal?: AbortSignal,
): Promise<ApiResult<StoredConversation> & { status?: number }> {
  return call(
    conversationUrl(id),
    "Loading the conversation",
    signal ? { signal } : {},
    (body) => {
      const b = body as Partial<StoredConversation>;
      return isSummary(b?.conversation) && Array.isArray(b.messages)
        ? b as StoredConversation
        : undefined;
    },
  );
}

const jsonBody = (body: unknown): RequestInit => ({
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

export function renameConversation(
  id: string,
  title: string,
): Promise<ApiResult<ConversationSummary>> {
  return call(
    conversationUrl(id),
    "Renaming the conversation",
    { method: "PATCH", ...jsonBody({ title }) },
    (body) => isSummary(body) ? body : undefined,
  );
}

export function deleteConversation(id: string): Promise<ApiResult<{ undoWithinMs: number }>> {
  return call(conversationUrl(id), "Deleting the conversation", { method: "DELETE" }, (body) => {
    const ms = (body as { undoWithinMs?: unknown })?.undoWithinMs;
    return { undoWithinMs: typeof ms === "number" && ms > 0 ? ms : 10_000 };
  });
}

export function restoreConversation(id: string): Promise<ApiResult<ConversationSummary>> {
  return call(
    `${conversationUrl(id)}/restore`,
    "Restoring the conversation",
    { method: "POST" },
    (body) => isSummary(body) ? body : undefined,
  );
}

export function exportUrl(id: string, format: "json" | "markdown"): string {
  return `${conversationUrl(id)}/export?format=${format}`;
}

/** Imports an export file (its text, sent as it is); the server checks it. */
export function importConversation(text: string): Promise<ApiResult<ConversationSummary>> {
  return call(
    "/api/conversations/import",
    "Importing the conversation",
    { method: "POST", headers: { "content-type": "application/json" }, body: text },
    (body) => {
      const c = (body as { conversation?: unknown })?.conversation;
      return isSummary(c) ? c : undefined;
    },
  );
}

export interface SearchHit {
  readonly conversationId: string;
  readonly title: string;
  readonly messageId: string;
  readonly role: string;
  /** HTML from the server: escaped text, matches in `<mark>`. */
  readonly snippet: string;
  readonly createdAt: number;
}

export function searchConversations(
  q: string,
  signal?: AbortSignal,
): Promise<ApiResult<SearchHit[]>> {
  return call(
    `/api/search?${new URLSearchParams({ q })}`,
    "Searching",
    signal ? { signal } : {},
    (body) => {
      const hits = (body as { hits?: unknown })?.hits;
      return Array.isArray(hits)
        ? hits.filter((h): h is SearchHit =>
          typeof h?.conversationId === "string" && typeof h?.messageId === "string" &&
          typeof h?.snippet === "string"
        )
        : undefined;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Messages

const messageUrl = (conversationId: string, messageId: string) =>
  `${conversationUrl(conversationId)}/messages/${encodeURIComponent(messageId)}`;

/** Deletes a message with what follows from it; undo with {@link restoreMessage}. */
export function deleteMessage(
  conversationId: string,
  messageId: string,
): Promise<ApiResult<{ undoWithinMs: number }>> {
  return call(
    messageUrl(conversationId, messageId),
    "Deleting the message",
    { method: "DELETE" },
    (body) => {
      const ms = (body as { undoWithinMs?: unknown })?.undoWithinMs;
      return { undoWithinMs: typeof ms === "number" && ms > 0 ? ms : 10_000 };
    },
  );
}

export function restoreMessage(
  conversationId: string,
  messageId: string,
): Promise<ApiResult<{ restored: number }>> {
  return call(
    `${messageUrl(conversationId, messageId)}/restore`,
    "Restoring the message",
    { method: "POST" },
    (body) => {
      const n = (body as { restored?: unknown })?.restored;
      return typeof n === "number" ? { restored: n } : undefined;
    },
  );
}
