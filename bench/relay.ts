/**
 * The two paths the benchmark compares, for the same answers from the same fake Ollama:
 *
 * - direct: the npm `ollama` client (`ollama/browser`) streaming `/api/chat` from the fake, one
 *   client and one request per stream; either as shipped (Deno's own `fetch`), or with the
 *   `fetch` the app gives it (`fetchReusingBuffer`), so that what the app adds can be told apart
 *   from how it reads Ollama;
 * - through the app: one real WebSocket per stream to the app's `/ws`, one `chat` message each.
 *
 * Every stream records when its prompt went out, when its first token arrived and when it
 * ended, and checks that every token arrived, once, in order (token count and text).
 */
import { Ollama } from "ollama/browser";
import type { ServerFrame } from "../lib/protocol.ts";
import { answerTokens, BENCH_MODEL, promptFor, SYSTEM_PROMPT } from "./answer.ts";

export interface StreamSample {
  /** Round started (every prompt of the round counts from there) → first token received, ms. */
  readonly ttftMs: number;
  /** Round started → end of the answer received, ms. */
  readonly durationMs: number;
  /** (duration − TTFT) / tokens, ms. */
  readonly perTokenMs: number;
  /** Tokens received (content deltas, counting merged ones by their seq range). */
  readonly tokens: number;
  /** Frames (or NDJSON lines) that carried text. */
  readonly frames: number;
  readonly textOk: boolean;
  /** Set when the stream failed (error frame, end reason other than stop, exception). */
  readonly error?: string;
  /** The server's own TTFT from `answer.end` stats (app path only). */
  readonly serverTtftMs?: number;
}

export interface RoundResult {
  readonly samples: StreamSample[];
  /** First prompt sent → last answer ended, ms. */
  readonly wallMs: number;
  readonly expectedTokens: number;
  readonly receivedTokens: number;
}

/**
 * A stream with no end this long after its round started is counted as failed (its missing
 * tokens as lost). Generous: 1,000 streams on a shared, busy 2-core machine have taken 30 s.
 */
const ROUND_TIMEOUT_MS = 120_000;

function expectedText(tokens: number): string {
  return answerTokens(tokens).join("");
}

function failed(error: string): StreamSample {
  return {
    ttftMs: NaN,
    durationMs: NaN,
    perTokenMs: NaN,
    tokens: 0,
    frames: 0,
    textOk: false,
    error,
  };
}

function finish(samples: StreamSample[], started: number, streams: number, tokens: number) {
  return {
    samples,
    wallMs: performance.now() - started,
    expectedTokens: streams * tokens,
    receivedTokens: samples.reduce((sum, s) => sum + s.tokens, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Direct: the npm client against the fake

/** `streams` answers of `tokens` tokens each, all requested at once, straight from the fake. */
export async function directRound(
  ollamaUrl: string,
  streams: number,
  tokens: number,
  /** The client's `fetch`; Deno's own unless given. */
  fetcher?: typeof fetch,
): Promise<RoundResult> {
  const text = expectedText(tokens);
  // Every stream's clock starts at the round's start, as on the app path: the 100th request's
  // TTFT includes the client work of the 99 before it, whichever path does that work.
  const started = performance.now();
  const runs: Promise<StreamSample>[] = [];
  for (let i = 0; i < streams; i++) {
    runs.push(directStream(ollamaUrl, i, tokens, text, started, fetcher));
  }
  return finish(await Promise.all(runs), started, streams, tokens);
}

async function directStream(
  url: string,
  index: number,
  tokens: number,
  expected: string,
  sent: number,
  fetcher: typeof fetch | undefined,
): Promise<StreamSample> {
  const client = new Ollama(fetcher ? { host: url, fetch: fetcher } : { host: url });
  let first: number | undefined;
  let count = 0;
  let text = "";
  try {
    const stream = await client.chat({
      model: BENCH_MODEL,
      messages: [
        { role: "system", content: SYSTEM_PROMPT },
        { role: "user", content: promptFor(index, tokens) },
      ],
      stream: true,
    });
    let done = false;
    for await (const part of stream) {
      const content = part.message?.content ?? "";
      if (content !== "") {
        first ??= performance.now();
        count++;
        text += content;
      }
      if (part.done) {
        done = true;
        break;
      }
    }
    const end = performance.now();
    if (!done) return { ...failed("stream ended without done"), tokens: count };
    return sample(sent, first, end, count, count, text === expected);
  } catch (error) {
    return { ...failed(String(error)), tokens: count };
  }
}

function sample(
  sent: number,
  first: number | undefined,
  end: number,
  tokens: number,
  frames: number,
  textOk: boolean,
  extra: Partial<StreamSample> = {},
): StreamSample {
  const ttftMs = (first ?? end) - sent;
  const durationMs = end - sent;
  return {
    ttftMs,
    durationMs,
    perTokenMs: tokens > 0 ? (durationMs - ttftMs) / tokens : NaN,
    tokens,
    frames,
    textOk,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Through the app: one WebSocket per stream

interface Pending {
  readonly sent: number;
  readonly requestId: string;
  readonly expected: string;
  readonly tokens: number;
  readonly resolve: (sample: StreamSample) => void;
  answerId?: string;
  first?: number;
  received: number;
  frames: number;
  text: string;
  lastSeq: number;
  orderOk: boolean;
}

/** One benchmark client connection to the app's `/ws`. */
export class BenchSocket {
  readonly socket: WebSocket;
  readonly closed: Promise<void>;
  #pending: Pending | undefined;
  #rounds = 0;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", () => {
        this.#pending?.resolve(failed("socket closed"));
        this.#pending = undefined;
        resolve();
      }, { once: true })
    );
    socket.addEventListener("message", (event) => this.#receive(event.data as string));
  }

  /** Opens a socket and waits for the server's `hello`. */
  static open(wsUrl: string): Promise<BenchSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl);
      const bench = new BenchSocket(socket);
      const onHello = (event: MessageEvent) => {
        if ((JSON.parse(event.data as string) as ServerFrame).type !== "hello") return;
        socket.removeEventListener("message", onHello);
        resolve(bench);
      };
      socket.addEventListener("message", onHello);
      socket.addEventListener("error", () => reject(new Error(`WebSocket to ${wsUrl} failed`)), {
        once: true,
      });
    });
  }

  /**
   * Sends one `chat` message; resolves when its `answer.end` (or an error) arrives. TTFT and
   * duration count from `sent` (the round's start, shared by every stream of the round).
   */
  ask(index: number, tokens: number, expected: string, sent: number): Promise<StreamSample> {
    const requestId = `r${index}-${this.#rounds++}`;
    const { promise, resolve } = Promise.withResolvers<StreamSample>();
    this.#pending = {
      sent,
      requestId,
      expected,
      tokens,
      resolve,
      received: 0,
      frames: 0,
      text: "",
      lastSeq: 0,
      orderOk: true,
    };
    this.socket.send(JSON.stringify({
      type: "chat",
      requestId,
      model: BENCH_MODEL,
      messages: [{ role: "user", content: promptFor(index, tokens) }],
    }));
    return promise;
  }

  /** Gives up on the answer in flight, if any, recording how far it got. */
  abandon(reason: string): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    const state = p.answerId === undefined ? "no answer.start" : `${p.received} tokens in`;
    p.resolve({ ...failed(`${reason} (${state})`), tokens: p.received });
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000, "benchmark done");
    return this.closed;
  }

  #receive(data: string): void {
    const now = performance.now();
    const frame = JSON.parse(data) as ServerFrame;
    const p = this.#pending;
    if (!p) return;
    switch (frame.type) {
      case "answer.start":
        if (frame.requestId === p.requestId) p.answerId = frame.answerId;
        return;
      case "answer.delta": {
        if (frame.answerId !== p.answerId || !frame.content) return;
        p.first ??= now;
        const from = frame.from ?? frame.seq;
        if (from !== p.lastSeq + 1) p.orderOk = false;
        p.lastSeq = frame.seq;
        p.received += frame.seq - from + 1;
        p.frames++;
        p.text += frame.content;
        return;
      }
      case "answer.end": {
        if (frame.answerId !== p.answerId) return;
        this.#pending = undefined;
        const ok = p.orderOk && p.text === p.expected && frame.seq === p.lastSeq;
        const extra: Partial<StreamSample> = { serverTtftMs: frame.stats?.ttftMs ?? NaN };
        const base = sample(p.sent, p.first, now, p.received, p.frames, ok, extra);
        p.resolve(
          frame.reason === "stop"
            ? base
            : { ...base, error: `ended: ${frame.reason} ${frame.error?.code ?? ""}` },
        );
        return;
      }
      case "error":
        if (frame.requestId !== p.requestId) return;
        this.#pending = undefined;
        p.resolve({ ...failed(`error frame: ${frame.error.code}`), tokens: p.received });
        return;
      default:
        return;
    }
  }
}

/** Opens `count` sockets, at most `parallel` handshakes at a time. */
export async function openSockets(
  wsUrl: string,
  count: number,
  parallel = 64,
): Promise<BenchSocket[]> {
  const sockets: BenchSocket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      sockets.push(await BenchSocket.open(wsUrl));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return sockets;
}

/** One `chat` on each socket, all sent in one go; resolves once every answer ended. */
export async function appRound(
  sockets: readonly BenchSocket[],
  tokens: number,
): Promise<RoundResult> {
  const text = expectedText(tokens);
  const started = performance.now();
  const runs = sockets.map((socket, i) => socket.ask(i, tokens, text, started));
  // A stream that never ends is recorded as failed (and its tokens as lost), not waited for.
  const timer = setTimeout(() => {
    for (const socket of sockets) socket.abandon(`no answer.end after ${ROUND_TIMEOUT_MS} ms`);
  }, ROUND_TIMEOUT_MS);
  const samples = await Promise.all(runs);
  clearTimeout(timer);
  return finish(samples, started, sockets.length, tokens);
}
