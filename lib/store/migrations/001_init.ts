/**
 * Conversations and messages, with full-text search. Times are integer milliseconds in both
 * databases so cursors and exports are identical whichever one answers.
 *
 * Answers that are still `streaming` are left out of the search index on purpose: a flush then
 * costs one plain row update, and the final state change indexes the whole answer once.
 */
import type { Migration } from "./index.ts";

const STATES = "('streaming', 'complete', 'stopped', 'interrupted', 'error')";

export const migration: Migration = {
  version: 1,
  name: "init",
  sqlite: [
    `CREATE TABLE conversations (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL,
      title TEXT NOT NULL DEFAULT '',
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      deleted_at INTEGER
    )`,
    `CREATE INDEX conversations_list ON conversations (owner_id, deleted_at, updated_at, id)`,
    `CREATE INDEX conversations_deleted ON conversations (deleted_at) WHERE deleted_at IS NOT NULL`,
    // `n` is the rowid the FTS index points at; an explicit INTEGER PRIMARY KEY keeps it stable
    // across VACUUM, which an implicit rowid is not.
    `CREATE TABLE messages (
      n INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
      owner_id TEXT NOT NULL,
      parent_id TEXT,
      role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
      content TEXT NOT NULL DEFAULT '',
      thinking TEXT NOT NULL DEFAULT '',
      model TEXT,
      state TEXT NOT NULL CHECK (state IN ${STATES}),
      error_code TEXT,
      error_message TEXT,
      stats TEXT,
      last_seq INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    `CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id)`,
    `CREATE INDEX messages_children ON messages (conversation_id, parent_id, created_at, id)`,
    `CREATE INDEX messages_streaming ON messages (state) WHERE state = 'streaming'`,
    `CREATE VIRTUAL TABLE messages_fts USING fts5 (
      content, content = 'messages', content_rowid = 'n', tokenize = 'unicode61 remove_diacritics 2'
    )`,
    `CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.state <> 'streaming'
    BEGIN
      INSERT INTO messages_fts (rowid, content) VALUES (new.n, new.content);
    END`,
    `CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.state <> 'streaming'
    BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.n, old.content);
    END`,
    // One trigger, so the old entry is always removed before the new one is added.
    `CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, state ON messages
    WHEN old.state <> 'streaming' OR new.state <> 'streaming'
    BEGIN
      INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.n, old.content WHERE old.state <> 'streaming';
      INSERT INTO messages_fts (rowid, content)
        SELECT new.n, new.content WHERE new.state <> 'streaming';
    END`,
  ],
  postgres: [
    `CREATE TABLE conversations (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL,
      title TEXT NOT NULL DEFAULT '',
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      deleted_at BIGINT
    )`,
    `CREATE INDEX conversations_list ON conversations (owner_id, deleted_at, updated_at, id)`,
    `CREATE INDEX conversations_deleted ON conversations (deleted_at) WHERE deleted_at IS NOT NULL`,
    `CREATE TABLE messages (
      id TEXT PRIMARY KEY,
      conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
      owner_id TEXT NOT NULL,
      parent_id TEXT,
      role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
      content TEXT NOT NULL DEFAULT '',
      thinking TEXT NOT NULL DEFAULT '',
      model TEXT,
      state TEXT NOT NULL CHECK (state IN ${STATES}),
      error_code TEXT,
      error_message TEXT,
      stats JSONB,
      last_seq INTEGER NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      search TSVECTOR GENERATED ALWAYS AS (
        CASE WHEN state = 'streaming' THEN NULL ELSE to_tsvector('simple'::regconfig, content) END
      ) STORED
    )`,
    `CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id)`,
    `CREATE INDEX messages_children ON messages (conversation_id, parent_id, created_at, id)`,
    `CREATE INDEX messages_streaming ON messages (state) WHERE state = 'streaming'`,
    `CREATE INDEX messages_search ON messages USING GIN (search)`,
    `CREATE INDEX messages_owner_created ON messages (owner_id, created_at)`,
  ],
};
