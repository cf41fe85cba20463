/**
 * Every answer streaming in this process, by id, with the sockets watching it. An answer keeps
 * its text and, for each seq, how long the text was after it, so a socket that comes back
 * (a reload, a second tab, a reconnect) gets exactly what it missed as one delta and then the
 * rest live: no gap, no duplicate. Answers of stored conversations are written to the store
 * when they start, once per flush interval while they stream (one UPDATE each), and when they
 * end; they go on when their sockets close. Answers of the stateless `chat` message end when
 * their last socket leaves.
 */
import { setImmediate } from "node:timers";
import type { Backend, ChatRequest } from "../backends/backend.ts";
import type { Logger } from "../log.ts";
import type {
  AnswerDeltaFrame,
  AnswerEndFrame,
  AnswerStartFrame,
  ServerFrame,
} from "../protocol.ts";
import type { MessageState, Store } from "../store/store.ts";
import { type AbortReason, type AnswerOutcome, runTurn } from "./turn.ts";

/** A socket watching answers: whatever it is, it takes frames. */
export interface Watcher {
  send(frame: ServerFrame): void;
}

/** Where a stored answer lives, for its writes. */
export interface StoredAnswer {
  readonly store: Store;
  readonly ownerId: string;
}

export interface AnswerSpec {
  readonly id: string;
  readonly request: ChatRequest;
  /** Everything `answer.start` says besides ids the watcher supplies (requestId). */
  readonly start: Omit<AnswerStartFrame, "type" | "answerId" | "requestId">;
  /** Absent for the stateless `chat` message. */
  readonly stored?: StoredAnswer;
  /** For `continue`: the text and seq the stored answer already has. */
  readonly prefix?: { readonly content: string; readonly thinking: string; readonly seq: number };
}

/** How long an ended answer stays here for late resumes (a reload racing its end). */
const KEEP_ENDED_MS = 60_000;

/**
 * At most about one delta frame per answer per this many ms. A token that comes after a quiet
 * spell this long goes out at once (a model's real pace, 10–100 ms a token, is never delayed,
 * nor is the first token); tokens that come faster wait for the next tick and go out together
 * as one frame (`from`..`seq`). Fewer frames is most of what the relay costs per token.
 */
export const DELTA_MERGE_MS = 5;

/**
 * Starts answers in growing batches, one batch per turn of the event loop: the first at once,
 * then 2, 4, 8… while more wait. A request to Ollama leaves only when JavaScript yields to the
 * event loop, so setting up 100 prompts that arrived together in one go holds every request
 * back until the last is set up. Yielding after the first few sends them at once, and Ollama
 * works on them while the rest are set up; doubling keeps a burst of 1,000 to ten turns, so
 * no prompt waits long behind the other answers' tokens.
 */
export class StartPacer {
  readonly #waiting: (() => void)[] = [];
  /** Jobs the next turn may run; 0 while idle. */
  #batch = 0;

  run(job: () => void): void {
    if (this.#batch > 0) {
      this.#waiting.push(job);
      return;
    }
    // The next turn is booked first, so a job that throws cannot stall the ones queued later.
    this.#batch = 2;
    setImmediate(() => this.#turn());
    job();
  }

  #turn(): void {
    if (this.#waiting.length === 0) {
      this.#batch = 0;
      return;
    }
    const jobs = this.#waiting.splice(0, this.#batch);
    this.#batch *= 2;
    setImmediate(() => this.#turn());
    for (const job of jobs) job();
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One timer for every answer with merged deltas waiting, however many answers stream. */
export class DeltaTicker {
  readonly #due = new Set<LiveAnswer>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly ms = DELTA_MERGE_MS) {}

  later(answer: LiveAnswer): void {
    this.#due.add(answer);
    this.#timer ??= setTimeout(() => this.#tick(), this.ms);
  }

  #tick(): void {
    this.#timer = undefined;
    const due = [...this.#due];
    this.#due.clear();
    for (const answer of due) answer.sendDeltas();
  }
}

export class LiveAnswer {
  readonly id: string;
  readonly controller = new AbortController();
  /** When the prompt was taken: the answer's TTFT counts from here, queueing included. */
  readonly createdAt = performance.now();
  readonly watchers = new Set<Watcher>();
  readonly spec: AnswerSpec;
  seq: number;
  content: string;
  thinking: string;
  /** The seq the answer started from (0, or a continued answer's stored seq). */
  readonly baseSeq: number;
  /** Text lengths after each seq from `baseSeq` on, for resumes. */
  readonly #contentAt: number[];
  readonly #thinkingAt: number[];
  /** How much of the text is in the store. */
  flushed: { seq: number; content: number; thinking: number };
  #writing: Promise<unknown> = Promise.resolve();
  end: AnswerEndFrame | undefined;
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  readonly #ticker: DeltaTicker;
  /** Deltas not sent yet, merged into one frame (see {@link DELTA_MERGE_MS}). */
  #waiting: Mutable<AnswerDeltaFrame> | undefined;
  #lastSentAt = -Infinity;

  constructor(spec: AnswerSpec, ticker: DeltaTicker) {
    this.id = spec.id;
    this.spec = spec;
    this.#ticker = ticker;
    const prefix = spec.prefix ?? { content: "", thinking: "", seq: 0 };
    this.seq = this.baseSeq = prefix.seq;
    this.content = prefix.content;
    this.thinking = prefix.thinking;
    this.#contentAt = [prefix.content.length];
    this.#thinkingAt = [prefix.thinking.length];
    this.flushed = {
      seq: prefix.seq,
      content: prefix.content.length,
      thinking: prefix.thinking.length,
    };
    this.done = new Promise((resolve) => this.#resolveDone = resolve);
  }

  /** The frame that tells a watcher about this answer. */
  startFrame(requestId: string, seq?: number): AnswerStartFrame {
    return {
      type: "answer.start",
      answerId: this.id,
      requestId,
      ...this.spec.start,
      ...(seq !== undefined ? { seq } : this.baseSeq > 0 ? { seq: this.baseSeq } : {}),
    };
  }

  /** Adds a watcher that already shows the answer up to `seq`, and catches it up. */
  watchFrom(watcher: Watcher, seq: number): boolean {
    if (seq < this.baseSeq || seq > this.seq) return false;
    // The watchers there are get what waits first, so the newcomer's catch-up overlaps nothing.
    this.sendDeltas();
    watcher.send(this.startFrame("", seq));
    if (seq < this.seq) {
      const i = seq - this.baseSeq;
      const content = this.content.slice(this.#contentAt[i]);
      const thinking = this.thinking.slice(this.#thinkingAt[i]);
      watcher.send({
        type: "answer.delta",
        answerId: this.id,
        from: seq + 1,
        seq: this.seq,
        ...(content ? { content } : {}),
        ...(thinking ? { thinking } : {}),
      });
    }
    if (this.end) watcher.send(this.end);
    else this.watchers.add(watcher);
    return true;
  }

  append(content: string, thinking: string): void {
    this.seq++;
    this.content += content;
    this.thinking += thinking;
    this.#contentAt.push(this.content.length);
    this.#thinkingAt.push(this.thinking.length);
    if (this.watchers.size === 0) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      waiting.seq = this.seq;
      if (content) waiting.content = (waiting.content ?? "") + content;
      if (thinking) waiting.thinking = (waiting.thinking ?? "") + thinking;
      return;
    }
    const frame: Mutable<AnswerDeltaFrame> = thinking === ""
      ? { type: "answer.delta", answerId: this.id, seq: this.seq, content }
      : content === ""
      ? { type: "answer.delta", answerId: this.id, seq: this.seq, thinking }
      : { type: "answer.delta", answerId: this.id, seq: this.seq, content, thinking };
    // Date.now(): a 1 ms clock is enough here, and unlike performance.now() it is no call
    // into the runtime, once per token.
    const now = Date.now();
    if (now - this.#lastSentAt >= this.#ticker.ms) {
      this.#lastSentAt = now;
      this.broadcast(frame);
      return;
    }
    frame.from = this.seq;
    this.#waiting = frame;
    this.#ticker.later(this);
  }

  /** Sends the merged deltas waiting, if any (the ticker, a new watcher and the end call it). */
  sendDeltas(): void {
    const frame = this.#waiting;
    if (frame === undefined) return;
    this.#waiting = undefined;
    this.#lastSentAt = Date.now();
    if (frame.from === frame.seq) delete frame.from;
    this.broadcast(frame);
  }

  broadcast(frame: ServerFrame): void {
    for (const watcher of this.watchers) watcher.send(frame);
  }

  /** Writes the text not yet stored: one UPDATE, never two at once for one answer. */
  flush(logger: Logger): Promise<unknown> {
    const stored = this.spec.stored;
    if (!stored || this.seq === this.flushed.seq || this.end) return this.#writing;
    const delta = {
      content: this.content.slice(this.flushed.content),
      thinking: this.thinking.slice(this.flushed.thinking),
      seq: this.seq,
    };
    this.flushed = { seq: this.seq, content: this.content.length, thinking: this.thinking.length };
    this.#writing = this.#writing
      .then(() => stored.store.appendAnswer(stored.ownerId, this.id, delta))
      .catch((error) =>
        logger.error("answer flush failed", { answerId: this.id, error: String(error) })
      );
    return this.#writing;
  }

  /** Ends the answer: the last write, then the end frame to every watcher. */
  async finish(outcome: AnswerOutcome, logger: Logger): Promise<void> {
    this.sendDeltas();
    const end: AnswerEndFrame = {
      type: "answer.end",
      answerId: this.id,
      seq: this.seq,
      reason: outcome.reason,
      stats: outcome.stats,
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    const stored = this.spec.stored;
    if (stored) {
      await this.#writing;
      try {
        await stored.store.updateAnswer(stored.ownerId, this.id, {
          content: this.content,
          thinking: this.thinking,
          lastSeq: this.seq,
          state: storedState(outcome),
          stats: { ...outcome.stats, reason: outcome.reason },
          ...(outcome.error
            ? { errorCode: outcome.error.code, errorMessage: outcome.error.message }
            : {}),
        });
      } catch (error) {
        logger.error("answer end not stored", { answerId: this.id, error: String(error) });
      }
    }
    this.end = end;
    this.broadcast(end);
    this.watchers.clear();
    this.#resolveDone();
  }
}

function storedState(outcome: AnswerOutcome): MessageState {
  if (outcome.reason === "stopped") return "stopped";
  if (outcome.reason !== "error") return "complete";
  return outcome.error?.code === "shutting_down" ? "interrupted" : "error";
}

export interface AnswerRegistryDeps {
  readonly backend: Backend;
  readonly logger: Logger;
  readonly flushIntervalMs: number;
}

export class AnswerRegistry {
  readonly #deps: AnswerRegistryDeps;
  readonly #answers = new Map<string, LiveAnswer>();
  readonly #ticker = new DeltaTicker();
  readonly #pacer = new StartPacer();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(deps: AnswerRegistryDeps) {
    this.#deps = deps;
  }

  get(id: string): LiveAnswer | undefined {
    return this.#answers.get(id);
  }

  /** Answers still streaming (not the ended ones kept for late resumes). */
  get streaming(): number {
    let count = 0;
    for (const answer of this.#answers.values()) if (!answer.end) count++;
    return count;
  }

  /** Starts an answer, watched by `watcher` from its first frame. */
  start(spec: AnswerSpec, watcher: Watcher, requestId: string): LiveAnswer {
    const answer = new LiveAnswer(spec, this.#ticker);
    this.#answers.set(answer.id, answer);
    watcher.send(answer.startFrame(requestId));
    answer.watchers.add(watcher);
    this.#ensureTimer();
    this.#pacer.run(() => this.#run(answer));
    return answer;
  }

  #run(answer: LiveAnswer): void {
    const { backend, logger } = this.#deps;
    runTurn({
      backend,
      request: {
        ...answer.spec.request,
        onQueue: (position) => {
          if (position > 0) {
            answer.broadcast({ type: "answer.queued", answerId: answer.id, position });
          }
        },
      },
      signal: answer.controller.signal,
      startedAt: answer.createdAt,
      onDelta: (content, thinking) => answer.append(content, thinking),
    }).then(async (outcome) => {
      if (outcome.error) {
        logger.info("answer failed", { answerId: answer.id, code: outcome.error.code });
      }
      await answer.finish(outcome, logger);
      const timer = setTimeout(() => this.#answers.delete(answer.id), KEEP_ENDED_MS);
      Deno.unrefTimer(timer);
    });
  }

  /** A socket left: it watches nothing more; stateless answers nobody watches end. */
  leave(watcher: Watcher): void {
    for (const answer of this.#answers.values()) {
      if (!answer.watchers.delete(watcher)) continue;
      if (!answer.spec.stored && answer.watchers.size === 0) {
        answer.controller.abort("disconnected" satisfies AbortReason);
      }
    }
  }

  /** Ends every answer (stored ones become `interrupted`) and waits for their last writes. */
  async shutdown(): Promise<void> {
    clearInterval(this.#timer);
    const live = [...this.#answers.values()].filter((a) => !a.end);
    for (const answer of live) answer.controller.abort("shutting_down" satisfies AbortReason);
    await Promise.all(live.map((a) => a.done));
  }

  #ensureTimer(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      for (const answer of this.#answers.values()) answer.flush(this.#deps.logger);
    }, this.#deps.flushIntervalMs);
    Deno.unrefTimer(this.#timer);
  }
}
