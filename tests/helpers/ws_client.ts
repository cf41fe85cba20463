/**
 * A real WebSocket client for tests that keeps every frame it receives and lets a test await
 * the next frame that matches, instead of sleeping.
 */
import type { ClientMessage, ServerFrame } from "../../lib/protocol.ts";

export class TestClient {
  readonly socket: WebSocket;
  readonly frames: ServerFrame[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;
  #waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  #cursor = 0;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers } as unknown as string[]);
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve(), { once: true });
      this.socket.addEventListener("error", () => reject(new Error("socket error")), {
        once: true,
      });
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.socket.addEventListener("close", (e) => resolve(e), { once: true })
    );
    this.socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data as string) as ServerFrame;
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const client = new TestClient(url, headers);
    await client.opened;
    await client.next("hello");
    return client;
  }

  send(message: ClientMessage | Record<string, unknown> | string): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next frame of `type` (and matching `where`) after those already taken by `next`. */
  next<T extends ServerFrame["type"]>(
    type: T,
    where: (frame: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    timeoutMs = 30_000, // a bound for a stuck test; real inference on a busy 2-core machine is slow
  ): Promise<Extract<ServerFrame, { type: T }>> {
    type F = Extract<ServerFrame, { type: T }>;
    const match = (f: ServerFrame): f is F => f.type === type && where(f as F);
    for (let i = this.#cursor; i < this.frames.length; i++) {
      const frame = this.frames[i]!;
      if (match(frame)) {
        this.#cursor = i + 1;
        return Promise.resolve(frame);
      }
    }
    return new Promise<F>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${type} frame within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          this.#cursor = this.frames.length;
          resolve(f as F);
        },
      });
    });
  }

  /**
   * Sends a chat and resolves with the whole answer once it has ended; `timeoutMs` bounds a
   * stuck test (real inference on a loaded machine needs more than the default).
   */
  async ask(
    model: string,
    prompt: string,
    history: { role: "user" | "assistant"; content: string }[] = [],
    timeoutMs?: number,
  ) {
    const requestId = crypto.randomUUID();
    this.send({
      type: "chat",
      requestId,
      model,
      messages: [...history, { role: "user", content: prompt }],
    });
    const start = await this.next("answer.start", (f) => f.requestId === requestId);
    const end = await this.next("answer.end", (f) => f.answerId === start.answerId, timeoutMs);
    return { start, end, ...this.answerText(start.answerId) };
  }

  /** The text of an answer so far, from its deltas, checking that seq strictly increases. */
  answerText(
    answerId: string,
  ): { content: string; thinking: string; deltas: number; lastSeq: number } {
    let content = "";
    let thinking = "";
    let last = 0;
    let deltas = 0;
    for (const frame of this.frames) {
      if (frame.type !== "answer.delta" || frame.answerId !== answerId) continue;
      if (frame.seq <= last) throw new Error(`seq went from ${last} to ${frame.seq}`);
      if (frame.from !== undefined && frame.from !== last + 1) {
        throw new Error(`a merged delta starts at ${frame.from}, after ${last}`);
      }
      if (frame.from === undefined && frame.seq !== last + 1) {
        throw new Error(`seq jumped from ${last} to ${frame.seq}`);
      }
      last = frame.seq;
      deltas++;
      content += frame.content ?? "";
      thinking += frame.thinking ?? "";
    }
    return { content, thinking, deltas, lastSeq: last };
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    await this.closed;
  }
}
