/**
 * Messages deleted through the API, kept in memory for the undo window so `…/restore` can put
 * them back. A message delete removes rows for real (unlike a conversation's soft delete), so
 * what undo needs lives here: per store, bounded, and gone after a restart (the window is
 * seconds long; the page's Undo says so when it comes too late).
 */
import type { Message, Store } from "./store/store.ts";

/** More deletes than this inside one window drop the oldest undo. */
const MAX_ENTRIES = 1000;

interface Entry {
  readonly rows: readonly Message[];
  readonly expiresAt: number;
}

export class MessageTrash {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Keeps `rows` (the delete of message `id`) until `ttlMs` from now. */
  put(ownerId: string, id: string, rows: readonly Message[], ttlMs: number): void {
    this.#sweep();
    const key = keyOf(ownerId, id);
    this.#entries.delete(key);
    this.#entries.set(key, { rows, expiresAt: this.now() + ttlMs });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= MAX_ENTRIES) break;
      this.#entries.delete(oldest);
    }
  }

  /** The rows of a delete still inside its window, removed from the trash; else undefined. */
  take(ownerId: string, id: string): readonly Message[] | undefined {
    this.#sweep();
    const key = keyOf(ownerId, id);
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    return entry?.rows;
  }

  #sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}

const trashes = new WeakMap<Store, MessageTrash>();

/** The trash of one store (one app): tests with several apps in one process stay apart. */
export function trashOf(store: Store): MessageTrash {
  let trash = trashes.get(store);
  if (!trash) trashes.set(store, trash = new MessageTrash());
  return trash;
}

function keyOf(ownerId: string, id: string): string {
  return `${ownerId}\u0000${id}`;
}
