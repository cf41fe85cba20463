/**
 * Every schema migration, in order. A migration is one numbered file holding both dialects side
 * by side, so the two databases can never drift apart; a test checks this list against the
 * folder. Rules: never edit a migration that has shipped, add the next number instead.
 */
import { migration as m001 } from "./001_init.ts";
import { migration as m002 } from "./002_faster_reads.ts";
import { migration as m003 } from "./003_settings.ts";

export interface Migration {
  /** 1, 2, 3…: the file's number; recorded in `schema_migrations` once applied. */
  readonly version: number;
  readonly name: string;
  /** Statements run in order inside one transaction, with the version row. */
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [m001, m002, m003];

/** The migrations not yet in `applied`, in order; refuses a database newer than this code. */
export function pending(applied: readonly number[]): Migration[] {
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  const unknown = applied.filter((v) => v > latest);
  if (unknown.length > 0) {
    throw new Error(
      `The database has schema version ${
        Math.max(...unknown)
      } but this code knows up to ${latest}. Run a newer release.`,
    );
  }
  return MIGRATIONS.filter((m) => !applied.includes(m.version));
}
