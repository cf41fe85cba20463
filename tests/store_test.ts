/**
 * The store contract against both databases: SQLite in a temporary directory, PostgreSQL from
 * `DATABASE_URL` or a throwaway cluster (tests/helpers/postgres.ts).
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { MIGRATIONS } from "../lib/store/migrations/index.ts";
import { openStore, SQLITE_FILE } from "../lib/store/open.ts";
import type { Store } from "../lib/store/store.ts";
import { assertEquals } from "./helpers/assert.ts";
import { createTestDatabase } from "./helpers/postgres.ts";
import { storeContract, type StoreFixture } from "./store_contract.ts";

function fixture(
  openOne: () => Promise<Store>,
  cleanup: () => Promise<void>,
): Promise<StoreFixture> {
  return openOne().then((first) => {
    let current = first;
    return {
      get store() {
        return current;
      },
      async reopen() {
        await current.close();
        current = await openOne();
        return current;
      },
      async close() {
        await current.close();
        await cleanup();
      },
    };
  });
}

storeContract("sqlite", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "store-sqlite-" });
  return fixture(
    () => openStore({ dataDir }),
    () => Deno.remove(dataDir, { recursive: true }),
  );
});

storeContract("postgres", async () => {
  const database = await createTestDatabase();
  return fixture(() => openStore({ dataDir: "unused", databaseUrl: database.url }), database.drop);
});

Deno.test("store migrations - the list holds every file of the folder, numbered 1, 2, 3…", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL("../lib/store/migrations/", import.meta.url))) {
    if (/^\d{3}_.*\.ts$/.test(entry.name)) files.push(entry.name);
  }
  files.sort();
  assertEquals(MIGRATIONS.map((m) => m.version), files.map((_, i) => i + 1));
  assertEquals(files.map((f) => Number(f.slice(0, 3))), files.map((_, i) => i + 1));
});

Deno.test("store migrations - a version 1 SQLite database upgrades with its search index intact", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "store-upgrade-" });
  try {
    // A database as the first release left it: one finished answer, one cut by a crash mid-stream.
    const old = new DatabaseSync(join(dataDir, SQLITE_FILE));
    old.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    for (const statement of MIGRATIONS[0]!.sqlite) old.exec(statement);
    old.exec(`INSERT INTO schema_migrations VALUES (1, 'init', 0);
      INSERT INTO conversations (id, owner_id, title, created_at, updated_at)
        VALUES ('c1', 'me', 'Old', 1, 1);
      INSERT INTO messages (id, conversation_id, owner_id, role, content, state, created_at, updated_at)
        VALUES ('m1', 'c1', 'me', 'user', 'tell me about marmalade', 'complete', 1, 1),
               ('m2', 'c1', 'me', 'assistant', 'marmots live high', 'streaming', 2, 2)`);
    old.close();

    const store = await openStore({ dataDir });
    try {
      assertEquals(await store.schemaVersions(), MIGRATIONS.map((m) => m.version));
      assertEquals((await store.search("me", "marmalade")).map((h) => h.messageId), ["m1"]);
      // Prefixes as a person types them, through the new prefix index.
      assertEquals((await store.search("me", "ma")).map((h) => h.messageId), ["m1"]);
      assertEquals((await store.search("me", "marm")).map((h) => h.messageId), ["m1"]);
      // The streaming answer was left out and is indexed once it ends, without corrupting FTS5.
      await store.updateAnswer("me", "m2", { state: "interrupted" });
      assertEquals((await store.search("me", "marm")).map((h) => h.messageId), ["m2", "m1"]);
    } finally {
      await store.close();
    }
    const check = new DatabaseSync(join(dataDir, SQLITE_FILE));
    check.exec("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')");
    check.close();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
