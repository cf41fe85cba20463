/**
 * The store contract against both databases: SQLite in a temporary directory, PostgreSQL from
 * `DATABASE_URL` or a throwaway cluster (tests/helpers/postgres.ts).
 */
import { MIGRATIONS } from "../lib/store/migrations/index.ts";
import { openStore } from "../lib/store/open.ts";
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
