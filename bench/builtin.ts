/**
 * `deno task bench --suite=builtin`: the built-in engine (llama.cpp through node-llama-cpp)
 * through the app against node-llama-cpp called directly, same model, threads, context, prompt
 * and greedy sampling. See docs/benchmarks.md ("Built-in model").
 *
 * Processes, never generating at the same time (2 cores):
 * - the app (`main.ts` through `spawnApp`, `BUILTIN_MODELS=on`, `OLLAMA_HOST` = a closed
 *   loopback port), asked over a real WebSocket from this process;
 * - the direct path: this file run as its own `deno run` child (`--direct-worker`), which
 *   loads the model the way `LlamaBackend` does (`getLlama({build:"never"})`, `loadModel`,
 *   `createContext`, one `LlamaChat` on its one sequence, the GGUF's own chat wrapper) and
 *   answers one JSON request per stdin line with one JSON result per stdout line.
 *
 * In one run: (1) cold start of a fresh app (spawn → listening, first prompt → first delta) and
 * its RSS before and after the model loads; (2) rounds alternating direct and app, tokens/s
 * from first token to end (and from the request); (3) WebSocket ping RTT every 10 ms on a
 * second connection while a long answer streams, against the same pings with nothing
 * generating, for each `--ping-threads` value (a fresh app each).
 */
import { spawnApp } from "../tests/helpers/app.ts";
import type { ServerFrame } from "../lib/protocol.ts";
import { peakRssBytes, rssBytes } from "./procfs.ts";
import { median, round, summarize, type Summary } from "./stats.ts";
import { wholeFlag } from "./flags.ts";

export const BUILTIN_FLAG_NAMES = [
  "llama-threads",
  "max-tokens",
  "ping-tokens",
  "ping-threads",
  "context-size",
  "builtin-rounds",
  "builtin-out",
] as const;

export interface BuiltinFlags {
  readonly quick: boolean;
  readonly threads: number;
  readonly maxTokens: number;
  readonly pingTokens: number;
  readonly pingThreads: number[];
  readonly contextSize: number;
  readonly rounds: number;
  readonly out: string | undefined;
}

const MODEL = "builtin/smollm2-135m";
const SYSTEM_PROMPT = "You are a helpful assistant.";
/** Greedy SmolLM2-135M keeps going past 256 tokens on this one (no early end of turn). */
const PROMPT = "Write a long story about a dragon who learns to cook.";
const PING_EVERY_MS = 10;
const TARGETS = { ratio: 0.95, pingP99Ms: 20 };
const ANSWER_TIMEOUT_MS = 60_000;

/** Builtin flags from the `--name=value` map main.ts parsed. */
export function parseBuiltinFlags(values: ReadonlyMap<string, string>): BuiltinFlags {
  const quick = values.get("quick") === "true";
  const positive = (name: string, fallback: number) => wholeFlag(values, name, fallback);
  const threads = positive("llama-threads", navigator.hardwareConcurrency);
  const pingThreads = (values.get("ping-threads") ?? (quick ? `${threads}` : `${threads},1`))
    .split(",").map((s) => Number(s.trim()));
  if (pingThreads.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error("--ping-threads wants positive whole numbers");
  }
  return {
    quick,
    threads,
    maxTokens: positive("max-tokens", quick ? 64 : 128),
    pingTokens: positive("ping-tokens", quick ? 128 : 256),
    pingThreads: [...new Set(pingThreads)],
    contextSize: positive("context-size", 2048),
    rounds: positive("builtin-rounds", quick ? 2 : 5),
    out: values.get("builtin-out"),
  };
}

// ---------------------------------------------------------------------------------------------
// One generation's figures, both paths

export interface Generation {
  readonly tokens: number;
  /** Request → first token, ms. */
  readonly ttftMs: number;
  /** First token → end, ms. */
  readonly genMs: number;
  /** Request → end, ms. */
  readonly totalMs: number;
  /** tokens / (end − first token). */
  readonly tokensPerSecond: number;
  /** tokens / (end − request). */
  readonly totalTokensPerSecond: number;
  readonly text: string;
  /** App path: `stats.tokensPerSecond` from `answer.end`. */
  readonly serverTokensPerSecond?: number;
  readonly serverTokens?: number;
  readonly reason?: string;
}

function generation(
  sent: number,
  first: number,
  end: number,
  tokens: number,
  text: string,
  extra: Partial<Generation> = {},
): Generation {
  return {
    tokens,
    ttftMs: round(first - sent, 2),
    genMs: round(end - first, 2),
    totalMs: round(end - sent, 2),
    tokensPerSecond: round(tokens / ((end - first) / 1000), 2),
    totalTokensPerSecond: round(tokens / ((end - sent) / 1000), 2),
    text,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// The direct path: this file as a child process

interface WorkerRequest {
  readonly maxTokens: number;
}

async function directWorker(args: readonly string[]): Promise<void> {
  const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const modelPath = arg("model")!;
  const threads = Number(arg("threads"));
  const contextSize = Number(arg("context-size"));
  const out = (value: unknown) =>
    Deno.stdout.writeSync(new TextEncoder().encode("@@" + JSON.stringify(value) + "\n"));
  const began = performance.now();
  // As LlamaBackend: node-llama-cpp imported on first use, a prebuilt binary, warnings only.
  const { getLlama, LlamaChat, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ build: "never", logLevel: LlamaLogLevel.warn, logger: () => {} });
  const initMs = performance.now() - began;
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({
    contextSize: Math.min(contextSize, model.trainContextSize),
    threads,
    sequences: 1,
  });
  const chat = new LlamaChat({ contextSequence: context.getSequence() });
  out({
    ready: true,
    initMs: round(initMs, 1),
    loadMs: round(performance.now() - began - initMs, 1),
    wrapper: chat.chatWrapper.wrapperName,
  });
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const request = JSON.parse(buffered.slice(0, newline)) as WorkerRequest;
      buffered = buffered.slice(newline + 1);
      let tokens = 0;
      let first = 0;
      const sent = performance.now();
      // The same history and options LlamaBackend builds for the app's request.
      const response = await chat.generateResponse([
        { type: "system", text: SYSTEM_PROMPT },
        { type: "user", text: PROMPT },
        { type: "model", response: [] },
      ], {
        stopOnAbortSignal: true,
        maxTokens: request.maxTokens,
        temperature: 0,
        topK: 40,
        topP: 0.9,
        onResponseChunk: (chunk) => {
          if (chunk.tokens.length === 0) return;
          tokens += chunk.tokens.length;
          if (first === 0) first = performance.now();
        },
      });
      const end = performance.now();
      out(
        generation(sent, first, end, tokens, response.response, {
          reason: response.metadata.stopReason,
        }),
      );
    }
  }
  chat.dispose();
  await context.dispose();
  await model.dispose();
}

interface DirectProcess {
  readonly pid: number;
  readonly initMs: number;
  readonly loadMs: number;
  readonly spawnToReadyMs: number;
  readonly wrapper: string;
  generate(maxTokens: number): Promise<Generation>;
  stop(): Promise<void>;
}

async function startDirect(
  modelPath: string,
  threads: number,
  contextSize: number,
): Promise<DirectProcess> {
  const spawned = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--direct-worker",
      `--model=${modelPath}`,
      `--threads=${threads}`,
      `--context-size=${contextSize}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextMessage = async (): Promise<Record<string, unknown>> => {
    while (true) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith("@@")) return JSON.parse(line.slice(2));
        continue; // anything else llama.cpp may print
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the direct worker exited");
      buffered += value;
    }
  };
  const ready = await nextMessage();
  return {
    pid: child.pid,
    initMs: ready.initMs as number,
    loadMs: ready.loadMs as number,
    spawnToReadyMs: round(performance.now() - spawned, 1),
    wrapper: ready.wrapper as string,
    async generate(maxTokens) {
      await writer.write(new TextEncoder().encode(JSON.stringify({ maxTokens }) + "\n"));
      return await nextMessage() as unknown as Generation;
    },
    async stop() {
      try {
        await writer.close();
      } catch {
        // already closed
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 5000);
      await child.status;
      clearTimeout(timer);
      await reader.cancel().catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Through the app: a WebSocket client

class AppSocket {
  readonly #socket: WebSocket;
  #listeners = new Set<(frame: ServerFrame, at: number) => void>();
  #count = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      const at = performance.now();
      const frame = JSON.parse(event.data as string) as ServerFrame;
      for (const listener of this.#listeners) listener(frame, at);
    });
  }

  static open(wsUrl: string): Promise<AppSocket> {
    return new Promise((resolve, reject) => {
      const app = new AppSocket(new WebSocket(wsUrl));
      const off = app.on((frame) => {
        if (frame.type !== "hello") return;
        off();
        resolve(app);
      });
      app.#socket.addEventListener("error", () => reject(new Error(`WebSocket ${wsUrl} failed`)));
    });
  }

  on(listener: (frame: ServerFrame, at: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  send(message: Record<string, unknown>): void {
    this.#socket.send(JSON.stringify(message));
  }

  /** One chat; `stopAfterFirst` sends `stop` on the first delta (a warm-up that only loads). */
  ask(stopAfterFirst = false): Promise<Generation> {
    const requestId = `b${this.#count++}`;
    const { promise, resolve, reject } = Promise.withResolvers<Generation>();
    let answerId: string | undefined;
    let first = 0;
    let text = "";
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no answer.end within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    const off = this.on((frame, at) => {
      if (frame.type === "answer.start" && frame.requestId === requestId) answerId = frame.answerId;
      else if (frame.type === "error" && frame.requestId === requestId) {
        off();
        clearTimeout(timer);
        reject(new Error(`error frame: ${frame.error.code}: ${frame.error.message}`));
      } else if (frame.type === "answer.delta" && frame.answerId === answerId) {
        if (first === 0) {
          first = at;
          if (stopAfterFirst) this.send({ type: "stop", answerId });
        }
        text += frame.content ?? "";
      } else if (frame.type === "answer.end" && frame.answerId === answerId) {
        off();
        clearTimeout(timer);
        if (frame.reason === "error") {
          reject(new Error(`answer error: ${frame.error?.code}: ${frame.error?.message}`));
          return;
        }
        const tokens = frame.stats?.tokens ?? frame.seq;
        resolve(generation(sent, first || at, at, tokens, text, {
          reason: frame.reason,
          ...(frame.stats?.tokens !== undefined ? { serverTokens: frame.stats.tokens } : {}),
          ...(frame.stats?.tokensPerSecond !== undefined
            ? { serverTokensPerSecond: frame.stats.tokensPerSecond }
            : {}),
        }));
      }
    });
    const sent = performance.now();
    this.send({
      type: "chat",
      requestId,
      model: MODEL,
      messages: [{ role: "user", content: PROMPT }],
    });
    return promise;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (this.#socket.readyState === WebSocket.CLOSED) resolve();
      this.#socket.addEventListener("close", () => resolve(), { once: true });
    });
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(1000, "benchmark done");
    return closed;
  }
}

/** Pings every 10 ms on its own connection until stopped; the pong RTTs in ms. */
function pinger(socket: AppSocket): { stop(): Promise<number[]> } {
  const rtts: number[] = [];
  let outstanding = 0;
  const off = socket.on((frame, at) => {
    if (frame.type !== "pong") return;
    outstanding--;
    rtts.push(at - frame.t);
  });
  const timer = setInterval(() => {
    outstanding++;
    socket.send({ type: "ping", t: performance.now() });
  }, PING_EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      // Let the last pongs come back (at most 1 s).
      for (let i = 0; i < 100 && outstanding > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      off();
      return rtts;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The app process

/** A loopback port nothing listens on, so the app's Ollama probe fails at once. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function appEnv(
  flags: BuiltinFlags,
  threads: number,
  maxTokens: number,
  dataDir: string,
): Record<string, string> {
  return {
    BUILTIN_MODELS: "on",
    BUILTIN_MODEL: MODEL,
    OLLAMA_HOST: `127.0.0.1:${closedPort()}`,
    LLAMA_THREADS: String(threads),
    LLAMA_CONTEXT_SIZE: String(flags.contextSize),
    MODEL_TEMPERATURE: "0",
    MODEL_NUM_PREDICT: String(maxTokens),
    SYSTEM_PROMPT,
    DATA_DIR: dataDir,
    // 100 pings/s on one connection is above the default 50 frames/s.
    WS_MAX_FRAMES_PER_SECOND: "10000",
    LOG_LEVEL: "warn",
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The suite

interface PingResult {
  readonly threads: number;
  readonly answerTokens: number;
  readonly idle: Summary;
  readonly generating: Summary;
  /** Pings sent and pongs received while generating. */
  readonly generatingCount: number;
  /** The long answer's own figures (client side). */
  readonly answer: Generation;
}

export interface BuiltinReport {
  readonly benchmark: "builtin";
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, unknown>;
  readonly coldStart: {
    readonly spawnToListeningMs: number;
    readonly firstPromptToFirstDeltaMs: number;
    readonly sumMs: number;
    /** The server's own TTFT of that first answer (`answer.end` stats). */
    readonly firstAnswer: Generation;
    readonly directWorker: { initMs: number; loadMs: number; spawnToReadyMs: number };
  };
  readonly rss: {
    readonly beforeLoadBytes: number;
    readonly loadedIdleBytes: number;
    readonly vmHwmBytes: number;
    readonly directWorkerLoadedBytes: number;
  };
  readonly throughput: {
    readonly rounds: number;
    readonly maxTokens: number;
    readonly sameText: boolean;
    readonly direct: Generation[];
    readonly app: Generation[];
    readonly median: {
      readonly direct: { tokensPerSecond: number; totalTokensPerSecond: number; ttftMs: number };
      readonly app: {
        tokensPerSecond: number;
        totalTokensPerSecond: number;
        ttftMs: number;
        serverTokensPerSecond: number;
      };
    };
    /** app / direct, medians of tokens/s first token → end. */
    readonly ratio: number;
    readonly ratioTotal: number;
    readonly ratioServer: number;
  };
  readonly ping: PingResult[];
  readonly targets: Record<
    string,
    { readonly target: string; readonly value: number; readonly met: boolean }
  >;
  readonly durationSeconds: number;
}

async function pingRun(
  flags: BuiltinFlags,
  threads: number,
  dataDir: string,
  progress: (line: string) => void,
): Promise<PingResult> {
  const app = await spawnApp(appEnv(flags, threads, flags.pingTokens, dataDir));
  const wsUrl = app.url.replace(/^http/, "ws") + "/ws";
  const asker = await AppSocket.open(wsUrl);
  const pinged = await AppSocket.open(wsUrl);
  try {
    await asker.ask(true); // loads the model; stopped at its first token
    await sleep(200);
    const idleMs = flags.quick ? 1000 : 2000;
    const idlePings = pinger(pinged);
    await sleep(idleMs);
    const idle = await idlePings.stop();
    const busyPings = pinger(pinged);
    const answer = await asker.ask();
    const generating = await busyPings.stop();
    const result: PingResult = {
      threads,
      answerTokens: answer.tokens,
      idle: summarize(idle),
      generating: summarize(generating),
      generatingCount: generating.length,
      answer: { ...answer, text: answer.text.slice(0, 80) },
    };
    progress(
      `  ping, LLAMA_THREADS=${threads}: idle p50/p99 ${result.idle.p50}/${result.idle.p99} ms, ` +
        `generating ${answer.tokens} tokens (${answer.tokensPerSecond} tok/s) p50/p99/max ` +
        `${result.generating.p50}/${result.generating.p99}/${result.generating.max} ms`,
    );
    return result;
  } finally {
    await asker.close();
    await pinged.close();
    await app.stop();
  }
}

export async function runBuiltin(
  flags: BuiltinFlags,
  machine: Record<string, unknown>,
  progress: (line: string) => void,
): Promise<BuiltinReport> {
  const began = performance.now();
  const { modelPath, dataDir } = await import("../tests/helpers/builtin_model.ts");
  progress(
    `Built-in model benchmark: ${MODEL} (${modelPath}), LLAMA_THREADS=${flags.threads}, ` +
      `context ${flags.contextSize}, ${flags.maxTokens} tokens × ${flags.rounds} rounds, ` +
      `greedy`,
  );

  // 1. Cold start: a fresh app, the model file on disk but not loaded.
  const spawned = performance.now();
  const app = await spawnApp(appEnv(flags, flags.threads, flags.maxTokens, dataDir));
  const spawnToListeningMs = performance.now() - spawned;
  const pid = app.process.pid;
  let direct: DirectProcess | undefined;
  let socket: AppSocket | undefined;
  try {
    await sleep(200);
    const beforeLoadBytes = rssBytes(pid);
    socket = await AppSocket.open(app.url.replace(/^http/, "ws") + "/ws");
    const firstAnswer = await socket.ask();
    await sleep(300);
    const loadedIdleBytes = rssBytes(pid);
    progress(
      `  cold start: spawn → listening ${spawnToListeningMs.toFixed(0)} ms, first prompt → ` +
        `first delta ${firstAnswer.ttftMs.toFixed(0)} ms; RSS ${mib(beforeLoadBytes)} → ` +
        `${mib(loadedIdleBytes)}`,
    );

    // 2. Throughput: the direct worker, warmed up like the app was, then alternating rounds.
    direct = await startDirect(modelPath, flags.threads, flags.contextSize);
    await direct.generate(flags.maxTokens);
    const directWorkerLoadedBytes = rssBytes(direct.pid);
    const directInfo = {
      initMs: direct.initMs,
      loadMs: direct.loadMs,
      spawnToReadyMs: direct.spawnToReadyMs,
    };
    const chatWrapper = direct.wrapper;
    const directRuns: Generation[] = [];
    const appRuns: Generation[] = [];
    for (let r = 0; r < flags.rounds; r++) {
      const runDirect = async () => directRuns.push(await direct!.generate(flags.maxTokens));
      const runApp = async () => appRuns.push(await socket!.ask());
      if (r % 2 === 0) {
        await runDirect();
        await runApp();
      } else {
        await runApp();
        await runDirect();
      }
      progress(
        `  round ${r + 1}: direct ${directRuns.at(-1)!.tokensPerSecond} tok/s, app ` +
          `${appRuns.at(-1)!.tokensPerSecond} tok/s (server ` +
          `${appRuns.at(-1)!.serverTokensPerSecond})`,
      );
    }
    const vmHwmBytes = peakRssBytes(pid);
    await direct.stop();
    direct = undefined;
    await socket.close();
    socket = undefined;
    await app.stop();

    // 3. Ping round-trips, a fresh app per thread count.
    const ping: PingResult[] = [];
    for (const threads of flags.pingThreads) {
      ping.push(await pingRun(flags, threads, dataDir, progress));
    }

    const med = (runs: Generation[], key: keyof Generation) =>
      round(median(runs.map((g) => g[key] as number)), 2);
    const medians = {
      direct: {
        tokensPerSecond: med(directRuns, "tokensPerSecond"),
        totalTokensPerSecond: med(directRuns, "totalTokensPerSecond"),
        ttftMs: med(directRuns, "ttftMs"),
      },
      app: {
        tokensPerSecond: med(appRuns, "tokensPerSecond"),
        totalTokensPerSecond: med(appRuns, "totalTokensPerSecond"),
        ttftMs: med(appRuns, "ttftMs"),
        serverTokensPerSecond: med(appRuns, "serverTokensPerSecond"),
      },
    };
    const ratio = round(medians.app.tokensPerSecond / medians.direct.tokensPerSecond, 3);
    const main = ping.find((p) => p.threads === flags.threads) ?? ping[0];
    const targets: BuiltinReport["targets"] = {
      throughputRatio: {
        target: `app/direct tokens/s ≥ ${TARGETS.ratio}`,
        value: ratio,
        met: ratio >= TARGETS.ratio,
      },
    };
    for (const p of ping) {
      targets[`pingP99Threads${p.threads}`] = {
        target:
          `ping RTT p99 ≤ ${TARGETS.pingP99Ms} ms while generating, LLAMA_THREADS=${p.threads}`,
        value: p.generating.p99,
        met: p.generating.p99 <= TARGETS.pingP99Ms,
      };
    }
    const firstText = directRuns[0]?.text;
    return {
      benchmark: "builtin",
      date: new Date().toISOString(),
      machine,
      settings: {
        model: MODEL,
        modelPath,
        prompt: PROMPT,
        systemPrompt: SYSTEM_PROMPT,
        sampling: { temperature: 0, topK: 40, topP: 0.9 },
        threads: flags.threads,
        contextSize: flags.contextSize,
        maxTokens: flags.maxTokens,
        rounds: flags.rounds,
        pingTokens: flags.pingTokens,
        pingThreads: flags.pingThreads,
        pingEveryMs: PING_EVERY_MS,
        quick: flags.quick,
        chatWrapper,
        mainPing: main?.threads,
      },
      coldStart: {
        spawnToListeningMs: round(spawnToListeningMs, 1),
        firstPromptToFirstDeltaMs: firstAnswer.ttftMs,
        sumMs: round(spawnToListeningMs + firstAnswer.ttftMs, 1),
        firstAnswer: { ...firstAnswer, text: firstAnswer.text.slice(0, 80) },
        directWorker: directInfo,
      },
      rss: { beforeLoadBytes, loadedIdleBytes, vmHwmBytes, directWorkerLoadedBytes },
      throughput: {
        rounds: flags.rounds,
        maxTokens: flags.maxTokens,
        sameText: [...directRuns, ...appRuns].every((g) => g.text === firstText),
        direct: directRuns.map((g) => ({ ...g, text: g.text.slice(0, 80) })),
        app: appRuns.map((g) => ({ ...g, text: g.text.slice(0, 80) })),
        median: medians,
        ratio,
        ratioTotal: round(
          medians.app.totalTokensPerSecond / medians.direct.totalTokensPerSecond,
          3,
        ),
        ratioServer: round(medians.app.serverTokensPerSecond / medians.direct.tokensPerSecond, 3),
      },
      ping,
      targets,
      durationSeconds: round((performance.now() - began) / 1000, 1),
    };
  } finally {
    await direct?.stop();
    await socket?.close();
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const mib = (bytes: number) => Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MiB` : "–";

export function builtinTable(report: BuiltinReport): string {
  const t = report.throughput;
  const lines: string[] = [];
  const row = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(28) : c.padStart(12)).join("  ");
  lines.push(
    `Built-in model: ${report.settings.model}, LLAMA_THREADS=${report.settings.threads}, ` +
      `context ${report.settings.contextSize}, ${t.maxTokens} tokens, ${t.rounds} rounds ` +
      `(medians), same text on every run: ${t.sameText ? "yes" : "NO"}`,
  );
  lines.push(row(["path", "tok/s gen", "tok/s total", "TTFT ms", "server tok/s"]));
  lines.push(
    row([
      "  direct (node-llama-cpp)",
      String(t.median.direct.tokensPerSecond),
      String(t.median.direct.totalTokensPerSecond),
      String(t.median.direct.ttftMs),
      "",
    ]),
  );
  lines.push(
    row([
      "  through the app (WS)",
      String(t.median.app.tokensPerSecond),
      String(t.median.app.totalTokensPerSecond),
      String(t.median.app.ttftMs),
      String(t.median.app.serverTokensPerSecond),
    ]),
  );
  lines.push(row(["  app / direct", `×${t.ratio}`, `×${t.ratioTotal}`, "", `×${t.ratioServer}`]));
  const c = report.coldStart;
  lines.push(
    `Cold start: spawn → listening ${c.spawnToListeningMs} ms + first prompt → first delta ` +
      `${c.firstPromptToFirstDeltaMs} ms = ${c.sumMs} ms`,
  );
  lines.push(
    `App RSS: before load ${mib(report.rss.beforeLoadBytes)}, model loaded (idle) ` +
      `${mib(report.rss.loadedIdleBytes)} (+${
        mib(report.rss.loadedIdleBytes - report.rss.beforeLoadBytes)
      }), VmHWM ${mib(report.rss.vmHwmBytes)}; direct worker loaded ` +
      `${mib(report.rss.directWorkerLoadedBytes)}`,
  );
  lines.push(row(["ping RTT (ms), every 10 ms", "p50", "p99", "max", "n"]));
  for (const p of report.ping) {
    lines.push(
      row([
        `  idle, LLAMA_THREADS=${p.threads}`,
        String(p.idle.p50),
        String(p.idle.p99),
        String(p.idle.max),
        String(p.idle.n),
      ]),
    );
    lines.push(
      row([
        `  ${p.answerTokens}-token answer, threads=${p.threads}`,
        String(p.generating.p50),
        String(p.generating.p99),
        String(p.generating.max),
        String(p.generating.n),
      ]),
    );
  }
  lines.push("Targets:");
  for (const [name, target] of Object.entries(report.targets)) {
    lines.push(
      `  ${name.padEnd(20)} ${target.target}: ${target.value} → ${target.met ? "met" : "NOT met"}`,
    );
  }
  return lines.join("\n");
}

/** Runs the suite, prints the table, writes the JSON; returns the path written. */
export async function mainBuiltin(
  flags: BuiltinFlags,
  machine: Record<string, unknown>,
  say: (line: string) => void,
): Promise<string> {
  const report = await runBuiltin(flags, machine, say);
  say("");
  say(builtinTable(report));
  const out = flags.out ??
    new URL(`./results/builtin-${report.date.replace(/[:.]/g, "-")}.json`, import.meta.url)
      .pathname;
  await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  say(`\nResults: ${out} (${report.durationSeconds} s)`);
  return out;
}

if (import.meta.main && Deno.args.includes("--direct-worker")) await directWorker(Deno.args);
