/**
 * What the conversation routes share: the one mapping from {@link StoreError} to
 * {@link HttpError}, the JSON shapes of a conversation and a message, query-parameter parsing,
 * and search snippets as safe HTML.
 */
import { messageError } from "./store/export.ts";
import { HttpError } from "./server/http_error.ts";
import type { Context } from "./server/types.ts";
import {
  type Conversation,
  MARK_END,
  MARK_START,
  MAX_ID_LENGTH,
  type Message,
  type SearchHit,
  StoreError,
} from "./store/store.ts";

/** A conversation as the API shows it; times are milliseconds since the epoch. */
export interface ConversationJson {
  readonly id: string;
  readonly title: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface MessageJson {
  readonly id: string;
  readonly parentId: string | null;
  readonly role: Message["role"];
  readonly content: string;
  readonly thinking: string;
  readonly model: string | null;
  readonly state: Message["state"];
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly stats: Message["stats"];
  readonly lastSeq: number;
  readonly createdAt: number;
}

export interface SearchHitJson extends Omit<SearchHit, "snippet"> {
  /** HTML: the text escaped, each match inside `<mark>`…`</mark>`. */
  readonly snippet: string;
}

const STATUS = { not_found: 404, conflict: 409, invalid: 400 } as const;

/**
 * Rethrows a {@link StoreError} as the matching {@link HttpError} (404 `not_found`, 409
 * `conflict`, 400 `invalid` or the code given for it); anything else as is.
 */
export function asStoreHttpError(error: unknown, invalidCode = "invalid"): unknown {
  if (!(error instanceof StoreError)) return error;
  const code = error.code === "invalid" ? invalidCode : error.code;
  return new HttpError(STATUS[error.code], code, error.message);
}

/** Runs a store call, turning its errors into HTTP ones. */
export async function storeCall<T>(call: () => Promise<T>, invalidCode?: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asStoreHttpError(error, invalidCode);
  }
}

/**
 * The `:id` of the URL, decoded. An id that cannot exist (too long, badly encoded) is simply
 * not found, like any other unknown id.
 */
export function idParam(ctx: Context<unknown>, name = "id"): string {
  let id = "";
  try {
    id = decodeURIComponent(ctx.params[name] ?? "");
  } catch {
    // a malformed escape: not an id of ours
  }
  if (id === "" || id.length > MAX_ID_LENGTH) {
    throw new HttpError(404, "not_found", `No conversation ${JSON.stringify(id.slice(0, 64))}.`);
  }
  return id;
}

/**
 * An optional whole-number query parameter: `fallback` when absent, at most `max` (larger
 * values are lowered to it), 400 `invalid_query` for anything but a whole number from 1.
 */
export function limitParam(url: URL, fallback: number, max: number, name = "limit"): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < 1) {
    throw new HttpError(400, "invalid_query", `${name} must be a whole number from 1 to ${max}.`);
  }
  return Math.min(value, max);
}

export function conversationJson(c: Conversation): ConversationJson {
  return { id: c.id, title: c.title, createdAt: c.createdAt, updatedAt: c.updatedAt };
}

export function messageJson(m: Message): MessageJson {
  return {
    id: m.id,
    parentId: m.parentId,
    role: m.role,
    content: m.content,
    thinking: m.thinking,
    model: m.model,
    state: m.state,
    error: messageError(m),
    stats: m.stats,
    lastSeq: m.lastSeq,
    createdAt: m.createdAt,
  };
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * A store snippet as HTML: the text escaped first, then each {@link MARK_START}…
 * {@link MARK_END} pair turned into `<mark>`…`</mark>`. Markers are balanced even when the
 * store's are not (a stray end is dropped, an open mark is closed), so the HTML is well formed.
 */
export function snippetHtml(snippet: string): string {
  let html = "";
  let open = false;
  for (const part of snippet.split(new RegExp(`([${MARK_START}${MARK_END}])`))) {
    if (part === MARK_START) {
      if (!open) html += "<mark>";
      open = true;
    } else if (part === MARK_END) {
      if (open) html += "</mark>";
      open = false;
    } else {
      html += escapeHtml(part);
    }
  }
  return open ? html + "</mark>" : html;
}

export function searchHitJson(hit: SearchHit): SearchHitJson {
  return {
    conversationId: hit.conversationId,
    title: hit.title,
    messageId: hit.messageId,
    role: hit.role,
    snippet: snippetHtml(hit.snippet),
    createdAt: hit.createdAt,
  };
}

/**
 * A file name for a download: the title lowered to ASCII letters, digits and dashes (accents
 * dropped), at most 60 characters, `conversation` when nothing is left.
 */
export function slugOf(title: string): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/, "");
  return slug === "" ? "conversation" : slug;
}
