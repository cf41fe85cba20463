/**
 * Picks the database: PostgreSQL when a URL is given (`DATABASE_URL`), otherwise one SQLite
 * file in the data directory. Either way the schema is migrated before the store is returned.
 *
 * @example
 * ```ts
 * const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
 * await store.markInterrupted(); // answers cut short by a crash or restart
 * ```
 */
import { openPostgresStore } from "./postgres.ts";
import { openSqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";

export interface StoreOptions {
  /** Where the SQLite file lives; created if missing. */
  readonly dataDir: string;
  /** `postgres://user:password@host:port/database`; SQLite is used when absent or empty. */
  readonly databaseUrl?: string | undefined;
}

export const SQLITE_FILE = "chat.sqlite3";

export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) return await openPostgresStore(options.databaseUrl);
  await Deno.mkdir(options.dataDir, { recursive: true });
  return openSqliteStore(`${options.dataDir.replace(/\/+$/, "")}/${SQLITE_FILE}`);
}
