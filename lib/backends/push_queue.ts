/**
 * Values pushed by callbacks, read with `for await`: the bridge from node-llama-cpp's
 * `onResponseChunk` and the models fetch's progress callback to our async generators.
 */
export class PushQueue<T> {
  readonly #pending: T[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  push(value: T): void {
    this.#pending.push(value);
    this.wake();
  }

  /** No more values come; the reader ends after those already pushed. */
  close(): void {
    this.#closed = true;
    this.wake();
  }

  /** Lets a waiting reader look again (at `stop`, say, after an abort). */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The values as they come, until closed and drained, or until `stop()` says so. */
  async *values(stop: () => boolean = () => false): AsyncGenerator<T> {
    while (!stop()) {
      if (this.#pending.length > 0) {
        yield this.#pending.shift()!;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}
