/**
 * `deno task bench --suite=store`: the conversation store (lib/store/) on SQLite and on
 * PostgreSQL, in one run, at the same scale and with the same data. See docs/benchmarks.md
 * ("Conversations (store)").
 *
 * For each database: seed a temporary database directly (bulk SQL on the schema the store's
 * migrations made, so the FTS triggers / generated `tsvector` apply), then call the store API
 * from this process and time each call (server time: the time inside the store call):
 * 1. `listMessages` of one 10,000-message conversation;
 * 2. `listConversations`: the first page and a deep page (keyset cursor) of N conversations;
 * 3. `search`: a common word, a rare word, a two-word query;
 * 4. 100 answers streaming at once (`startAnswer`, one `appendAnswer` per flush interval with
 *    ~10 tokens, `updateAnswer` final) while a reader loop lists and searches, against the same
 *    reader loop with nothing writing.
 *
 * PostgreSQL is `DATABASE_URL` when set, otherwise a throwaway cluster from Debian's binaries
 * (tests/helpers/postgres.ts); each run gets a fresh database, dropped at the end.
 */
import { DatabaseSync } from "node:sqlite";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import { SQLITE_FILE } from "../lib/store/open.ts";
import { openPostgresStore } from "../lib/store/postgres.ts";
import { openSqliteStore } from "../lib/store/sqlite.ts";
import { type Conversation, encodeCursor, type Store } from "../lib/store/store.ts";
import { createTestDatabase } from "../tests/helpers/postgres.ts";
import { round, summarize, type Summary } from "./stats.ts";
import { wholeFlag } from "./flags.ts";

export const STORE_FLAG_NAMES = [
  "full",
  "store-db",
  "store-messages",
  "store-conversations",
  "store-reads",
  "store-answers",
  "store-stream-seconds",
  "store-flush-ms",
  "store-out",
] as const;

const DATABASES = ["sqlite", "postgres"] as const;
type Database = (typeof DATABASES)[number];

export interface StoreFlags {
  readonly full: boolean;
  readonly databases: Database[];
  readonly messages: number;
  readonly conversations: number;
  /** Messages of the one big conversation `listMessages` opens. */
  readonly bigConversation: number;
  readonly reads: number;
  readonly answers: number;
  readonly streamSeconds: number;
  readonly flushMs: number;
  readonly out: string | undefined;
}

/**
 * The scale, the default (the whole suite takes ~2 minutes on 2 cores); `--quick` is a
 * smoke run, and `--full` asks for the scale even with `--quick`.
 */
const FULL = { messages: 1_000_000, conversations: 100_000 };
const QUICK = { messages: 100_000, conversations: 10_000 };
const BIG_CONVERSATION = 10_000;
const OWNER = "bench";
const TOKENS_PER_FLUSH = 10;
const VOCABULARY = 4000;
const TARGETS = { readP50Ms: 50, writesPerAnswerPerFlush: 1 };

export function parseStoreFlags(values: ReadonlyMap<string, string>): StoreFlags {
  const full = values.get("full") === "true" || values.get("quick") !== "true";
  const positive = (name: string, fallback: number) => wholeFlag(values, name, fallback);
  const scale = full ? FULL : QUICK;
  const databases = (values.get("store-db") ?? DATABASES.join(",")).split(",").map((s) => s.trim());
  for (const db of databases) {
    if (!(DATABASES as readonly string[]).includes(db)) {
      throw new Error(`unknown --store-db ${db} (known: ${DATABASES})`);
    }
  }
  const messages = positive("store-messages", scale.messages);
  const conversations = positive("store-conversations", scale.conversations);
  const bigConversation = Math.min(BIG_CONVERSATION, Math.floor(messages / 2));
  if (messages - bigConversation < conversations - 1) {
    throw new Error("--store-messages must give every conversation at least one message");
  }
  return {
    full,
    databases: DATABASES.filter((d) => databases.includes(d)),
    messages,
    conversations,
    bigConversation,
    reads: positive("store-reads", 20),
    answers: positive("store-answers", 100),
    streamSeconds: positive("store-stream-seconds", 5),
    flushMs: positive("store-flush-ms", 100),
    out: values.get("store-out"),
  };
}

// ---------------------------------------------------------------------------------------------
// The data: deterministic, so both databases hold the same rows.

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Made-up words of 1–4 syllables, shortest first: rank 1 is the most frequent (Zipf). */
function vocabulary(size: number): string[] {
  const random = prng(7);
  const onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v"]
    .concat(["w", "z", "br", "ch", "cl", "dr", "fl", "gr", "pl", "sh", "st", "th", "tr"]);
  const vowels = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"];
  const codas = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st"];
  const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)]!;
  const words = new Set<string>();
  while (words.size < size) {
    const syllables = 1 + Math.floor(random() * random() * 4);
    let word = "";
    for (let i = 0; i < syllables; i++) word += pick(onsets) + pick(vowels);
    word += pick(codas);
    if (word.length >= 2) words.add(word);
  }
  return [...words].sort((a, b) => a.length - b.length);
}

/** Draws word ranks with probability ∝ 1/rank (Zipf, s = 1). */
class Zipf {
  readonly #cdf: Float64Array;
  constructor(n: number, readonly random: () => number) {
    this.#cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) this.#cdf[k] = sum += 1 / (k + 1);
    for (let k = 0; k < n; k++) this.#cdf[k]! /= sum;
  }
  next(): number {
    const u = this.random();
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

class TextMaker {
  readonly words = vocabulary(VOCABULARY);
  readonly #random: () => number;
  readonly #zipf: Zipf;
  constructor(seed: number) {
    this.#random = prng(seed);
    this.#zipf = new Zipf(this.words.length, this.#random);
  }
  /** `min`–`max` words, with a comma or a full stop now and then. */
  text(min: number, max: number): string {
    const n = min + Math.floor(this.#random() * (max - min + 1));
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.#random();
      parts.push(this.words[this.#zipf.next()]! + (i === n - 1 ? "." : r < 0.06 ? "," : ""));
    }
    const first = parts[0]!;
    parts[0] = first[0]!.toUpperCase() + first.slice(1);
    return parts.join(" ");
  }
}

/** A time-ordered id (UUIDv7 layout) from a seeded time and a unique sequence number. */
function seededId(ms: number, seq: number, kind: number): string {
  const t = ms.toString(16).padStart(12, "0");
  const s = seq.toString(16).padStart(12, "0");
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${kind.toString(16).padStart(3, "0")}-8000-${s}`;
}

interface SeedConversation {
  readonly id: string;
  readonly title: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

interface SeedMessage {
  readonly id: string;
  readonly conversationId: string;
  readonly parentId: string | null;
  readonly role: "user" | "assistant";
  readonly content: string;
  readonly model: string | null;
  readonly createdAt: number;
}

const STEP_MS = 30_000;

/**
 * The layout: `conversations` conversations of owner "bench", one of them (in the middle of
 * the timeline) with `bigConversation` messages, the rest sharing the other messages evenly.
 * Each conversation's messages are a chain (user, assistant, user…), one every 30 s of seeded
 * time, ending a day before now; a conversation's `updatedAt` is its last message's time.
 */
export class Plan {
  readonly start: number;
  readonly big: number;
  readonly #counts: Int32Array;
  constructor(readonly flags: StoreFlags) {
    this.start = Date.now() - 86_400_000 - flags.messages * STEP_MS;
    this.big = Math.floor(flags.conversations / 2);
    const rest = flags.messages - flags.bigConversation;
    const others = flags.conversations - 1;
    this.#counts = new Int32Array(flags.conversations);
    for (let k = 0, j = 0; k < flags.conversations; k++) {
      if (k === this.big) {
        this.#counts[k] = flags.bigConversation;
        continue;
      }
      this.#counts[k] = Math.floor((rest * (j + 1)) / others) - Math.floor((rest * j) / others);
      j++;
    }
  }

  /** Conversations, oldest activity first. */
  *conversations(): Generator<SeedConversation> {
    const text = new TextMaker(11);
    let first = 0;
    for (let k = 0; k < this.flags.conversations; k++) {
      const count = this.#counts[k]!;
      const createdAt = this.start + first * STEP_MS;
      yield {
        id: seededId(createdAt, k, 0xc00),
        title: text.text(2, 5).slice(0, -1),
        createdAt,
        updatedAt: this.start + (first + count - 1) * STEP_MS,
      };
      first += count;
    }
  }

  /** Messages in time order (which is also insertion order, so SQLite rowids follow time). */
  *messages(): Generator<SeedMessage> {
    const text = new TextMaker(13);
    const conversations = this.conversations();
    let n = 0;
    for (let k = 0; k < this.flags.conversations; k++) {
      const conversation = conversations.next().value as SeedConversation;
      let parentId: string | null = null;
      for (let i = 0; i < this.#counts[k]!; i++, n++) {
        const createdAt = this.start + n * STEP_MS;
        const id = seededId(createdAt, n, 0x000);
        const role = i % 2 === 0 ? "user" : "assistant";
        yield {
          id,
          conversationId: conversation.id,
          parentId,
          role,
          content: text.text(10, 40),
          model: role === "assistant" ? "bench-model" : null,
          createdAt,
        };
        parentId = id;
      }
    }
  }

  /** The id of conversation `k` (0 = oldest activity), without generating the others. */
  conversationId(k: number): string {
    let first = 0;
    for (let i = 0; i < k; i++) first += this.#counts[i]!;
    return seededId(this.start + first * STEP_MS, k, 0xc00);
  }
}

// ---------------------------------------------------------------------------------------------
// Seeding

export interface Seeded {
  readonly store: Store;
  readonly seedMs: { conversations: number; messages: number; indexes: number; total: number };
  readonly sizeBytes: number;
  /** Runs a read-only SQL query against the same database, outside the store. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

const MESSAGE_COLUMNS = `id, conversation_id, owner_id, parent_id, role, content, thinking, model,
  state, error_code, error_message, stats, last_seq, created_at, updated_at`;

export async function seedSqlite(plan: Plan, progress: (line: string) => void): Promise<Seeded> {
  const dir = await Deno.makeTempDir({ prefix: "bench-store-sqlite-" });
  const path = `${dir}/${SQLITE_FILE}`;
  try {
    await openSqliteStore(path).close(); // the schema, by the store's own migrations
    const began = performance.now();
    const db = new DatabaseSync(path);
    let conversationsMs = 0;
    let messagesMs = 0;
    try {
      // One connection, one transaction, prepared statements; foreign keys are not checked
      // (the seeded rows are consistent), the FTS triggers fire for every row as in the app.
      db.exec(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -524288",
      );
      db.exec("BEGIN");
      const insertConversation = db.prepare(`INSERT INTO conversations
        (id, owner_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`);
      for (const c of plan.conversations()) {
        insertConversation.run(c.id, OWNER, c.title, c.createdAt, c.updatedAt);
      }
      conversationsMs = performance.now() - began;
      const insertMessage = db.prepare(`INSERT INTO messages (${MESSAGE_COLUMNS})
        VALUES (?, ?, ?, ?, ?, ?, '', ?, 'complete', NULL, NULL, NULL, 0, ?, ?)`);
      let n = 0;
      for (const m of plan.messages()) {
        insertMessage.run(
          m.id,
          m.conversationId,
          OWNER,
          m.parentId,
          m.role,
          m.content,
          m.model,
          m.createdAt,
          m.createdAt,
        );
        if (++n % 250_000 === 0) progress(`    sqlite: ${n} messages`);
      }
      db.exec("COMMIT");
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      messagesMs = performance.now() - began - conversationsMs;
    } finally {
      db.close();
    }
    const total = performance.now() - began;
    const store = openSqliteStore(path);
    const reader = new DatabaseSync(path, { readOnly: true });
    return {
      store,
      seedMs: {
        conversations: round(conversationsMs, 0),
        messages: round(messagesMs, 0),
        indexes: 0,
        total: round(total, 0),
      },
      sizeBytes: (await Deno.stat(path)).size,
      query: (sql) => Promise.resolve(reader.prepare(sql).all() as Record<string, unknown>[]),
      async cleanup() {
        reader.close();
        await store.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

/** COPY's text format: backslash, tab, newline and carriage return escaped; `\N` is NULL. */
function copyField(value: string | number | null): string {
  if (value === null) return "\\N";
  if (typeof value === "number") return String(value);
  return value.replace(
    /[\\\t\n\r]/g,
    (c) => c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

function* copyChunks<T>(rows: Iterable<T>, line: (row: T) => (string | number | null)[]) {
  let chunk: string[] = [];
  for (const row of rows) {
    chunk.push(line(row).map(copyField).join("\t"));
    if (chunk.length === 2000) {
      yield chunk.join("\n") + "\n";
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk.join("\n") + "\n";
}

export async function seedPostgres(plan: Plan, progress: (line: string) => void): Promise<Seeded> {
  const database = await createTestDatabase();
  let store: Store | undefined;
  const admin = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    store = await openPostgresStore(database.url); // the schema, by the store's own migrations
    const began = performance.now();
    // One session: COPY both tables, the messages' secondary indexes (GIN on the generated
    // tsvector included) dropped first and rebuilt after with the same definitions, as one
    // bulk-loads PostgreSQL; the generated `search` column is computed for every row by COPY.
    await admin.unsafe("SET maintenance_work_mem = '1GB'");
    const indexes = await admin.unsafe(`SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename = 'messages' AND indexname <> 'messages_pkey'`);
    for (const index of indexes) await admin.unsafe(`DROP INDEX ${index.indexname}`);
    await pipeline(
      Readable.from(copyChunks(plan.conversations(), (c) => [
        c.id,
        OWNER,
        c.title,
        c.createdAt,
        c.updatedAt,
      ])),
      await admin`COPY conversations (id, owner_id, title, created_at, updated_at)
        FROM STDIN`.writable(),
    );
    const conversationsMs = performance.now() - began;
    let n = 0;
    await pipeline(
      Readable.from(copyChunks(plan.messages(), (m) => {
        if (++n % 250_000 === 0) progress(`    postgres: ${n} messages`);
        return [
          m.id,
          m.conversationId,
          OWNER,
          m.parentId,
          m.role,
          m.content,
          "",
          m.model,
          "complete",
          null,
          null,
          null,
          0,
          m.createdAt,
          m.createdAt,
        ];
      })),
      await admin.unsafe(`COPY messages (${MESSAGE_COLUMNS}) FROM STDIN`).writable(),
    );
    const messagesMs = performance.now() - began - conversationsMs;
    for (const index of indexes) await admin.unsafe(index.indexdef as string);
    // What autovacuum would do within a minute of such a load: statistics and visibility map.
    await admin.unsafe("VACUUM ANALYZE conversations, messages");
    const total = performance.now() - began;
    const [size] = await admin`SELECT pg_database_size(current_database()) AS bytes`;
    const opened = store;
    return {
      store: opened,
      seedMs: {
        conversations: round(conversationsMs, 0),
        messages: round(messagesMs, 0),
        indexes: round(total - messagesMs - conversationsMs, 0),
        total: round(total, 0),
      },
      sizeBytes: Number(size!.bytes),
      query: async (sql) => [...await admin.unsafe(sql)],
      async cleanup() {
        await opened.close();
        await admin.end({ timeout: 5 });
        await database.drop();
      },
    };
  } catch (error) {
    await store?.close();
    await admin.end({ timeout: 5 });
    await database.drop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const began = performance.now();
  const result = await work();
  return [performance.now() - began, result];
}

/** `reads` timed calls after 2 warm-up calls; also checks what one call returns. */
async function repeat<T>(
  reads: number,
  work: () => Promise<T>,
  size: (result: T) => number,
): Promise<ReadResult> {
  let rows = 0;
  for (let i = 0; i < 2; i++) rows = size(await work());
  const times: number[] = [];
  for (let i = 0; i < reads; i++) times.push((await timed(work))[0]);
  return { ms: summarize(times), rows };
}

interface ReadResult {
  readonly ms: Summary;
  /** Rows (messages, conversations or hits) one call returned. */
  readonly rows: number;
}

interface Queries {
  readonly common: string;
  readonly rare: string;
  readonly twoWords: string;
}

interface StreamResult {
  readonly answers: number;
  readonly flushMs: number;
  readonly seconds: number;
  readonly baseline: Record<string, Summary>;
  readonly duringWrites: Record<string, Summary>;
  readonly writes: {
    readonly startAnswerMs: Summary;
    readonly appendAnswerMs: Summary;
    readonly updateAnswerMs: Summary;
    readonly appendCalls: number;
    /** appendAnswer calls that returned false (nothing written: a second SELECT ran). */
    readonly appendRejected: number;
    /** appendAnswer calls / (answers × flush intervals elapsed while streaming). */
    readonly perAnswerPerInterval: number;
    /** The most appendAnswer calls any answer made within one flush interval. */
    readonly maxPerAnswerInOneInterval: number;
    /** Stored text equal to the appended text, for every answer (read back at the end). */
    readonly textOk: boolean;
    /** PostgreSQL only: n_tup_upd of `messages` during the phase (pg_stat_user_tables). */
    readonly rowUpdatesCounted?: number;
  };
}

/**
 * Lists and searches, one call after another, each op in turn, until `until`; yields to the
 * event loop between calls (SQLite calls are synchronous underneath) so writers' timers run.
 */
async function readerLoop(
  ops: Record<string, () => Promise<unknown>>,
  until: () => boolean,
): Promise<Record<string, Summary>> {
  const times: Record<string, number[]> = {};
  const names = Object.keys(ops);
  for (let i = 0; !until(); i++) {
    const name = names[i % names.length]!;
    (times[name] ??= []).push((await timed(ops[name]!))[0]);
    await sleep(0);
  }
  return Object.fromEntries(names.map((n) => [n, summarize(times[n] ?? [])]));
}

async function streaming(
  seeded: Seeded,
  flags: StoreFlags,
  ops: Record<string, () => Promise<unknown>>,
): Promise<StreamResult> {
  const { store } = seeded;
  const durationMs = flags.streamSeconds * 1000;
  let stop = performance.now() + durationMs;
  const baseline = await readerLoop(ops, () => performance.now() >= stop);

  // The newest conversations get the answers, each after its last message.
  const targets = await seeded.query(`SELECT m.conversation_id, m.id FROM messages m
    JOIN (SELECT id FROM conversations WHERE owner_id = '${OWNER}'
      ORDER BY updated_at DESC, id DESC LIMIT ${flags.answers}) c ON c.id = m.conversation_id
    WHERE m.created_at = (SELECT max(created_at) FROM messages x
      WHERE x.conversation_id = m.conversation_id)`);
  if (targets.length !== flags.answers) throw new Error(`found ${targets.length} conversations`);
  const updatesBefore = await rowUpdates(seeded);
  const text = new TextMaker(17);
  const start: number[] = [];
  const append: number[] = [];
  const update: number[] = [];
  let rejected = 0;
  let calls = 0;
  let intervals = 0;
  let maxInOne = 0;
  let textOk = true;
  stop = performance.now() + durationMs + flags.flushMs * 2;
  const readers = readerLoop(ops, () => performance.now() >= stop);
  const answer = async (target: Record<string, unknown>, index: number) => {
    // Answers start spread over one interval, as they would in a busy app.
    await sleep((index * flags.flushMs) / flags.answers);
    const [startMs, message] = await timed(() =>
      store.startAnswer(OWNER, {
        conversationId: target.conversation_id as string,
        parentId: target.id as string,
        model: "bench-model",
      })
    );
    start.push(startMs);
    const began = performance.now();
    const perInterval = new Map<number, number>();
    let sent = "";
    let seq = 0;
    let tokens = 0;
    const total = Math.round(durationMs / flags.flushMs) * TOKENS_PER_FLUSH;
    // Like the app's flusher: at most one write per interval; tokens that arrive meanwhile
    // (10 per interval) are merged into the next write, also when a write runs late.
    while (tokens < total) {
      const now = performance.now();
      const interval = Math.floor((now - began) / flags.flushMs) + 1;
      await sleep(began + interval * flags.flushMs - now);
      const elapsed = performance.now() - began;
      const due = Math.min(Math.floor(elapsed / flags.flushMs) * TOKENS_PER_FLUSH, total);
      if (due <= tokens) continue; // woke a hair before the boundary: nothing new yet
      const delta = " " + text.text(due - tokens, due - tokens);
      tokens = due;
      const bucket = Math.floor(elapsed / flags.flushMs);
      perInterval.set(bucket, (perInterval.get(bucket) ?? 0) + 1);
      const [ms, applied] = await timed(() =>
        store.appendAnswer(OWNER, message.id, { content: delta, seq: ++seq })
      );
      append.push(ms);
      calls++;
      if (!applied) rejected++;
      sent += delta;
    }
    intervals += Math.ceil((performance.now() - began) / flags.flushMs);
    maxInOne = Math.max(maxInOne, ...perInterval.values());
    const [updateMs] = await timed(() =>
      store.updateAnswer(OWNER, message.id, { state: "complete", stats: { tokens } })
    );
    update.push(updateMs);
    const stored = await store.getMessage(OWNER, message.id);
    if (stored.content !== sent || stored.state !== "complete" || stored.lastSeq !== seq) {
      textOk = false;
    }
  };
  await Promise.all(targets.map(answer));
  const duringWrites = await readers;
  const updatesAfter = await rowUpdates(seeded);
  return {
    answers: flags.answers,
    flushMs: flags.flushMs,
    seconds: flags.streamSeconds,
    baseline,
    duringWrites,
    writes: {
      startAnswerMs: summarize(start),
      appendAnswerMs: summarize(append),
      updateAnswerMs: summarize(update),
      appendCalls: calls,
      appendRejected: rejected,
      perAnswerPerInterval: round(calls / intervals, 3),
      maxPerAnswerInOneInterval: maxInOne,
      textOk,
      ...(updatesBefore === undefined || updatesAfter === undefined
        ? {}
        : { rowUpdatesCounted: updatesAfter - updatesBefore }),
    },
  };
}

/** PostgreSQL's own count of updated `messages` rows (its statistics lag up to ~1 s). */
async function rowUpdates(seeded: Seeded): Promise<number | undefined> {
  if (seeded.store.kind !== "postgres") return undefined;
  await sleep(1500);
  await seeded.query("SELECT pg_stat_clear_snapshot()");
  const [row] = await seeded.query(
    "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'messages'",
  );
  return Number(row?.n_tup_upd);
}

interface DatabaseResult {
  readonly database: Database;
  readonly seedMs: Seeded["seedMs"];
  readonly sizeBytes: number;
  readonly reads: {
    readonly listMessages: ReadResult;
    readonly listConversationsFirst: ReadResult;
    readonly listConversationsDeep: ReadResult & { readonly depth: number };
    readonly searchCommon: ReadResult;
    readonly searchRare: ReadResult;
    readonly searchTwoWords: ReadResult;
  };
  readonly streaming: StreamResult;
}

async function runDatabase(
  database: Database,
  flags: StoreFlags,
  plan: Plan,
  queries: Queries,
  progress: (line: string) => void,
): Promise<DatabaseResult> {
  progress(
    `  ${database}: seeding ${flags.messages} messages, ${flags.conversations} conversations`,
  );
  const seeded = database === "sqlite"
    ? await seedSqlite(plan, progress)
    : await seedPostgres(plan, progress);
  try {
    const { store } = seeded;
    progress(
      `  ${database}: seeded in ${(seeded.seedMs.total / 1000).toFixed(1)} s, ` +
        `${(seeded.sizeBytes / 1048576).toFixed(0)} MiB`,
    );
    const big = plan.conversationId(plan.big);
    const depth = Math.floor(flags.conversations * 0.9);
    const [at] = await seeded.query(`SELECT * FROM conversations WHERE owner_id = '${OWNER}'
      ORDER BY updated_at DESC, id DESC LIMIT 1 OFFSET ${depth - 1}`);
    const cursor = encodeCursor({
      id: at!.id as string,
      updatedAt: Number(at!.updated_at),
    } as Conversation);
    const ops = {
      listConversations: () => store.listConversations(OWNER, { limit: 50 }),
      searchCommon: () => store.search(OWNER, queries.common),
      searchRare: () => store.search(OWNER, queries.rare),
      searchTwoWords: () => store.search(OWNER, queries.twoWords),
      listConversationsDeep: () => store.listConversations(OWNER, { limit: 50, cursor }),
    };
    const n = flags.reads;
    const reads = {
      listMessages: await repeat(n, () => store.listMessages(OWNER, big), (r) => r.length),
      listConversationsFirst: await repeat(n, ops.listConversations, (r) => r.items.length),
      listConversationsDeep: {
        ...await repeat(n, ops.listConversationsDeep, (r) => r.items.length),
        depth,
      },
      searchCommon: await repeat(n, ops.searchCommon, (r) => r.length),
      searchRare: await repeat(n, ops.searchRare, (r) => r.length),
      searchTwoWords: await repeat(n, ops.searchTwoWords, (r) => r.length),
    };
    progress(
      `  ${database}: listMessages p50 ${reads.listMessages.ms.p50} ms, search common p50 ` +
        `${reads.searchCommon.ms.p50} ms; streaming ${flags.answers} answers…`,
    );
    const stream = await streaming(seeded, flags, ops);
    return {
      database,
      seedMs: seeded.seedMs,
      sizeBytes: seeded.sizeBytes,
      reads,
      streaming: stream,
    };
  } finally {
    await seeded.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

export interface StoreReport {
  readonly benchmark: "store";
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, unknown>;
  readonly databases: DatabaseResult[];
  readonly targets: Record<
    string,
    { readonly target: string; readonly value: number; readonly met: boolean }
  >;
  readonly durationSeconds: number;
}

const READ_NAMES: Record<keyof DatabaseResult["reads"], string> = {
  listMessages: "listMessages (big conversation)",
  listConversationsFirst: "listConversations, first page",
  listConversationsDeep: "listConversations, deep page",
  searchCommon: "search, common word",
  searchRare: "search, rare word",
  searchTwoWords: "search, two words",
};

function evaluate(results: readonly DatabaseResult[]): StoreReport["targets"] {
  const targets: StoreReport["targets"] = {};
  for (const r of results) {
    for (const [key, read] of Object.entries(r.reads)) {
      targets[`${r.database}.${key}`] = {
        target: `p50 ≤ ${TARGETS.readP50Ms} ms`,
        value: read.ms.p50,
        met: read.ms.p50 <= TARGETS.readP50Ms,
      };
    }
    for (const [key, s] of Object.entries(r.streaming.duringWrites)) {
      targets[`${r.database}.${key}.duringWrites`] = {
        target: `p50 ≤ ${TARGETS.readP50Ms} ms while ${r.streaming.answers} answers stream`,
        value: s.p50,
        met: s.p50 <= TARGETS.readP50Ms,
      };
    }
    const w = r.streaming.writes;
    targets[`${r.database}.writesPerAnswerPerFlush`] = {
      target: `≤ ${TARGETS.writesPerAnswerPerFlush} appendAnswer (one UPDATE) per answer per ` +
        `${r.streaming.flushMs} ms (max in any interval)`,
      value: w.maxPerAnswerInOneInterval,
      met: w.maxPerAnswerInOneInterval <= TARGETS.writesPerAnswerPerFlush && w.appendRejected === 0,
    };
  }
  return targets;
}

function storeTable(report: StoreReport): string {
  const lines: string[] = [];
  const s = report.settings;
  const row = (cells: readonly string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(34) : c.padStart(10)).join("  ");
  lines.push(
    `Store: ${s.messages} messages in ${s.conversations} conversations (owner "${OWNER}", one ` +
      `of ${s.bigConversation} messages), ${s.full ? "the issue's scale" : "--quick scale"}; ` +
      `${s.reads} timed calls each; queries ${JSON.stringify(s.queries)}`,
  );
  for (const r of report.databases) {
    lines.push("");
    lines.push(
      `${r.database}: seeded in ${(r.seedMs.total / 1000).toFixed(1)} s (conversations ` +
        `${(r.seedMs.conversations / 1000).toFixed(1)} s, messages ` +
        `${(r.seedMs.messages / 1000).toFixed(1)} s, indexes + analyze ` +
        `${(r.seedMs.indexes / 1000).toFixed(1)} s), ${(r.sizeBytes / 1048576).toFixed(0)} MiB`,
    );
    lines.push(row(["  server time, ms", "p50", "p99", "max", "rows"]));
    for (const [key, read] of Object.entries(r.reads)) {
      lines.push(
        row([
          `  ${READ_NAMES[key as keyof DatabaseResult["reads"]]}`,
          read.ms.p50.toFixed(2),
          read.ms.p99.toFixed(2),
          read.ms.max.toFixed(2),
          String(read.rows),
        ]),
      );
    }
    const st = r.streaming;
    lines.push(
      row([
        `  reader loop, ms (${st.seconds} s each)`,
        "idle p50",
        "idle p99",
        "write p50",
        "write p99",
        "n idle/wr",
      ]),
    );
    for (const [key, idle] of Object.entries(st.baseline)) {
      const busy = st.duringWrites[key]!;
      lines.push(
        row([
          `  ${key}`,
          idle.p50.toFixed(2),
          idle.p99.toFixed(2),
          busy.p50.toFixed(2),
          busy.p99.toFixed(2),
          `${idle.n}/${busy.n}`,
        ]),
      );
    }
    const w = st.writes;
    lines.push(
      `  ${st.answers} answers × ${st.seconds} s, flush every ${st.flushMs} ms: ` +
        `${w.appendCalls} appendAnswer (${w.appendRejected} rejected), ` +
        `${w.perAnswerPerInterval} per answer per interval, at most ` +
        `${w.maxPerAnswerInOneInterval} in one; text read back ${w.textOk ? "ok" : "WRONG"}` +
        (w.rowUpdatesCounted === undefined
          ? ""
          : `; PostgreSQL counted ${w.rowUpdatesCounted} row updates of messages`),
    );
    lines.push(
      `  write ms p50/p99: startAnswer ${w.startAnswerMs.p50}/${w.startAnswerMs.p99}, ` +
        `appendAnswer ${w.appendAnswerMs.p50}/${w.appendAnswerMs.p99}, updateAnswer ` +
        `${w.updateAnswerMs.p50}/${w.updateAnswerMs.p99}`,
    );
  }
  lines.push("");
  lines.push("Targets:");
  for (const [name, t] of Object.entries(report.targets)) {
    lines.push(`  ${name.padEnd(44)} ${t.target}: ${t.value} → ${t.met ? "met" : "NOT met"}`);
  }
  return lines.join("\n");
}

export async function runStore(
  flags: StoreFlags,
  machine: Record<string, unknown>,
  progress: (line: string) => void,
): Promise<StoreReport> {
  const began = performance.now();
  const plan = new Plan(flags);
  const words = new TextMaker(1).words;
  const queries: Queries = {
    common: words[0]!,
    rare: words[VOCABULARY - 1]!,
    twoWords: `${words[20]} ${words[300]}`,
  };
  progress(
    `Store benchmark (${flags.databases.join(", ")}): ${flags.messages} messages, ` +
      `${flags.conversations} conversations${flags.full ? "" : " (--quick)"}`,
  );
  const databases: DatabaseResult[] = [];
  for (const database of flags.databases) {
    databases.push(await runDatabase(database, flags, plan, queries, progress));
  }
  return {
    benchmark: "store",
    date: new Date().toISOString(),
    machine,
    settings: {
      full: flags.full,
      messages: flags.messages,
      conversations: flags.conversations,
      bigConversation: flags.bigConversation,
      owner: OWNER,
      reads: flags.reads,
      answers: flags.answers,
      streamSeconds: flags.streamSeconds,
      flushMs: flags.flushMs,
      tokensPerFlush: TOKENS_PER_FLUSH,
      vocabulary: VOCABULARY,
      wordsPerMessage: "10-40, Zipf (s = 1) over the vocabulary",
      queries,
      postgres: Deno.env.get("DATABASE_URL")
        ? "DATABASE_URL"
        : "throwaway cluster (tests/helpers/postgres.ts: fsync=off, synchronous_commit=off)",
    },
    databases,
    targets: evaluate(databases),
    durationSeconds: round((performance.now() - began) / 1000, 1),
  };
}

/** Runs the suite, prints the table, writes the JSON; returns the path written. */
export async function mainStore(
  flags: StoreFlags,
  machine: Record<string, unknown>,
  say: (line: string) => void,
): Promise<string> {
  const report = await runStore(flags, machine, say);
  say("");
  say(storeTable(report));
  const out = flags.out ??
    new URL(`./results/store-${report.date.replace(/[:.]/g, "-")}.json`, import.meta.url)
      .pathname;
  await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  say(`\nResults: ${out} (${report.durationSeconds} s)`);
  return out;
}
