/**
 * Per-conversation generation settings and the owner's named presets of them. Every setting is
 * a nullable column: NULL means "use the configured default", so a default changed later
 * reaches every conversation that never set its own. The CHECKs repeat the fixed ranges of
 * lib/settings.ts (the configurable limits are checked by the app), so no client can store a
 * value Ollama would refuse.
 *
 * Settings belong to a conversation: they go with it when it is purged (ON DELETE CASCADE) and
 * stay while it is only soft-deleted, so a restore brings them back.
 */
import type { Migration } from "./index.ts";

const CHECKS = `CHECK (temperature IS NULL OR (temperature >= 0 AND temperature <= 2)),
      CHECK (top_p IS NULL OR (top_p >= 0 AND top_p <= 1)),
      CHECK (top_k IS NULL OR top_k >= 1),
      CHECK (num_ctx IS NULL OR num_ctx >= 1)`;

export const migration: Migration = {
  version: 3,
  name: "settings",
  sqlite: [
    `CREATE TABLE conversation_settings (
      conversation_id TEXT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
      owner_id TEXT NOT NULL,
      model TEXT,
      system_prompt TEXT,
      temperature REAL,
      top_p REAL,
      top_k INTEGER,
      num_ctx INTEGER,
      updated_at INTEGER NOT NULL,
      ${CHECKS}
    )`,
    `CREATE TABLE presets (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL,
      name TEXT NOT NULL,
      model TEXT,
      system_prompt TEXT,
      temperature REAL,
      top_p REAL,
      top_k INTEGER,
      num_ctx INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      UNIQUE (owner_id, name),
      ${CHECKS}
    )`,
  ],
  postgres: [
    `CREATE TABLE conversation_settings (
      conversation_id TEXT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
      owner_id TEXT NOT NULL,
      model TEXT,
      system_prompt TEXT,
      temperature DOUBLE PRECISION,
      top_p DOUBLE PRECISION,
      top_k INTEGER,
      num_ctx INTEGER,
      updated_at BIGINT NOT NULL,
      ${CHECKS}
    )`,
    `CREATE TABLE presets (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL,
      name TEXT NOT NULL,
      model TEXT,
      system_prompt TEXT,
      temperature DOUBLE PRECISION,
      top_p DOUBLE PRECISION,
      top_k INTEGER,
      num_ctx INTEGER,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      UNIQUE (owner_id, name),
      ${CHECKS}
    )`,
  ],
};
