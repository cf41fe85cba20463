/**
 * One socket's outgoing side: bounded, and cheap per token.
 *
 * - Deltas of one answer that arrive within one turn of the event loop merge into one frame
 *   (`from`..`seq`): the first goes out at once (no added latency), the rest follow together
 *   at the end of the turn. Under load that is one frame per answer per turn instead of one per
 *   token; with tokens arriving one by one it changes nothing.
 * - While the socket has more than `sendBufferBytes` unsent, frames wait here in order and
 *   deltas keep merging, so what waits is never more than the answers' text itself: a slow
 *   reader gets fewer, larger deltas and loses nothing. A socket that takes nothing for
 *   `slowReaderTimeoutMs` while over the limit is given up on (`onStalled`: closed with 1013).
 * Nothing here blocks: other sockets never wait for this one.
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
  /** Answers that already sent a delta in this turn of the event loop. */
  readonly #sentThisTurn = new Set<string>();
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
    const isDelta = frame.type === "answer.delta";
    if (
      this.#waiting.length === 0 && !(isDelta && this.#sentThisTurn.has(frame.answerId)) &&
      this.#hasRoom()
    ) {
      this.#socket.send(encode(frame));
      if (isDelta) {
        this.#sentThisTurn.add(frame.answerId);
        this.#schedule(0);
      }
      return;
    }
    if (isDelta) {
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
    this.#schedule(0);
  }

  close(): void {
    this.#closed = true;
    this.#waiting.length = 0;
    this.#openDelta.clear();
    this.#sentThisTurn.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #hasRoom(): boolean {
    return this.#socket.bufferedAmount <= this.#limits.sendBufferBytes;
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#drain(), delayMs);
  }

  #drain(): void {
    this.#timer = undefined;
    this.#sentThisTurn.clear();
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
    // Still frames left: the socket is over its limit.
    const now = performance.now();
    if (sent > 0 || this.#congestedSince === 0) this.#congestedSince = now;
    else if (now - this.#congestedSince > this.#limits.slowReaderTimeoutMs) {
      this.close();
      this.#onStalled();
      return;
    }
    this.#schedule(DRAIN_POLL_MS);
  }
}

function mergeInto(target: Mutable<AnswerDeltaFrame>, next: AnswerDeltaFrame): void {
  target.from ??= target.seq;
  target.seq = next.seq;
  if (next.content) target.content = (target.content ?? "") + next.content;
  if (next.thinking) target.thinking = (target.thinking ?? "") + next.thinking;
}
