/**
 * The export format of one conversation, and the checks an import goes through before anything
 * is written. The shape is documented in docs/store.md; `version` changes only when an old
 * reader could misread a new file.
 *
 * @example
 * ```ts
 * const file = await store.exportConversation(owner, id);
 * const again = await store.importConversation(owner, JSON.parse(JSON.stringify(file)));
 * again.inserted; // 0: every id is already there
 * ```
 */
import {
  checkId,
  checkSettings,
  type Conversation,
  type GenerationSettings,
  type JsonObject,
  MAX_ID_LENGTH,
  type Message,
  type MessageState,
  type Role,
  ROLES,
  STATES,
  StoreError,
} from "./store.ts";

export const EXPORT_FORMAT = "local-llm-chat/conversation";
export const EXPORT_VERSION = 1;

export interface ExportedMessage {
  readonly id: string;
  readonly parentId: string | null;
  readonly role: Role;
  readonly content: string;
  readonly thinking: string;
  readonly model: string | null;
  readonly state: MessageState;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly stats: JsonObject | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ConversationExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: typeof EXPORT_VERSION;
  readonly exportedAt: string;
  readonly conversation: {
    readonly id: string;
    readonly title: string;
    readonly createdAt: string;
    readonly updatedAt: string;
  };
  /** Every branch; a parent always comes before its children. */
  readonly messages: readonly ExportedMessage[];
  /**
   * The conversation's own settings (see docs/settings.md); absent when it has none. Older
   * files lack it and older readers ignore it, so the version stays 1.
   */
  readonly settings?: GenerationSettings;
}

export function toExport(
  conversation: Conversation,
  messages: readonly Message[],
  settings: GenerationSettings = {},
): ConversationExport {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date().toISOString(),
    conversation: {
      id: conversation.id,
      title: conversation.title,
      createdAt: iso(conversation.createdAt),
      updatedAt: iso(conversation.updatedAt),
    },
    messages: parentsFirst(messages).map((m) => ({
      id: m.id,
      parentId: m.parentId,
      role: m.role,
      content: m.content,
      thinking: m.thinking,
      model: m.model,
      state: m.state,
      error: messageError(m),
      stats: m.stats,
      createdAt: iso(m.createdAt),
      updatedAt: iso(m.updatedAt),
    })),
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
  };
}

/** Same-millisecond clocks can put a child before its parent; a file must not. */
/** A message's error as one object, or null: how both the API and exports show it. */
export function messageError(m: Message): { code: string; message: string } | null {
  return m.errorCode === null && m.errorMessage === null
    ? null
    : { code: m.errorCode ?? "", message: m.errorMessage ?? "" };
}

function parentsFirst(messages: readonly Message[]): Message[] {
  const byParent = new Map<string | null, Message[]>();
  const ids = new Set(messages.map((m) => m.id));
  for (const m of messages) {
    const key = m.parentId !== null && ids.has(m.parentId) ? m.parentId : null;
    byParent.set(key, [...(byParent.get(key) ?? []), m]);
  }
  const out: Message[] = [];
  const stack = [...(byParent.get(null) ?? [])].reverse();
  while (stack.length > 0) {
    const m = stack.pop()!;
    out.push(m);
    stack.push(...[...(byParent.get(m.id) ?? [])].reverse());
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bad(path: string, expected: string, found: unknown): StoreError {
  const kind = found === null
    ? "null"
    : Array.isArray(found)
    ? "an array"
    : found === undefined
    ? "nothing"
    : typeof found === "string"
    ? `${JSON.stringify(found.slice(0, 40))}`
    : `a ${typeof found}`;
  return new StoreError("invalid", `Import refused: ${path} must be ${expected}, found ${kind}.`);
}

function str(record: Record<string, unknown>, key: string, path: string): string {
  const value = record[key];
  if (typeof value !== "string") throw bad(`${path}.${key}`, "a string", value);
  return value;
}

function time(record: Record<string, unknown>, key: string, path: string): string {
  const value = record[key];
  if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
    throw bad(`${path}.${key}`, "an ISO date", value);
  }
  return new Date(value).toISOString();
}

function id(record: Record<string, unknown>, key: string, path: string): string {
  const value = record[key];
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw bad(`${path}.${key}`, `an id (1 to ${MAX_ID_LENGTH} characters)`, value);
  }
  return value;
}

/**
 * Checks a parsed JSON value against the export format; the error names the first bad field,
 * e.g. `messages[3].role must be one of system, user, assistant, found "bot"`.
 */
export function parseExport(raw: unknown): ConversationExport {
  if (!isRecord(raw)) throw bad("the file", "a JSON object", raw);
  if (raw.format !== EXPORT_FORMAT) throw bad("format", JSON.stringify(EXPORT_FORMAT), raw.format);
  if (raw.version !== EXPORT_VERSION) throw bad("version", String(EXPORT_VERSION), raw.version);
  const c = raw.conversation;
  if (!isRecord(c)) throw bad("conversation", "an object", c);
  const title = str(c, "title", "conversation");
  if (title.length > 500) throw bad("conversation.title", "at most 500 characters", title);
  const conversation = {
    id: id(c, "id", "conversation"),
    title,
    createdAt: time(c, "createdAt", "conversation"),
    updatedAt: time(c, "updatedAt", "conversation"),
  };
  if (!Array.isArray(raw.messages)) throw bad("messages", "an array", raw.messages);
  const seen = new Set<string>();
  const messages = raw.messages.map((m: unknown, index): ExportedMessage => {
    const path = `messages[${index}]`;
    if (!isRecord(m)) throw bad(path, "an object", m);
    const messageId = id(m, "id", path);
    if (seen.has(messageId)) throw bad(`${path}.id`, "unique in the file", messageId);
    const parentId = m.parentId === null ? null : id(m, "parentId", path);
    if (parentId !== null && !seen.has(parentId)) {
      throw bad(`${path}.parentId`, "the id of a message earlier in the file, or null", parentId);
    }
    seen.add(messageId);
    const role = m.role;
    if (!ROLES.includes(role as Role)) throw bad(`${path}.role`, `one of ${ROLES}`, role);
    const state = m.state;
    if (!STATES.includes(state as MessageState)) {
      throw bad(`${path}.state`, `one of ${STATES}`, state);
    }
    const model = m.model === null || m.model === undefined ? null : str(m, "model", path);
    const error = m.error;
    if (error !== null && error !== undefined && !isRecord(error)) {
      throw bad(`${path}.error`, "null or {code, message}", error);
    }
    const stats = m.stats;
    if (stats !== null && stats !== undefined && !isRecord(stats)) {
      throw bad(`${path}.stats`, "null or an object", stats);
    }
    return {
      id: messageId,
      parentId,
      role: role as Role,
      content: str(m, "content", path),
      thinking: m.thinking === undefined ? "" : str(m, "thinking", path),
      model,
      // Nothing streams into an imported answer any more.
      state: state === "streaming" ? "interrupted" : state as MessageState,
      error: isRecord(error)
        ? {
          code: str(error, "code", `${path}.error`),
          message: str(error, "message", `${path}.error`),
        }
        : null,
      stats: isRecord(stats) ? stats as JsonObject : null,
      createdAt: time(m, "createdAt", path),
      updatedAt: m.updatedAt === undefined
        ? time(m, "createdAt", path)
        : time(m, "updatedAt", path),
    };
  });
  const settings = parseSettings(raw.settings);
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: typeof raw.exportedAt === "string" ? raw.exportedAt : new Date().toISOString(),
    conversation,
    messages,
    ...(settings ? { settings } : {}),
  };
}

function parseSettings(raw: unknown): GenerationSettings | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) throw bad("settings", "an object", raw);
  const known: Record<string, unknown> = {};
  for (const key of ["model", "systemPrompt", "temperature", "topP", "topK", "numCtx"]) {
    if (raw[key] !== undefined && raw[key] !== null) known[key] = raw[key];
  }
  try {
    return checkSettings(known);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    throw new StoreError("invalid", `Import refused: settings.${error.message}`);
  }
}

/** Where an id already lives in the database. */
export interface ExistingRow {
  readonly id: string;
  readonly ownerId: string;
  readonly conversationId: string;
}

/**
 * Decides the ids an import writes. When the file's conversation or any of its messages belongs
 * to another owner or another conversation, every id is replaced by one derived from the owner
 * and the old id: a second import of the same file derives the same ids and skips them all, and
 * nobody can write into, or learn about, rows they do not own.
 */
export async function resolveIds(
  data: ConversationExport,
  ownerId: string,
  lookup: (ids: string[]) => Promise<ExistingRow[]>,
): Promise<{ data: ConversationExport; remapped: boolean; existing: Set<string> }> {
  checkId(ownerId, "ownerId");
  const clash = (rows: ExistingRow[], d: ConversationExport) =>
    rows.some((r) => r.ownerId !== ownerId || r.conversationId !== d.conversation.id);
  const ids = (d: ConversationExport) => [d.conversation.id, ...d.messages.map((m) => m.id)];
  let rows = await lookup(ids(data));
  if (!clash(rows, data)) {
    return {
      data,
      remapped: false,
      existing: new Set(rows.map((r) => r.id)),
    };
  }
  const mapped = await remap(data, ownerId);
  rows = await lookup(ids(mapped));
  if (clash(rows, mapped)) {
    throw new StoreError("conflict", "Import refused: its ids clash with existing conversations.");
  }
  return { data: mapped, remapped: true, existing: new Set(rows.map((r) => r.id)) };
}

async function derivedId(ownerId: string, id: string): Promise<string> {
  const bytes = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${ownerId}\u0000${id}`)),
  ).slice(0, 16);
  bytes[6] = 0x80 | (bytes[6]! & 0x0f); // UUIDv8: custom, name-based
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

async function remap(data: ConversationExport, ownerId: string): Promise<ConversationExport> {
  const map = new Map<string, string>();
  for (const old of [data.conversation.id, ...data.messages.map((m) => m.id)]) {
    map.set(old, await derivedId(ownerId, old));
  }
  const to = (old: string) => map.get(old)!;
  return {
    ...data,
    conversation: { ...data.conversation, id: to(data.conversation.id) },
    messages: data.messages.map((m) => ({
      ...m,
      id: to(m.id),
      parentId: m.parentId === null ? null : to(m.parentId),
    })),
  };
}

/** The row an imported message becomes. */
export function importedMessage(
  m: ExportedMessage,
  conversationId: string,
  ownerId: string,
): Message {
  return {
    id: m.id,
    conversationId,
    ownerId,
    parentId: m.parentId,
    role: m.role,
    content: m.content,
    thinking: m.thinking,
    model: m.model,
    state: m.state,
    errorCode: m.error?.code ?? null,
    errorMessage: m.error?.message ?? null,
    stats: m.stats,
    lastSeq: 0,
    createdAt: Date.parse(m.createdAt),
    updatedAt: Date.parse(m.updatedAt),
  };
}
