/**
 * One socket's outgoing side, bounded. While the socket has at most `sendBufferBytes` unsent,
 * frames go straight out (the per-token path: one check, one send). Past that, frames wait here
 * in order and the deltas of one answer merge into one frame (`from`..`seq`), so what waits is
 * never more than the answers' text itself: a slow reader gets fewer, larger deltas and loses
 * nothing. A socket that takes nothing for `slowReaderTimeoutMs` while over the limit is given
 * up on (`onStalled`: closed with 1013). Nothing here blocks: other sockets never wait for it.
 */
import { type AnswerDeltaFrame, encode, type ServerFrame } from "../protocol.ts";

export interface OutboxLimits {
  readonly sendBufferBytes: number;
  readonly slowReaderTimeoutMs: number;
}

/** How often a congested socket is checked for room; short enough to add little latency. */
const DRAIN_POLL_MS = 20;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class Outbox {
  readonly #socket: WebSocket;
  readonly #limits: OutboxLimits;
  readonly #onStalled: () => void;
  readonly #waiting: ServerFrame[] = [];
  /** Index in #waiting of each answer's last delta, where the next delta merges. */
  readonly #openDelta = new Map<string, number>();
  #congestedSince = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(socket: WebSocket, limits: OutboxLimits, onStalled: () => void) {
    this.#socket = socket;
    this.#limits = limits;
    this.#onStalled = onStalled;
  }

  /** Frames waiting in memory (merged deltas count once). */
  get waiting(): number {
    return this.#waiting.length;
  }

  send(frame: ServerFrame): void {
    if (this.#closed) return;
    if (this.#waiting.length === 0 && this.#hasRoom()) {
      this.#socket.send(encode(frame));
      return;
    }
    if (frame.type === "answer.delta") {
      const index = this.#openDelta.get(frame.answerId);
      if (index !== undefined) {
        mergeInto(this.#waiting[index] as Mutable<AnswerDeltaFrame>, frame);
        return;
      }
      this.#openDelta.set(frame.answerId, this.#waiting.length);
      this.#waiting.push({ ...frame });
    } else {
      if (frame.type === "answer.end") this.#openDelta.delete(frame.answerId);
      this.#waiting.push(frame);
    }
    if (this.#congestedSince === 0) this.#congestedSince = performance.now();
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    this.#waiting.length = 0;
    this.#openDelta.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #hasRoom(): boolean {
    return this.#socket.bufferedAmount <= this.#limits.sendBufferBytes;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#drain(), DRAIN_POLL_MS);
  }

  #drain(): void {
    this.#timer = undefined;
    if (this.#closed || this.#socket.readyState !== WebSocket.OPEN) return;
    let sent = 0;
    while (sent < this.#waiting.length && this.#hasRoom()) {
      this.#socket.send(encode(this.#waiting[sent]!));
      sent++;
    }
    if (sent > 0) {
      this.#waiting.splice(0, sent);
      this.#openDelta.clear();
      this.#waiting.forEach((frame, index) => {
        if (frame.type === "answer.delta") this.#openDelta.set(frame.answerId, index);
        else if (frame.type === "answer.end") this.#openDelta.delete(frame.answerId);
      });
    }
    if (this.#waiting.length === 0) {
      this.#congestedSince = 0;
      return;
    }
    // Still frames left: the socket is over its limit. Progress restarts the stall clock.
    const now = performance.now();
    if (sent > 0) this.#congestedSince = now;
    else if (now - this.#congestedSince > this.#limits.slowReaderTimeoutMs) {
      this.close();
      this.#onStalled();
      return;
    }
    this.#schedule();
  }
}

function mergeInto(target: Mutable<AnswerDeltaFrame>, next: AnswerDeltaFrame): void {
  target.from ??= target.seq;
  target.seq = next.seq;
  if (next.content) target.content = (target.content ?? "") + next.content;
  if (next.thinking) target.thinking = (target.thinking ?? "") + next.thinking;
}
