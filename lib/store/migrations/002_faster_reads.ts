/**
 * Two read paths that missed the 50 ms goal at 1,000,000 messages (docs/benchmarks.md):
 *
 * - SQLite search: the last word of a query is a prefix (search as you type). Without a prefix
 *   index FTS5 merges the doclists of every term starting with it before it can order by rowid,
 *   so a short common prefix read most of the index. `prefix='2 3 4'` keeps ready-made doclists
 *   for prefixes of 2–4 characters; longer prefixes match few terms and stay cheap. The index is
 *   rebuilt from the messages that are not streaming, like the triggers keep it (a plain
 *   'rebuild' would also index streaming answers, which the triggers never remove).
 * - PostgreSQL list: `deleted_at IS NULL` in the middle of the old index does not let the planner
 *   read it in `updated_at DESC` order, so the first page sorted every conversation. A partial
 *   index on the live rows does.
 */
import type { Migration } from "./index.ts";

export const migration: Migration = {
  version: 2,
  name: "faster_reads",
  sqlite: [
    `DROP TABLE messages_fts`,
    `CREATE VIRTUAL TABLE messages_fts USING fts5 (
      content, content = 'messages', content_rowid = 'n',
      tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
    )`,
    `INSERT INTO messages_fts (rowid, content)
      SELECT n, content FROM messages WHERE state <> 'streaming'`,
  ],
  postgres: [
    `CREATE INDEX conversations_live ON conversations (owner_id, updated_at DESC, id DESC)
      WHERE deleted_at IS NULL`,
    `DROP INDEX conversations_list`,
  ],
};
