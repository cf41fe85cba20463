/**
 * The conversation store: one interface, one implementation per database (`sqlite.ts`,
 * `postgres.ts`), one folder of migrations shared by both. See docs/store.md.
 *
 * Every method takes the owner first and every query filters by it: a conversation or message
 * of another owner behaves exactly like one that does not exist (`not_found`).
 *
 * @example
 * ```ts
 * const store = await openStore({ dataDir: "./data" });
 * const chat = await store.createConversation(owner, { title: "Tea" });
 * const question = await store.addMessage(owner, { conversationId: chat.id, parentId: null,
 *   role: "user", content: "Green or black?" });
 * const answer = await store.startAnswer(owner, { conversationId: chat.id,
 *   parentId: question.id, model: "llama3.2" });
 * await store.appendAnswer(owner, answer.id, { content: "Green.", seq: 1 });
 * await store.updateAnswer(owner, answer.id, { state: "complete" });
 * ```
 */

import type { ConversationExport } from "./export.ts";

export type Role = "system" | "user" | "assistant";

/** `streaming` while the model writes; the others are final. Non-answers are `complete`. */
export type MessageState = "streaming" | "complete" | "stopped" | "interrupted" | "error";

export const ROLES: readonly Role[] = ["system", "user", "assistant"];
export const STATES: readonly MessageState[] = [
  "streaming",
  "complete",
  "stopped",
  "interrupted",
  "error",
];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Times are milliseconds since the epoch. */
export interface Conversation {
  readonly id: string;
  readonly ownerId: string;
  readonly title: string;
  readonly createdAt: number;
  /** Bumped when a message is added, so lists show the latest activity first. */
  readonly updatedAt: number;
  /** Set by {@link Store.deleteConversation}; deleted conversations are hidden but restorable. */
  readonly deletedAt: number | null;
}

export interface Message {
  readonly id: string;
  readonly conversationId: string;
  readonly ownerId: string;
  /** `null` for a first message; siblings (same parent) are versions of one turn. */
  readonly parentId: string | null;
  readonly role: Role;
  readonly content: string;
  readonly thinking: string;
  readonly model: string | null;
  readonly state: MessageState;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly stats: JsonObject | null;
  /** The seq of the last delta written into this answer (0 before the first). */
  readonly lastSeq: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewConversation {
  /** A caller-made id; one is generated (a time-ordered UUID) when absent. */
  readonly id?: string;
  readonly title?: string;
}

export interface NewMessage {
  readonly id?: string;
  readonly conversationId: string;
  /** Must be a message of the same conversation, or `null`. */
  readonly parentId: string | null;
  readonly role: Role;
  readonly content?: string;
  readonly thinking?: string;
  readonly model?: string | null;
  /** Defaults to `complete`; an answer being written is `streaming` (see startAnswer). */
  readonly state?: MessageState;
}

export interface NewAnswer {
  readonly id?: string;
  readonly conversationId: string;
  readonly parentId: string | null;
  readonly model: string;
}

/** New text of a streaming answer, appended to what is stored. */
export interface AnswerDelta {
  readonly content?: string;
  readonly thinking?: string;
  /** Applied only when greater than the stored `lastSeq`, so a repeated flush is harmless. */
  readonly seq: number;
}

/** Fields of an answer to overwrite; absent fields keep their value. */
export interface AnswerPatch {
  readonly content?: string;
  readonly thinking?: string;
  readonly lastSeq?: number;
  readonly state?: MessageState;
  readonly model?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly stats?: JsonObject;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass to the next call for the following page; `null` on the last page. */
  readonly nextCursor: string | null;
}

export interface ListOptions {
  /** 1 to {@link MAX_PAGE}; {@link DEFAULT_PAGE} when absent. */
  readonly limit?: number;
  readonly cursor?: string | null;
}

export interface SearchHit {
  readonly conversationId: string;
  readonly title: string;
  readonly messageId: string;
  readonly role: Role;
  /** Part of the message with each match between {@link MARK_START} and {@link MARK_END}. */
  readonly snippet: string;
  readonly createdAt: number;
}

export interface ImportResult {
  readonly conversation: Conversation;
  readonly inserted: number;
  /** Messages already present (same id), left as they are. */
  readonly skipped: number;
  /** True when the ids belonged to another owner and fresh ones were derived. */
  readonly remapped: boolean;
}

/**
 * How a conversation is answered. Every field is optional: absent means "the configured
 * default", so a default changed later reaches every conversation that did not set its own.
 * The store checks only the fixed ranges; lib/settings.ts adds the configurable limits.
 */
export interface GenerationSettings {
  readonly model?: string;
  readonly systemPrompt?: string;
  /** 0 to 2. */
  readonly temperature?: number;
  /** 0 to 1. */
  readonly topP?: number;
  /** A whole number, at least 1. */
  readonly topK?: number;
  /** The context window in tokens: a whole number, at least 1. */
  readonly numCtx?: number;
}

export const SETTING_KEYS = [
  "model",
  "systemPrompt",
  "temperature",
  "topP",
  "topK",
  "numCtx",
] as const satisfies readonly (keyof GenerationSettings)[];

/** A named set of settings an owner can apply to any conversation. Names are unique per owner. */
export interface Preset {
  readonly id: string;
  readonly ownerId: string;
  readonly name: string;
  readonly settings: GenerationSettings;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewPreset {
  readonly name: string;
  readonly settings: GenerationSettings;
}

/** Fields of a preset to overwrite; absent fields keep their value. */
export interface PresetPatch {
  readonly name?: string;
  readonly settings?: GenerationSettings;
}

/** Control characters that never occur in text a person typed, turned into `<mark>` later. */
export const MARK_START = "\u0001";
export const MARK_END = "\u0002";
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;
export const MAX_SEARCH = 100;
export const MAX_ID_LENGTH = 128;

export interface Store {
  /** Which database answers: for logs and the health route. */
  readonly kind: "sqlite" | "postgres";

  /** @throws StoreError `conflict` when the id is taken, `invalid` for a bad id or title. */
  createConversation(ownerId: string, input?: NewConversation): Promise<Conversation>;
  /** A soft-deleted conversation is `not_found` unless `includeDeleted`. */
  getConversation(
    ownerId: string,
    id: string,
    options?: { includeDeleted?: boolean },
  ): Promise<Conversation>;
  /** Newest activity first, without deleted ones; keyset pages stay fast at any depth. */
  listConversations(ownerId: string, options?: ListOptions): Promise<Page<Conversation>>;
  renameConversation(ownerId: string, id: string, title: string): Promise<Conversation>;
  /** Soft delete: hidden from lists and search until restored or purged. */
  deleteConversation(ownerId: string, id: string): Promise<void>;
  restoreConversation(ownerId: string, id: string): Promise<Conversation>;
  /**
   * Removes for real conversations deleted before `olderThan` (ms), with their messages. A
   * maintenance task: every owner unless `ownerId` is given. Returns how many were removed.
   */
  purgeDeleted(olderThan: number, ownerId?: string): Promise<number>;

  /** Appends one row and bumps the conversation's `updatedAt`. */
  addMessage(ownerId: string, input: NewMessage): Promise<Message>;
  /** An assistant message in state `streaming`, written before the first token. */
  startAnswer(ownerId: string, input: NewAnswer): Promise<Message>;
  getMessage(ownerId: string, id: string): Promise<Message>;
  /** Every message of the conversation (all branches), oldest first. */
  listMessages(ownerId: string, conversationId: string): Promise<Message[]>;
  /** The messages whose parent is `parentId` (`null`: the first ones): versions, oldest first. */
  children(ownerId: string, conversationId: string, parentId: string | null): Promise<Message[]>;

  /**
   * Deletes a message with everything that follows from it: its subtree (a prompt takes its
   * answers and the later turns of their branches with it; an answer takes the turns after it).
   * Its other versions (siblings) stay, so the page shows one of those in its place. The rows
   * are removed for real and returned, parents first, for {@link Store.restoreMessages} (undo).
   * @throws StoreError `not_found` when the owner has no such message in a live conversation,
   * `conflict` when an answer in the subtree is still streaming (stop it first).
   */
  deleteMessage(ownerId: string, id: string): Promise<Message[]>;
  /**
   * Puts back rows that {@link Store.deleteMessage} returned, with their ids and times. Rows
   * already present are skipped; returns how many were written.
   * @throws StoreError `not_found` when their conversation is gone, `invalid` when the rows are
   * not one subtree of one conversation of this owner or its parent no longer exists.
   */
  restoreMessages(ownerId: string, messages: readonly Message[]): Promise<number>;

  /**
   * Appends streamed text in one UPDATE of one row. Returns false (and writes nothing) when
   * `seq` was already applied or the answer is no longer streaming.
   * @throws StoreError `not_found` when the owner has no such answer.
   */
  appendAnswer(ownerId: string, id: string, delta: AnswerDelta): Promise<boolean>;
  /** Overwrites the given fields of an answer in one UPDATE of one row. */
  updateAnswer(ownerId: string, id: string, patch: AnswerPatch): Promise<void>;
  /**
   * At start-up, after a crash: every `streaming` answer of every owner becomes `interrupted`.
   * Only for a single app instance; returns how many changed.
   */
  markInterrupted(): Promise<number>;

  /**
   * Full-text search over every message of the owner's live conversations, newest first.
   * Words must all match; the last one also as a prefix. Streaming answers are indexed once
   * they end. An empty query finds nothing.
   */
  search(ownerId: string, query: string, options?: { limit?: number }): Promise<SearchHit[]>;

  /** The conversation with every message, in the documented JSON shape (see export.ts). */
  exportConversation(ownerId: string, id: string): Promise<ConversationExport>;
  /**
   * Checks `data` (parsed JSON, size-limited by the caller) and writes what is missing, in one
   * transaction: rows whose ids exist are skipped, so importing twice changes nothing.
   * @throws StoreError `invalid` with a message naming the bad field; nothing is written.
   */
  importConversation(ownerId: string, data: unknown): Promise<ImportResult>;

  /**
   * The conversation's own settings (`{}` when it has none). A soft-deleted conversation keeps
   * them for a restore; a purge removes them.
   * @throws StoreError `not_found` when the owner has no such live conversation.
   */
  getSettings(ownerId: string, conversationId: string): Promise<GenerationSettings>;
  /** Replaces the conversation's settings with `settings` (absent fields: the defaults). */
  setSettings(
    ownerId: string,
    conversationId: string,
    settings: GenerationSettings,
  ): Promise<GenerationSettings>;

  /** The owner's presets, by name. */
  listPresets(ownerId: string): Promise<Preset[]>;
  /** @throws StoreError `conflict` when the owner has a preset of that name. */
  createPreset(ownerId: string, input: NewPreset): Promise<Preset>;
  /** @throws StoreError `not_found`, or `conflict` when renamed onto another preset's name. */
  updatePreset(ownerId: string, id: string, patch: PresetPatch): Promise<Preset>;
  deletePreset(ownerId: string, id: string): Promise<void>;

  /** Applied migration versions, ascending. */
  schemaVersions(): Promise<number[]>;
  close(): Promise<void>;
}

export type StoreErrorCode = "not_found" | "conflict" | "invalid";

/** The one error the store throws on purpose; map `code` to 404, 409 and 400. */
export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers both implementations share, so they cannot disagree.

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7: time-ordered, so ids sort like creation and siblings made within one millisecond
 * keep their order (a 12-bit counter fills the first random field).
 */
export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

export function checkId(id: unknown, what: string): string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new StoreError(
      "invalid",
      `${what} must be a string of 1 to ${MAX_ID_LENGTH} characters.`,
    );
  }
  return id;
}

export function checkTitle(title: unknown): string {
  if (typeof title !== "string" || title.length > 500) {
    throw new StoreError("invalid", "A title must be a string of at most 500 characters.");
  }
  return title;
}

export function checkNewMessage(input: NewMessage): void {
  if (input.id !== undefined) checkId(input.id, "A message id");
  checkId(input.conversationId, "conversationId");
  if (input.parentId !== null) checkId(input.parentId, "parentId");
  if (!ROLES.includes(input.role)) {
    throw new StoreError("invalid", `role must be one of ${ROLES.join(", ")}.`);
  }
  if (input.state !== undefined && !STATES.includes(input.state)) {
    throw new StoreError("invalid", `state must be one of ${STATES.join(", ")}.`);
  }
}

export function checkLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new StoreError("invalid", `limit must be an integer from 1 to ${max}, got ${limit}.`);
  }
  return limit;
}

/** Keyset cursor: the `(updatedAt, id)` of the last row of a page, opaque to callers. */
export function encodeCursor(conversation: Conversation): string {
  return btoa(`${conversation.updatedAt}:${conversation.id}`).replace(/=+$/, "");
}

export function decodeCursor(cursor: string): { updatedAt: number; id: string } {
  let text = "";
  try {
    text = atob(cursor);
  } catch {
    // falls through to the error below
  }
  const colon = text.indexOf(":");
  const updatedAt = Number(text.slice(0, colon));
  if (colon < 1 || !Number.isSafeInteger(updatedAt) || colon === text.length - 1) {
    throw new StoreError("invalid", "The cursor is not one this store returned.");
  }
  return { updatedAt, id: text.slice(colon + 1) };
}

/**
 * The words of a search, letters and digits only: both databases get the same terms and no
 * query syntax of theirs can be injected.
 */
export function searchTerms(query: string): string[] {
  return (query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 16);
}

export function parseStats(text: string | null): JsonObject | null {
  if (text === null) return null;
  const value: unknown = JSON.parse(text);
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as JsonObject
    : null;
}

export function notFound(what: string, id: string): StoreError {
  return new StoreError("not_found", `No ${what} ${JSON.stringify(id.slice(0, 64))}.`);
}

/**
 * A database row as a {@link Conversation}. Both databases name columns alike; times come as
 * numbers (SQLite) or BIGINT strings (PostgreSQL): milliseconds fit a double exactly.
 */
export function rowToConversation(row: Readonly<Record<string, unknown>>): Conversation {
  return {
    id: row.id as string,
    ownerId: row.owner_id as string,
    title: row.title as string,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  };
}

/** A database row as a {@link Message}; `stats` is decoded by the caller's dialect. */
export function rowToMessage(
  row: Readonly<Record<string, unknown>>,
  stats: JsonObject | null,
): Message {
  return {
    id: row.id as string,
    conversationId: row.conversation_id as string,
    ownerId: row.owner_id as string,
    parentId: row.parent_id as string | null,
    role: row.role as Role,
    content: row.content as string,
    thinking: row.thinking as string,
    model: row.model as string | null,
    state: row.state as MessageState,
    errorCode: row.error_code as string | null,
    errorMessage: row.error_message as string | null,
    stats,
    lastSeq: Number(row.last_seq),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The fixed ranges of each setting; lib/settings.ts names the field for people. */
export function checkSettings(settings: GenerationSettings): GenerationSettings {
  const out: { -readonly [K in keyof GenerationSettings]: GenerationSettings[K] } = {};
  const bad = (field: string, expected: string) =>
    new StoreError("invalid", `${field} must be ${expected}.`);
  const number = (field: string, value: unknown, min: number, max: number, whole: boolean) => {
    if (
      typeof value !== "number" || !Number.isFinite(value) || value < min || value > max ||
      (whole && !Number.isInteger(value))
    ) {
      throw bad(field, `${whole ? "a whole number" : "a number"} from ${min} to ${max}`);
    }
    return value;
  };
  const { model, systemPrompt, temperature, topP, topK, numCtx } = settings;
  if (model !== undefined) {
    if (typeof model !== "string" || model.length === 0 || model.length > 256) {
      throw bad("model", "a model name of 1 to 256 characters");
    }
    out.model = model;
  }
  if (systemPrompt !== undefined) {
    if (typeof systemPrompt !== "string") throw bad("systemPrompt", "a string");
    out.systemPrompt = systemPrompt;
  }
  if (temperature !== undefined) out.temperature = number("temperature", temperature, 0, 2, false);
  if (topP !== undefined) out.topP = number("topP", topP, 0, 1, false);
  if (topK !== undefined) out.topK = number("topK", topK, 1, 2 ** 31 - 1, true);
  if (numCtx !== undefined) out.numCtx = number("numCtx", numCtx, 1, 2 ** 31 - 1, true);
  return out;
}

/** A preset name: trimmed, 1 to {@link MAX_PRESET_NAME} characters. */
export function checkPresetName(name: unknown): string {
  const trimmed = typeof name === "string" ? name.trim() : "";
  const length = [...trimmed].length;
  if (length < 1 || length > MAX_PRESET_NAME) {
    throw new StoreError(
      "invalid",
      `name must be a text of 1 to ${MAX_PRESET_NAME} characters (not only spaces).`,
    );
  }
  return trimmed;
}

export const MAX_PRESET_NAME = 60;

/** The columns of a settings or preset row, in {@link SETTING_KEYS} order. */
export const SETTING_COLUMNS = [
  "model",
  "system_prompt",
  "temperature",
  "top_p",
  "top_k",
  "num_ctx",
] as const;

/** Settings as column values (NULL for a default), in {@link SETTING_COLUMNS} order. */
export function settingsValues(settings: GenerationSettings): (string | number | null)[] {
  return SETTING_KEYS.map((key) => settings[key] ?? null);
}

/** A settings or preset row's columns as {@link GenerationSettings}; NULLs are left out. */
export function rowToSettings(row: Readonly<Record<string, unknown>>): GenerationSettings {
  const out: Record<string, string | number> = {};
  SETTING_KEYS.forEach((key, i) => {
    const value = row[SETTING_COLUMNS[i]!];
    if (value === null || value === undefined) return;
    out[key] = key === "model" || key === "systemPrompt" ? String(value) : Number(value);
  });
  return out as GenerationSettings;
}

export function rowToPreset(row: Readonly<Record<string, unknown>>): Preset {
  return {
    id: row.id as string,
    ownerId: row.owner_id as string,
    name: row.name as string,
    settings: rowToSettings(row),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function presetConflict(name: string): StoreError {
  return new StoreError("conflict", `A preset named ${JSON.stringify(name)} already exists.`);
}

/**
 * Checks rows handed to {@link Store.restoreMessages} and orders them parents first: one
 * conversation, one owner, one subtree whose root's parent is `root` (checked by the caller
 * against the database).
 */
export function restoreOrder(
  ownerId: string,
  messages: readonly Message[],
): { conversationId: string; root: string | null; rows: Message[] } {
  const first = messages[0];
  if (first === undefined) throw new StoreError("invalid", "There are no messages to restore.");
  const ids = new Set(messages.map((m) => m.id));
  const roots = messages.filter((m) => m.parentId === null || !ids.has(m.parentId));
  if (
    roots.length !== 1 || ids.size !== messages.length ||
    messages.some((m) => m.ownerId !== ownerId || m.conversationId !== first.conversationId)
  ) {
    throw new StoreError(
      "invalid",
      "The messages to restore must be one subtree of one conversation of this owner.",
    );
  }
  const rows: Message[] = [];
  const placed = new Set<string>();
  let queue = [roots[0]!];
  while (queue.length) {
    rows.push(...queue);
    for (const m of queue) placed.add(m.id);
    queue = messages.filter((m) =>
      !placed.has(m.id) && m.parentId !== null && placed.has(m.parentId)
    );
  }
  return { conversationId: first.conversationId, root: roots[0]!.parentId, rows };
}
