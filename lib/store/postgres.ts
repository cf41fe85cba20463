/**
 * The store in PostgreSQL, through the npm `postgres` client (prepared statements, a small
 * pool). Chosen when `DATABASE_URL` is set; same behaviour as sqlite.ts, checked by the same
 * contract tests.
 */
import postgres from "postgres";
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
  type JsonObject,
  type ListOptions,
  MARK_END,
  MARK_START,
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
  SETTING_KEYS,
  type Store,
  StoreError,
} from "./store.ts";

type Sql = postgres.Sql;
type Row = Record<string, unknown>;

/** Any number lets two app instances start together; only one applies each migration. */
const MIGRATION_LOCK = 7_202_611;

const HEADLINE = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxWords=24, MinWords=8, ` +
  `ShortWord=1, MaxFragments=1, FragmentDelimiter=" … "`;

// BIGINT arrives as a string: milliseconds fit a double exactly for the next 285,000 years.
function toConversation(row: Row): Conversation {
  return rowToConversation(row);
}

function toMessage(row: Row): Message {
  return rowToMessage(row, row.stats as JsonObject | null);
}

/** Settings as a row of columns (NULL for a default). */
function settingsRow(settings: GenerationSettings): Record<string, string | number | null> {
  return Object.fromEntries(SETTING_COLUMNS.map((c, i) => [c, settings[SETTING_KEYS[i]!] ?? null]));
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof postgres.PostgresError && error.code === "23505";
}

/** Connects and brings the schema up to date. */
export async function openPostgresStore(url: string): Promise<PostgresStore> {
  const sql = postgres(url, {
    max: 10,
    onnotice: () => {},
    connection: { application_name: "chat" },
  });
  try {
    await migrate(sql);
    return new PostgresStore(sql);
  } catch (error) {
    await sql.end({ timeout: 5 });
    throw error;
  }
}

async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const rows = await tx.unsafe("SELECT version FROM schema_migrations");
    for (const m of pending(rows.map((r) => Number(r.version)))) {
      for (const statement of m.postgres) await tx.unsafe(statement);
      await tx.unsafe(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        [m.version, m.name, Date.now()],
      );
    }
  });
}

const MESSAGE_COLUMNS = [
  "id",
  "conversation_id",
  "owner_id",
  "parent_id",
  "role",
  "content",
  "thinking",
  "model",
  "state",
  "error_code",
  "error_message",
  "stats",
  "last_seq",
  "created_at",
  "updated_at",
] as const;

function messageRow(
  sql: Pick<Sql, "json">,
  m: Message,
): Record<(typeof MESSAGE_COLUMNS)[number], postgres.ParameterOrJSON<never>> {
  return {
    id: m.id,
    conversation_id: m.conversationId,
    owner_id: m.ownerId,
    parent_id: m.parentId,
    role: m.role,
    content: m.content,
    thinking: m.thinking,
    model: m.model,
    state: m.state,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    stats: m.stats === null ? null : sql.json(m.stats),
    last_seq: m.lastSeq,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
  };
}

export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async #conversation(sql: Sql, ownerId: string, id: string): Promise<Conversation> {
    const [row] = await sql`SELECT * FROM conversations
      WHERE id = ${id} AND owner_id = ${ownerId} AND deleted_at IS NULL`;
    if (row === undefined) throw notFound("conversation", id);
    return toConversation(row);
  }

  async createConversation(ownerId: string, input: NewConversation = {}): Promise<Conversation> {
    const id = input.id === undefined ? newId() : checkId(input.id, "A conversation id");
    const title = checkTitle(input.title ?? "");
    checkId(ownerId, "ownerId");
    const now = Date.now();
    try {
      await this.#sql`INSERT INTO conversations (id, owner_id, title, created_at, updated_at)
        VALUES (${id}, ${ownerId}, ${title}, ${now}, ${now})`;
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new StoreError("conflict", "A conversation with this id already exists.");
      }
      throw error;
    }
    return { id, ownerId, title, createdAt: now, updatedAt: now, deletedAt: null };
  }

  async getConversation(
    ownerId: string,
    id: string,
    options: { includeDeleted?: boolean } = {},
  ): Promise<Conversation> {
    if (!options.includeDeleted) return await this.#conversation(this.#sql, ownerId, id);
    const [row] = await this.#sql`SELECT * FROM conversations
      WHERE id = ${id} AND owner_id = ${ownerId}`;
    if (row === undefined) throw notFound("conversation", id);
    return toConversation(row);
  }

  async listConversations(ownerId: string, options: ListOptions = {}): Promise<Page<Conversation>> {
    const limit = checkLimit(options.limit, DEFAULT_PAGE, MAX_PAGE);
    const sql = this.#sql;
    const after = options.cursor ? decodeCursor(options.cursor) : undefined;
    // One row more than asked tells whether another page exists without a count.
    const rows = await sql`SELECT * FROM conversations
      WHERE owner_id = ${ownerId} AND deleted_at IS NULL ${
      after ? sql`AND (updated_at, id) < (${after.updatedAt}, ${after.id})` : sql``
    }
      ORDER BY updated_at DESC, id DESC LIMIT ${limit + 1}`;
    const items = rows.slice(0, limit).map(toConversation);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }

  async renameConversation(ownerId: string, id: string, title: string): Promise<Conversation> {
    const [row] = await this.#sql`UPDATE conversations SET title = ${checkTitle(title)}
      WHERE id = ${id} AND owner_id = ${ownerId} AND deleted_at IS NULL RETURNING *`;
    if (row === undefined) throw notFound("conversation", id);
    return toConversation(row);
  }

  async deleteConversation(ownerId: string, id: string): Promise<void> {
    const result = await this.#sql`UPDATE conversations SET deleted_at = ${Date.now()}
      WHERE id = ${id} AND owner_id = ${ownerId} AND deleted_at IS NULL`;
    if (result.count === 0) throw notFound("conversation", id);
  }

  async restoreConversation(ownerId: string, id: string): Promise<Conversation> {
    const [row] = await this.#sql`UPDATE conversations SET deleted_at = NULL
      WHERE id = ${id} AND owner_id = ${ownerId} RETURNING *`;
    if (row === undefined) throw notFound("conversation", id);
    return toConversation(row);
  }

  async purgeDeleted(olderThan: number, ownerId?: string): Promise<number> {
    const sql = this.#sql;
    const result = await sql`DELETE FROM conversations WHERE deleted_at < ${olderThan} ${
      ownerId === undefined ? sql`` : sql`AND owner_id = ${ownerId}`
    }`;
    return result.count;
  }

  async addMessage(ownerId: string, input: NewMessage): Promise<Message> {
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
    try {
      await this.#sql.begin(async (tx) => {
        // Bumping first locks the conversation row, so a purge cannot slip in before the insert.
        const [conversation] = await tx`UPDATE conversations
          SET updated_at = greatest(updated_at, ${now})
          WHERE id = ${message.conversationId} AND owner_id = ${ownerId} AND deleted_at IS NULL
          RETURNING id`;
        if (conversation === undefined) throw notFound("conversation", message.conversationId);
        if (message.parentId !== null) {
          const [parent] = await tx`SELECT 1 FROM messages WHERE id = ${message.parentId}
            AND conversation_id = ${message.conversationId} AND owner_id = ${ownerId}`;
          if (parent === undefined) {
            throw new StoreError("invalid", "parentId is not a message of this conversation.");
          }
        }
        await tx`INSERT INTO messages ${tx(messageRow(tx, message), ...MESSAGE_COLUMNS)}`;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new StoreError("conflict", "A message with this id already exists.");
      }
      throw error;
    }
    return message;
  }

  startAnswer(ownerId: string, input: NewAnswer): Promise<Message> {
    return this.addMessage(ownerId, { ...input, role: "assistant", state: "streaming" });
  }

  async getMessage(ownerId: string, id: string): Promise<Message> {
    const [row] = await this.#sql`SELECT m.* FROM messages m
      JOIN conversations c ON c.id = m.conversation_id
      WHERE m.id = ${id} AND m.owner_id = ${ownerId} AND c.deleted_at IS NULL`;
    if (row === undefined) throw notFound("message", id);
    return toMessage(row);
  }

  async listMessages(ownerId: string, conversationId: string): Promise<Message[]> {
    await this.#conversation(this.#sql, ownerId, conversationId);
    const rows = await this.#sql`SELECT ${this.#sql(MESSAGE_COLUMNS)} FROM messages
      WHERE conversation_id = ${conversationId} AND owner_id = ${ownerId}
      ORDER BY created_at, id`;
    return rows.map(toMessage);
  }

  async children(
    ownerId: string,
    conversationId: string,
    parentId: string | null,
  ): Promise<Message[]> {
    const sql = this.#sql;
    await this.#conversation(sql, ownerId, conversationId);
    const rows = await sql`SELECT ${sql(MESSAGE_COLUMNS)} FROM messages
      WHERE conversation_id = ${conversationId} AND owner_id = ${ownerId}
      AND ${parentId === null ? sql`parent_id IS NULL` : sql`parent_id = ${parentId}`}
      ORDER BY created_at, id`;
    return rows.map(toMessage);
  }

  async deleteMessage(ownerId: string, id: string): Promise<Message[]> {
    const rows = await this.#sql.begin(async (tx) => {
      const found = await tx`WITH RECURSIVE sub (id, conversation_id) AS (
          SELECT m.id, m.conversation_id FROM messages m
            JOIN conversations c ON c.id = m.conversation_id
            WHERE m.id = ${id} AND m.owner_id = ${ownerId} AND c.deleted_at IS NULL
          UNION ALL SELECT m.id, m.conversation_id FROM messages m
            JOIN sub ON m.conversation_id = sub.conversation_id AND m.parent_id = sub.id)
        SELECT ${tx(MESSAGE_COLUMNS)} FROM messages WHERE id IN (SELECT id FROM sub)
        ORDER BY created_at, id`;
      const messages = found.map(toMessage);
      if (messages.length === 0) throw notFound("message", id);
      if (messages.some((m) => m.state === "streaming")) {
        throw new StoreError("conflict", "An answer there is still being written: stop it first.");
      }
      await tx`DELETE FROM messages WHERE id = ANY(${messages.map((m) => m.id)}::text[])`;
      return messages;
    });
    return restoreOrder(ownerId, rows).rows;
  }

  async restoreMessages(ownerId: string, messages: readonly Message[]): Promise<number> {
    const { conversationId, root, rows } = restoreOrder(ownerId, messages);
    const sql = this.#sql;
    return await sql.begin(async (tx) => {
      const [conversation] = await tx`SELECT id FROM conversations
        WHERE id = ${conversationId} AND owner_id = ${ownerId} AND deleted_at IS NULL FOR UPDATE`;
      if (conversation === undefined) throw notFound("conversation", conversationId);
      if (root !== null) {
        const [parent] = await tx`SELECT 1 FROM messages WHERE id = ${root}
          AND conversation_id = ${conversationId} AND owner_id = ${ownerId}`;
        if (parent === undefined) {
          throw new StoreError("invalid", "The message these answered no longer exists.");
        }
      }
      let count = 0;
      for (let i = 0; i < rows.length; i += 1000) {
        const batch = rows.slice(i, i + 1000).map((m) => messageRow(tx, m));
        const result = await tx`INSERT INTO messages ${
          tx(batch, ...MESSAGE_COLUMNS)
        } ON CONFLICT (id) DO NOTHING`;
        count += result.count;
      }
      return count;
    });
  }

  async appendAnswer(ownerId: string, id: string, delta: AnswerDelta): Promise<boolean> {
    const result = await this.#sql`UPDATE messages
      SET content = content || ${delta.content ?? ""}, thinking = thinking || ${
      delta.thinking ?? ""
    },
        last_seq = ${delta.seq}, updated_at = ${Date.now()}
      WHERE id = ${id} AND owner_id = ${ownerId} AND role = 'assistant'
        AND state = 'streaming' AND last_seq < ${delta.seq}`;
    if (result.count > 0) return true;
    const [row] = await this.#sql`SELECT 1 FROM messages
      WHERE id = ${id} AND owner_id = ${ownerId} AND role = 'assistant'`;
    if (row === undefined) throw notFound("answer", id);
    return false;
  }

  async updateAnswer(ownerId: string, id: string, patch: AnswerPatch): Promise<void> {
    const result = await this.#sql`UPDATE messages SET
        content = coalesce(${patch.content ?? null}, content),
        thinking = coalesce(${patch.thinking ?? null}, thinking),
        last_seq = coalesce(${patch.lastSeq ?? null}::integer, last_seq),
        state = coalesce(${patch.state ?? null}, state),
        model = coalesce(${patch.model ?? null}, model),
        error_code = coalesce(${patch.errorCode ?? null}, error_code),
        error_message = coalesce(${patch.errorMessage ?? null}, error_message),
        stats = coalesce(${
      patch.stats === undefined ? null : this.#sql.json(patch.stats)
    }::jsonb, stats),
        updated_at = ${Date.now()}
      WHERE id = ${id} AND owner_id = ${ownerId} AND role = 'assistant'`;
    if (result.count === 0) throw notFound("answer", id);
  }

  async markInterrupted(): Promise<number> {
    const result = await this.#sql`UPDATE messages SET state = 'interrupted',
      updated_at = ${Date.now()} WHERE state = 'streaming'`;
    return result.count;
  }

  async search(
    ownerId: string,
    query: string,
    options: { limit?: number } = {},
  ): Promise<SearchHit[]> {
    const limit = checkLimit(options.limit, 20, MAX_SEARCH);
    const terms = searchTerms(query);
    if (terms.length === 0) return [];
    const tsquery = terms.map((t, i) => i === terms.length - 1 ? `${t}:*` : t).join(" & ");
    // ts_headline is costly: the inner query picks the page, only its rows get a snippet.
    const rows = await this.#sql`SELECT h.conversation_id, c.title, h.id, h.role, h.created_at,
        ts_headline('simple', h.content, to_tsquery('simple', ${tsquery}), ${HEADLINE}) AS snippet
      FROM (
        SELECT m.id, m.conversation_id, m.role, m.content, m.created_at
        FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.search @@ to_tsquery('simple', ${tsquery}) AND m.owner_id = ${ownerId}
          AND c.deleted_at IS NULL
        ORDER BY m.created_at DESC, m.id DESC LIMIT ${limit}
      ) h JOIN conversations c ON c.id = h.conversation_id
      ORDER BY h.created_at DESC, h.id DESC`;
    return rows.map((row) => ({
      conversationId: row.conversation_id as string,
      title: row.title as string,
      messageId: row.id as string,
      role: row.role as Role,
      snippet: row.snippet as string,
      createdAt: Number(row.created_at),
    }));
  }

  async getSettings(ownerId: string, conversationId: string): Promise<GenerationSettings> {
    const sql = this.#sql;
    await this.#conversation(sql, ownerId, conversationId);
    const [row] = await sql`SELECT ${sql(SETTING_COLUMNS)} FROM conversation_settings
      WHERE conversation_id = ${conversationId} AND owner_id = ${ownerId}`;
    return row === undefined ? {} : rowToSettings(row);
  }

  async setSettings(
    ownerId: string,
    conversationId: string,
    settings: GenerationSettings,
  ): Promise<GenerationSettings> {
    const checked = checkSettings(settings);
    const row = {
      conversation_id: conversationId,
      owner_id: ownerId,
      ...settingsRow(checked),
      updated_at: Date.now(),
    };
    await this.#sql.begin(async (tx) => {
      // FOR SHARE keeps a purge from removing the conversation before the write.
      const [live] = await tx`SELECT 1 FROM conversations WHERE id = ${conversationId}
        AND owner_id = ${ownerId} AND deleted_at IS NULL FOR SHARE`;
      if (live === undefined) throw notFound("conversation", conversationId);
      await tx`INSERT INTO conversation_settings ${tx(row)}
        ON CONFLICT (conversation_id) DO UPDATE SET ${
        tx(settingsRow(checked), ...SETTING_COLUMNS)
      }, updated_at = ${row.updated_at}`;
    });
    return checked;
  }

  async listPresets(ownerId: string): Promise<Preset[]> {
    const rows = await this.#sql`SELECT * FROM presets WHERE owner_id = ${ownerId}
      ORDER BY name COLLATE "C", id`;
    return rows.map(rowToPreset);
  }

  async createPreset(ownerId: string, input: NewPreset): Promise<Preset> {
    const name = checkPresetName(input.name);
    const settings = checkSettings(input.settings);
    const now = Date.now();
    const preset: Preset = { id: newId(), ownerId, name, settings, createdAt: now, updatedAt: now };
    const row = {
      id: preset.id,
      owner_id: ownerId,
      name,
      ...settingsRow(settings),
      created_at: now,
      updated_at: now,
    };
    try {
      await this.#sql`INSERT INTO presets ${this.#sql(row)}`;
    } catch (error) {
      if (isUniqueViolation(error)) throw presetConflict(name);
      throw error;
    }
    return preset;
  }

  async updatePreset(ownerId: string, id: string, patch: PresetPatch): Promise<Preset> {
    const sql = this.#sql;
    const name = patch.name === undefined ? undefined : checkPresetName(patch.name);
    const settings = patch.settings === undefined ? undefined : checkSettings(patch.settings);
    const changes = {
      ...(name === undefined ? {} : { name }),
      ...(settings === undefined ? {} : settingsRow(settings)),
      updated_at: Date.now(),
    };
    try {
      const [row] = await sql`UPDATE presets SET ${sql(changes)}
        WHERE id = ${id} AND owner_id = ${ownerId} RETURNING *`;
      if (row === undefined) throw notFound("preset", id);
      return rowToPreset(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw presetConflict(name ?? "");
      throw error;
    }
  }

  async deletePreset(ownerId: string, id: string): Promise<void> {
    const result = await this.#sql`DELETE FROM presets WHERE id = ${id} AND owner_id = ${ownerId}`;
    if (result.count === 0) throw notFound("preset", id);
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
    const sql = this.#sql;
    const lookup = async (ids: string[]): Promise<ExistingRow[]> => {
      const rows = await sql`SELECT id, owner_id, id AS conversation_id FROM conversations
          WHERE id = ANY(${ids}::text[])
        UNION ALL SELECT id, owner_id, conversation_id FROM messages
          WHERE id = ANY(${ids}::text[])`;
      return rows.map((r) => ({
        id: r.id as string,
        ownerId: r.owner_id as string,
        conversationId: r.conversation_id as string,
      }));
    };
    const { data, remapped, existing } = await resolveIds(parsed, ownerId, lookup);
    const c = data.conversation;
    const rows = data.messages.filter((m) => !existing.has(m.id))
      .map((m) => messageRow(sql, importedMessage(m, c.id, ownerId)));
    const inserted = await sql.begin(async (tx) => {
      if (existing.has(c.id)) {
        await tx`UPDATE conversations SET deleted_at = NULL, updated_at = greatest(updated_at, ${
          rows.length > 0 ? Date.parse(c.updatedAt) : 0
        }) WHERE id = ${c.id} AND owner_id = ${ownerId}`;
      } else {
        await tx`INSERT INTO conversations (id, owner_id, title, created_at, updated_at)
          VALUES (${c.id}, ${ownerId}, ${c.title}, ${Date.parse(c.createdAt)},
            ${Date.parse(c.updatedAt)})`;
      }
      let count = 0;
      // Batches keep each statement under the protocol's 65,535-parameter limit.
      for (let i = 0; i < rows.length; i += 1000) {
        const result = await tx`INSERT INTO messages ${
          tx(rows.slice(i, i + 1000), ...MESSAGE_COLUMNS)
        } ON CONFLICT (id) DO NOTHING`;
        count += result.count;
      }
      // Settings already there were chosen since: the file's do not overwrite them.
      if (data.settings) {
        await tx`INSERT INTO conversation_settings ${
          tx({
            conversation_id: c.id,
            owner_id: ownerId,
            ...settingsRow(data.settings),
            updated_at: Date.now(),
          })
        } ON CONFLICT (conversation_id) DO NOTHING`;
      }
      return count;
    });
    return {
      conversation: await this.#conversation(sql, ownerId, c.id),
      inserted,
      skipped: data.messages.length - inserted,
      remapped,
    };
  }

  async schemaVersions(): Promise<number[]> {
    const rows = await this.#sql`SELECT version FROM schema_migrations ORDER BY version`;
    return rows.map((r) => Number(r.version));
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
