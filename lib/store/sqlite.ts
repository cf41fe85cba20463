/**
 * The store in one SQLite file, through Deno's built-in `node:sqlite`. Every statement is
 * prepared once; the calls are synchronous underneath, which suits one process writing small
 * rows (WAL lets readers go on while a write commits).
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { type ExistingRow, importedMessage, parseExport, resolveIds, toExport } from "./export.ts";
import { pending } from "./migrations/index.ts";
import {
  type AnswerDelta,
  type AnswerPatch,
  checkId,
  checkLimit,
  checkNewMessage,
  checkPresetName,
  checkSettings,
  checkTitle,
  type Conversation,
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  type GenerationSettings,
  type ImportResult,
  type ListOptions,
  MAX_PAGE,
  MAX_SEARCH,
  type Message,
  type NewAnswer,
  type NewConversation,
  newId,
  type NewMessage,
  type NewPreset,
  notFound,
  type Page,
  parseStats,
  type Preset,
  presetConflict,
  type PresetPatch,
  restoreOrder,
  type Role,
  rowToConversation,
  rowToMessage,
  rowToPreset,
  rowToSettings,
  type SearchHit,
  searchTerms,
  SETTING_COLUMNS,
  settingsValues,
  type Store,
  StoreError,
} from "./store.ts";

type Row = Record<string, SQLInputValue>;

const SETTINGS = SETTING_COLUMNS.join(", ");

const MESSAGE_COLUMNS = `id, conversation_id, owner_id, parent_id, role, content, thinking, model,
  state, error_code, error_message, stats, last_seq, created_at, updated_at`;

function toConversation(row: Row): Conversation {
  return rowToConversation(row);
}

function toMessage(row: Row): Message {
  return rowToMessage(row, parseStats(row.stats as string | null));
}

/** Opens (creating if needed) the database file and brings its schema up to date. */
export function openSqliteStore(path: string): SqliteStore {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
      PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;`);
    migrate(db);
    return new SqliteStore(db);
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const applied = () =>
    db.prepare("SELECT version FROM schema_migrations").all().map((r) => Number(r.version));
  if (pending(applied()).length === 0) return;
  // IMMEDIATE takes the write lock first, so two processes starting together apply each step once.
  transaction(db, () => {
    for (const m of pending(applied())) {
      for (const statement of m.sqlite) db.exec(statement);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
        .run(m.version, m.name, Date.now());
    }
  });
}

function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && "errcode" in error &&
    ((error as { errcode: number }).errcode & 0xff) === 19; // SQLITE_CONSTRAINT
}

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly #db: DatabaseSync;
  readonly #q: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    const live = "owner_id = ? AND deleted_at IS NULL";
    this.#q = {
      insertConversation: p(`INSERT INTO conversations (id, owner_id, title, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?)`),
      getConversation: p(`SELECT * FROM conversations WHERE id = ? AND ${live}`),
      getAnyConversation: p("SELECT * FROM conversations WHERE id = ? AND owner_id = ?"),
      firstPage: p(`SELECT * FROM conversations WHERE ${live}
        ORDER BY updated_at DESC, id DESC LIMIT ?`),
      nextPage: p(`SELECT * FROM conversations WHERE ${live} AND (updated_at, id) < (?, ?)
        ORDER BY updated_at DESC, id DESC LIMIT ?`),
      rename: p(`UPDATE conversations SET title = ? WHERE id = ? AND ${live}`),
      softDelete: p(`UPDATE conversations SET deleted_at = ? WHERE id = ? AND ${live}`),
      restore: p(`UPDATE conversations SET deleted_at = NULL WHERE id = ? AND owner_id = ?`),
      purgeAll: p("DELETE FROM conversations WHERE deleted_at < ?"),
      purgeOwner: p("DELETE FROM conversations WHERE deleted_at < ? AND owner_id = ?"),
      touch: p("UPDATE conversations SET updated_at = max(updated_at, ?) WHERE id = ?"),
      insertMessage: p(`INSERT INTO messages (${MESSAGE_COLUMNS})
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      importMessage: p(`INSERT INTO messages (${MESSAGE_COLUMNS})
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
      parentOf: p("SELECT 1 FROM messages WHERE id = ? AND conversation_id = ? AND owner_id = ?"),
      getMessage: p(`SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.id = ? AND m.owner_id = ? AND c.deleted_at IS NULL`),
      listMessages: p(`SELECT ${MESSAGE_COLUMNS} FROM messages
        WHERE conversation_id = ? AND owner_id = ? ORDER BY created_at, id`),
      roots: p(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND owner_id = ?
        AND parent_id IS NULL ORDER BY created_at, id`),
      children: p(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND owner_id = ?
        AND parent_id = ? ORDER BY created_at, id`,
      ),
      append: p(`UPDATE messages SET content = content || ?, thinking = thinking || ?, last_seq = ?,
        updated_at = ? WHERE id = ? AND owner_id = ? AND role = 'assistant'
        AND state = 'streaming' AND last_seq < ?`),
      update: p(`UPDATE messages SET content = coalesce(?, content),
        thinking = coalesce(?, thinking), last_seq = coalesce(?, last_seq),
        state = coalesce(?, state), model = coalesce(?, model),
        error_code = coalesce(?, error_code), error_message = coalesce(?, error_message),
        stats = coalesce(?, stats), updated_at = ? WHERE id = ? AND owner_id = ? AND role = 'assistant'`),
      answerExists: p(
        `SELECT 1 FROM messages WHERE id = ? AND owner_id = ? AND role = 'assistant'`,
      ),
      interrupt: p(`UPDATE messages SET state = 'interrupted', updated_at = ?
        WHERE state = 'streaming'`),
      // The FTS index walks its rowids newest first and stops at the limit: fast at any size.
      search: p(`SELECT m.conversation_id, c.title, m.id, m.role, m.created_at,
          snippet(messages_fts, 0, char(1), char(2), '…', 16) AS snippet
        FROM messages_fts JOIN messages m ON m.n = messages_fts.rowid
        JOIN conversations c ON c.id = m.conversation_id
        WHERE messages_fts MATCH ? AND m.owner_id = ? AND c.deleted_at IS NULL
        ORDER BY messages_fts.rowid DESC LIMIT ?`),
      lookup: p(`SELECT id, owner_id, id AS conversation_id FROM conversations
          WHERE id IN (SELECT value FROM json_each(?1))
        UNION ALL SELECT id, owner_id, conversation_id FROM messages
          WHERE id IN (SELECT value FROM json_each(?1))`),
      // The message and its descendants; the join on (conversation_id, parent_id) walks the
      // messages_children index one level at a time.
      subtree: p(`WITH RECURSIVE sub (id, conversation_id) AS (
          SELECT m.id, m.conversation_id FROM messages m
            JOIN conversations c ON c.id = m.conversation_id
            WHERE m.id = ? AND m.owner_id = ? AND c.deleted_at IS NULL
          UNION ALL SELECT m.id, m.conversation_id FROM messages m
            JOIN sub ON m.conversation_id = sub.conversation_id AND m.parent_id = sub.id)
        SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id IN (SELECT id FROM sub)
        ORDER BY created_at, id`),
      deleteMessages: p("DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))"),
      versions: p("SELECT version FROM schema_migrations ORDER BY version"),
      getSettings: p(`SELECT ${SETTINGS} FROM conversation_settings
        WHERE conversation_id = ? AND owner_id = ?`),
      setSettings: p(`INSERT INTO conversation_settings
          (conversation_id, owner_id, ${SETTINGS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (conversation_id) DO UPDATE SET model = excluded.model,
          system_prompt = excluded.system_prompt, temperature = excluded.temperature,
          top_p = excluded.top_p, top_k = excluded.top_k, num_ctx = excluded.num_ctx,
          updated_at = excluded.updated_at`),
      importSettings: p(`INSERT INTO conversation_settings
          (conversation_id, owner_id, ${SETTINGS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (conversation_id) DO NOTHING`),
      listPresets: p("SELECT * FROM presets WHERE owner_id = ? ORDER BY name, id"),
      getPreset: p("SELECT * FROM presets WHERE id = ? AND owner_id = ?"),
      insertPreset: p(`INSERT INTO presets (id, owner_id, name, ${SETTINGS}, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      updatePreset: p(`UPDATE presets SET name = ?, model = ?, system_prompt = ?, temperature = ?,
        top_p = ?, top_k = ?, num_ctx = ?, updated_at = ? WHERE id = ? AND owner_id = ?`),
      deletePreset: p("DELETE FROM presets WHERE id = ? AND owner_id = ?"),
    };
  }

  #conversation(ownerId: string, id: string): Conversation {
    const row = this.#q.getConversation!.get(id, ownerId);
    if (row === undefined) throw notFound("conversation", id);
    return toConversation(row);
  }

  createConversation(ownerId: string, input: NewConversation = {}): Promise<Conversation> {
    return run(() => {
      const id = input.id === undefined ? newId() : checkId(input.id, "A conversation id");
      const title = checkTitle(input.title ?? "");
      const now = Date.now();
      try {
        this.#q.insertConversation!.run(id, checkId(ownerId, "ownerId"), title, now, now);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new StoreError("conflict", "A conversation with this id already exists.");
        }
        throw error;
      }
      return { id, ownerId, title, createdAt: now, updatedAt: now, deletedAt: null };
    });
  }

  getConversation(
    ownerId: string,
    id: string,
    options: { includeDeleted?: boolean } = {},
  ): Promise<Conversation> {
    return run(() => {
      if (!options.includeDeleted) return this.#conversation(ownerId, id);
      const row = this.#q.getAnyConversation!.get(id, ownerId);
      if (row === undefined) throw notFound("conversation", id);
      return toConversation(row);
    });
  }

  listConversations(ownerId: string, options: ListOptions = {}): Promise<Page<Conversation>> {
    return run(() => {
      const limit = checkLimit(options.limit, DEFAULT_PAGE, MAX_PAGE);
      // One row more than asked tells whether another page exists without a count.
      const rows = options.cursor
        ? (() => {
          const after = decodeCursor(options.cursor);
          return this.#q.nextPage!.all(ownerId, after.updatedAt, after.id, limit + 1);
        })()
        : this.#q.firstPage!.all(ownerId, limit + 1);
      const items = rows.slice(0, limit).map(toConversation);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
    });
  }

  renameConversation(ownerId: string, id: string, title: string): Promise<Conversation> {
    return run(() => {
      const changed = this.#q.rename!.run(checkTitle(title), id, ownerId).changes;
      if (Number(changed) === 0) throw notFound("conversation", id);
      return this.#conversation(ownerId, id);
    });
  }

  deleteConversation(ownerId: string, id: string): Promise<void> {
    return run(() => {
      const changed = this.#q.softDelete!.run(Date.now(), id, ownerId).changes;
      if (Number(changed) === 0) throw notFound("conversation", id);
    });
  }

  restoreConversation(ownerId: string, id: string): Promise<Conversation> {
    return run(() => {
      if (Number(this.#q.restore!.run(id, ownerId).changes) === 0) {
        throw notFound("conversation", id);
      }
      return this.#conversation(ownerId, id);
    });
  }

  purgeDeleted(olderThan: number, ownerId?: string): Promise<number> {
    return run(() =>
      Number(
        (ownerId === undefined
          ? this.#q.purgeAll!.run(olderThan)
          : this.#q.purgeOwner!.run(olderThan, ownerId)).changes,
      )
    );
  }

  addMessage(ownerId: string, input: NewMessage): Promise<Message> {
    return run(() => {
      checkNewMessage(input);
      const now = Date.now();
      const message: Message = {
        id: input.id ?? newId(),
        conversationId: input.conversationId,
        ownerId,
        parentId: input.parentId,
        role: input.role,
        content: input.content ?? "",
        thinking: input.thinking ?? "",
        model: input.model ?? null,
        state: input.state ?? "complete",
        errorCode: null,
        errorMessage: null,
        stats: null,
        lastSeq: 0,
        createdAt: now,
        updatedAt: now,
      };
      return transaction(this.#db, () => {
        this.#conversation(ownerId, message.conversationId);
        if (
          message.parentId !== null &&
          this.#q.parentOf!.get(message.parentId, message.conversationId, ownerId) === undefined
        ) {
          throw new StoreError("invalid", "parentId is not a message of this conversation.");
        }
        try {
          this.#q.insertMessage!.run(...messageValues(message));
        } catch (error) {
          if (isUniqueViolation(error)) {
            throw new StoreError("conflict", "A message with this id already exists.");
          }
          throw error;
        }
        this.#q.touch!.run(now, message.conversationId);
        return message;
      });
    });
  }

  startAnswer(ownerId: string, input: NewAnswer): Promise<Message> {
    return this.addMessage(ownerId, { ...input, role: "assistant", state: "streaming" });
  }

  getMessage(ownerId: string, id: string): Promise<Message> {
    return run(() => {
      const row = this.#q.getMessage!.get(id, ownerId);
      if (row === undefined) throw notFound("message", id);
      return toMessage(row);
    });
  }

  listMessages(ownerId: string, conversationId: string): Promise<Message[]> {
    return run(() => {
      this.#conversation(ownerId, conversationId);
      return this.#q.listMessages!.all(conversationId, ownerId).map(toMessage);
    });
  }

  children(ownerId: string, conversationId: string, parentId: string | null): Promise<Message[]> {
    return run(() => {
      this.#conversation(ownerId, conversationId);
      const rows = parentId === null
        ? this.#q.roots!.all(conversationId, ownerId)
        : this.#q.children!.all(conversationId, ownerId, parentId);
      return rows.map(toMessage);
    });
  }

  deleteMessage(ownerId: string, id: string): Promise<Message[]> {
    return run(() =>
      transaction(this.#db, () => {
        const rows = this.#q.subtree!.all(id, ownerId).map(toMessage);
        if (rows.length === 0) throw notFound("message", id);
        if (rows.some((m) => m.state === "streaming")) {
          throw new StoreError(
            "conflict",
            "An answer there is still being written: stop it first.",
          );
        }
        this.#q.deleteMessages!.run(JSON.stringify(rows.map((m) => m.id)));
        return restoreOrder(ownerId, rows).rows;
      })
    );
  }

  restoreMessages(ownerId: string, messages: readonly Message[]): Promise<number> {
    return run(() => {
      const { conversationId, root, rows } = restoreOrder(ownerId, messages);
      return transaction(this.#db, () => {
        this.#conversation(ownerId, conversationId);
        if (root !== null && this.#q.parentOf!.get(root, conversationId, ownerId) === undefined) {
          throw new StoreError("invalid", "The message these answered no longer exists.");
        }
        let inserted = 0;
        for (const m of rows) {
          inserted += Number(this.#q.importMessage!.run(...messageValues(m)).changes);
        }
        return inserted;
      });
    });
  }

  appendAnswer(ownerId: string, id: string, delta: AnswerDelta): Promise<boolean> {
    return run(() => {
      const { changes } = this.#q.append!.run(
        delta.content ?? "",
        delta.thinking ?? "",
        delta.seq,
        Date.now(),
        id,
        ownerId,
        delta.seq,
      );
      if (Number(changes) > 0) return true;
      if (this.#q.answerExists!.get(id, ownerId) === undefined) throw notFound("answer", id);
      return false;
    });
  }

  updateAnswer(ownerId: string, id: string, patch: AnswerPatch): Promise<void> {
    return run(() => {
      const { changes } = this.#q.update!.run(
        patch.content ?? null,
        patch.thinking ?? null,
        patch.lastSeq ?? null,
        patch.state ?? null,
        patch.model ?? null,
        patch.errorCode ?? null,
        patch.errorMessage ?? null,
        patch.stats === undefined ? null : JSON.stringify(patch.stats),
        Date.now(),
        id,
        ownerId,
      );
      if (Number(changes) === 0) throw notFound("answer", id);
    });
  }

  markInterrupted(): Promise<number> {
    return run(() => Number(this.#q.interrupt!.run(Date.now()).changes));
  }

  search(ownerId: string, query: string, options: { limit?: number } = {}): Promise<SearchHit[]> {
    return run(() => {
      const limit = checkLimit(options.limit, 20, MAX_SEARCH);
      const terms = searchTerms(query);
      if (terms.length === 0) return [];
      const match = terms.map((t, i) => `"${t}"${i === terms.length - 1 ? "*" : ""}`).join(" ");
      return this.#q.search!.all(match, ownerId, limit).map((row) => ({
        conversationId: row.conversation_id as string,
        title: row.title as string,
        messageId: row.id as string,
        role: row.role as Role,
        snippet: row.snippet as string,
        createdAt: Number(row.created_at),
      }));
    });
  }

  getSettings(ownerId: string, conversationId: string): Promise<GenerationSettings> {
    return run(() => {
      this.#conversation(ownerId, conversationId);
      const row = this.#q.getSettings!.get(conversationId, ownerId);
      return row === undefined ? {} : rowToSettings(row);
    });
  }

  setSettings(
    ownerId: string,
    conversationId: string,
    settings: GenerationSettings,
  ): Promise<GenerationSettings> {
    return run(() => {
      const checked = checkSettings(settings);
      return transaction(this.#db, () => {
        this.#conversation(ownerId, conversationId);
        this.#q.setSettings!.run(conversationId, ownerId, ...settingsValues(checked), Date.now());
        return checked;
      });
    });
  }

  listPresets(ownerId: string): Promise<Preset[]> {
    return run(() => this.#q.listPresets!.all(ownerId).map(rowToPreset));
  }

  createPreset(ownerId: string, input: NewPreset): Promise<Preset> {
    return run(() => {
      const name = checkPresetName(input.name);
      const settings = checkSettings(input.settings);
      const now = Date.now();
      const preset: Preset = {
        id: newId(),
        ownerId,
        name,
        settings,
        createdAt: now,
        updatedAt: now,
      };
      try {
        this.#q.insertPreset!.run(preset.id, ownerId, name, ...settingsValues(settings), now, now);
      } catch (error) {
        if (isUniqueViolation(error)) throw presetConflict(name);
        throw error;
      }
      return preset;
    });
  }

  updatePreset(ownerId: string, id: string, patch: PresetPatch): Promise<Preset> {
    return run(() => {
      const row = this.#q.getPreset!.get(id, ownerId);
      if (row === undefined) throw notFound("preset", id);
      const old = rowToPreset(row);
      const name = patch.name === undefined ? old.name : checkPresetName(patch.name);
      const settings = patch.settings === undefined ? old.settings : checkSettings(patch.settings);
      const now = Date.now();
      try {
        this.#q.updatePreset!.run(name, ...settingsValues(settings), now, id, ownerId);
      } catch (error) {
        if (isUniqueViolation(error)) throw presetConflict(name);
        throw error;
      }
      return { ...old, name, settings, updatedAt: now };
    });
  }

  deletePreset(ownerId: string, id: string): Promise<void> {
    return run(() => {
      if (Number(this.#q.deletePreset!.run(id, ownerId).changes) === 0) {
        throw notFound("preset", id);
      }
    });
  }

  async exportConversation(ownerId: string, id: string) {
    const conversation = await this.getConversation(ownerId, id);
    return toExport(
      conversation,
      await this.listMessages(ownerId, id),
      await this.getSettings(ownerId, id),
    );
  }

  async importConversation(ownerId: string, raw: unknown): Promise<ImportResult> {
    const parsed = parseExport(raw);
    const lookup = (ids: string[]) =>
      Promise.resolve(
        this.#q.lookup!.all(JSON.stringify(ids)).map((r): ExistingRow => ({
          id: r.id as string,
          ownerId: r.owner_id as string,
          conversationId: r.conversation_id as string,
        })),
      );
    const { data, remapped, existing } = await resolveIds(parsed, ownerId, lookup);
    return transaction(this.#db, () => {
      const c = data.conversation;
      if (existing.has(c.id)) {
        this.#q.restore!.run(c.id, ownerId);
      } else {
        this.#q.insertConversation!.run(
          c.id,
          ownerId,
          c.title,
          Date.parse(c.createdAt),
          Date.parse(c.updatedAt),
        );
      }
      let inserted = 0;
      for (const m of data.messages) {
        if (existing.has(m.id)) continue;
        inserted += Number(
          this.#q.importMessage!.run(...messageValues(importedMessage(m, c.id, ownerId))).changes,
        );
      }
      if (existing.has(c.id) && inserted > 0) this.#q.touch!.run(Date.parse(c.updatedAt), c.id);
      // Settings already there were chosen since: the file's do not overwrite them.
      if (data.settings) {
        this.#q.importSettings!.run(c.id, ownerId, ...settingsValues(data.settings), Date.now());
      }
      return {
        conversation: this.#conversation(ownerId, c.id),
        inserted,
        skipped: data.messages.length - inserted,
        remapped,
      };
    });
  }

  schemaVersions(): Promise<number[]> {
    return run(() => this.#q.versions!.all().map((r) => Number(r.version)));
  }

  close(): Promise<void> {
    return run(() => {
      if (this.#db.isOpen) this.#db.close();
    });
  }
}

/** Sync work as a promise, so a thrown StoreError becomes a rejection like in postgres.ts. */
function run<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

function messageValues(m: Message): SQLInputValue[] {
  return [
    m.id,
    m.conversationId,
    m.ownerId,
    m.parentId,
    m.role,
    m.content,
    m.thinking,
    m.model,
    m.state,
    m.errorCode,
    m.errorMessage,
    m.stats === null ? null : JSON.stringify(m.stats),
    m.lastSeq,
    m.createdAt,
    m.updatedAt,
  ];
}
