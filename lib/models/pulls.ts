/**
 * The pulls this instance is running, so a client can cancel one by asking
 * (`DELETE /api/models/pull`) as well as by going away. Going away alone is not always seen at
 * once: a proxy in front of the app may keep its own connection to the app open, and a browser
 * may keep reading an aborted response to reuse its connection.
 */
export class PullsInFlight {
  readonly #running = new Map<string, Set<() => void>>();

  /** Registers a running pull of `name` for `owner`; `cancel` stops it. Returns `forget`. */
  add(owner: string, name: string, cancel: () => void): () => void {
    const key = keyOf(owner, name);
    const set = this.#running.get(key) ?? new Set();
    set.add(cancel);
    this.#running.set(key, set);
    return () => {
      set.delete(cancel);
      if (set.size === 0 && this.#running.get(key) === set) this.#running.delete(key);
    };
  }

  /** Cancels `owner`'s pulls of `name` running here; false if there were none. */
  cancel(owner: string, name: string): boolean {
    const set = this.#running.get(keyOf(owner, name));
    if (!set) return false;
    for (const cancel of [...set]) cancel();
    return true;
  }
}

/** Ollama's names are case-insensitive. */
function keyOf(owner: string, name: string): string {
  return `${owner}\n${name.toLowerCase()}`;
}
