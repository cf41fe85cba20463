/**
 * `deno task bench`: what the app's WebSocket relay adds on top of Ollama's own stream.
 *
 * The fake Ollama (tests/fake_ollama.ts, instant tokens) runs in its own process
 * (bench/fake_server.ts) and the app runs as its own process (`main.ts`, through `spawnApp`).
 * This process is the client of both paths (see bench/relay.ts): at each concurrency level it
 * opens one WebSocket per stream, warms up, then alternates rounds of the direct path and the
 * app path, so both see the same (shared, noisy) machine. Results: a table on stdout and JSON
 * in bench/results/. See docs/benchmarks.md.
 *
 *     deno task bench [--suite=relay,builtin] [--quick]
 *                     [--streams=1,100,1000] [--tokens=200] [--rounds=N]
 *                     [--out=bench/results/x.json] [--cpu-prof] [--token-delay-ms=0]
 *                     [--llama-threads=N] [--max-tokens=128] [--ping-tokens=256]
 *                     [--ping-threads=2,1] [--context-size=2048] [--builtin-rounds=5]
 *                     [--builtin-out=bench/results/y.json]
 *                     [--full] [--store-db=sqlite,postgres] [--store-messages=N]
 *                     [--store-conversations=N] [--store-reads=20] [--store-answers=100]
 *                     [--store-stream-seconds=5] [--store-flush-ms=100]
 *                     [--store-out=bench/results/z.json]
 *
 * `--suite` picks the suites (default all): `relay` (this file), `builtin` (the built-in
 * llama.cpp engine against node-llama-cpp directly, bench/builtin.ts) and `store` (the
 * conversation store on SQLite and PostgreSQL, bench/store.ts; `--full` for 1,000,000 messages)
 * and `page` (the chat page in Chromium: weight, first paint, opening a long conversation;
 * bench/page.ts; `--page-rounds=15 --page-messages=1000 --page-out=…`) and `page-stream` (the
 * chat page's main-thread work per token while a 20,000-token answer streams, in Chromium,
 * bench/page_stream.ts; `--page-tokens`, `--page-rate`, `--page-window`, `--stream-out`).
 */
import { spawnApp } from "../tests/helpers/app.ts";
import { fetchReusingBuffer } from "../lib/backends/reused_buffer_fetch.ts";
import { cpuMs, peakRssBytes, rssBytes, RssSampler } from "./procfs.ts";
import {
  appRound,
  type BenchSocket,
  directRound,
  openSockets,
  type RoundResult,
  type StreamSample,
} from "./relay.ts";
import { median, percentile, round, summarize, type Summary } from "./stats.ts";
import { mainStore, parseStoreFlags, STORE_FLAG_NAMES, type StoreFlags } from "./store.ts";
import {
  mainPage,
  PAGE_FLAG_NAMES as PAGE_LOAD_FLAG_NAMES,
  type PageFlags as PageLoadFlags,
  parsePageFlags as parsePageLoadFlags,
} from "./page.ts";
import {
  BUILTIN_FLAG_NAMES,
  type BuiltinFlags,
  mainBuiltin,
  parseBuiltinFlags,
} from "./builtin.ts";
import { mainPageStream, PAGE_FLAG_NAMES, type PageFlags, parsePageFlags } from "./page_stream.ts";
import { wholeNumber } from "./flags.ts";

const SUITES = ["relay", "builtin", "store", "page", "page-stream"] as const;
type Suite = (typeof SUITES)[number];

interface Flags {
  readonly streams: number[];
  readonly tokens: number;
  readonly quick: boolean;
  readonly rounds: number | undefined;
  readonly out: string | undefined;
  readonly cpuProf: boolean;
  /** Delay before each line of the fake's answers; 0 (instant) unless asked. */
  readonly tokenDelayMs: number;
  /** Which suites run, in this order. */
  readonly suites: Suite[];
  readonly builtin: BuiltinFlags;
  readonly store: StoreFlags;
  readonly page: PageFlags;
  readonly pageLoad: PageLoadFlags;
}

const TARGETS = {
  addedTtftP50Ms: 2,
  addedTtftP99Ms: 10,
  ttftAtStreams: 100,
  tokensPerSecond: 50_000,
  lossAtStreams: 1000,
};

/** Short answers for the warm-up rounds, which only open pools and JIT the code. */
const WARMUP_TOKENS = 20;

export function parseFlags(args: readonly string[]): Flags {
  const values = new Map<string, string>();
  for (const arg of args) {
    const match = /^--([\w-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}`);
    values.set(match[1]!, match[2] ?? "true");
  }
  const known = [
    "suite",
    "streams",
    "tokens",
    "quick",
    "rounds",
    "out",
    "cpu-prof",
    "token-delay-ms",
    ...BUILTIN_FLAG_NAMES,
    ...STORE_FLAG_NAMES,
    ...PAGE_LOAD_FLAG_NAMES,
    ...PAGE_FLAG_NAMES,
  ];
  for (const key of values.keys()) {
    if (!known.includes(key)) throw new Error(`unknown flag --${key} (known: ${known})`);
  }
  const quick = values.get("quick") === "true";
  const streams = (values.get("streams") ?? (quick ? "1,10,100" : "1,100,1000"))
    .split(",").map((s) => wholeNumber("streams", s.trim()));
  const rounds = values.get("rounds");
  const suites = (values.get("suite") ?? SUITES.join(",")).split(",").map((s) => s.trim());
  for (const suite of suites) {
    if (!(SUITES as readonly string[]).includes(suite)) {
      throw new Error(`unknown suite ${suite} (known: ${SUITES})`);
    }
  }
  return {
    suites: SUITES.filter((s) => suites.includes(s)),
    builtin: parseBuiltinFlags(values),
    store: parseStoreFlags(values),
    page: parsePageFlags(values),
    pageLoad: parsePageLoadFlags(values),
    streams,
    tokens: wholeNumber("tokens", values.get("tokens") ?? (quick ? "50" : "200")),
    quick,
    rounds: rounds === undefined ? undefined : wholeNumber("rounds", rounds),
    out: values.get("out"),
    cpuProf: values.get("cpu-prof") === "true",
    tokenDelayMs: Number(values.get("token-delay-ms") ?? "0") || 0,
  };
}

/**
 * Rounds per level: enough streams in all for a p99 that means something, in little time. The
 * TTFT targets are at 100 streams and judged on medians of round pairs, which a shared machine
 * moves by ±3 ms over 10 pairs: 30 there.
 */
function roundsFor(streams: number, flags: Flags): number {
  if (flags.rounds !== undefined) return flags.rounds;
  if (flags.quick) return streams === 1 ? 10 : 2;
  if (streams === 1) return 50;
  if (streams === 100) return 30;
  if (streams <= 100) return 10;
  return 2;
}

interface PathResult {
  readonly rounds: number;
  readonly ttftMs: Summary;
  readonly perTokenMs: Summary;
  readonly durationMs: Summary;
  /** All tokens received / all rounds' wall time. */
  readonly tokensPerSecond: number;
  readonly tokensPerSecondPerRound: number[];
  readonly expectedTokens: number;
  readonly receivedTokens: number;
  readonly lostTokens: number;
  readonly textMismatches: number;
  readonly failedStreams: number;
  readonly errors: string[];
  /** Text-carrying frames (WebSocket) or lines (NDJSON) per stream, on average. */
  readonly framesPerStream: number;
  /** CPU time per 1,000 tokens of each process during this path's rounds. */
  readonly cpuMsPer1kTokens: { app: number; fake: number; bench: number };
  /** The server's own TTFT (`answer.end` stats), app path only. */
  readonly serverTtftMs?: Summary;
}

interface Added {
  readonly ttftP50Ms: number;
  readonly ttftP99Ms: number;
  readonly perTokenP50Ms: number;
  readonly perTokenP99Ms: number;
  /**
   * Median over the level's rounds of (app round's TTFT p50 − the direct round run next to
   * it): each pair ran within a second, so load from elsewhere mostly cancels out.
   */
  readonly ttftP50PairedMs: number;
  /** The same for each round's TTFT p99 (with 100 streams a round, its second-slowest stream). */
  readonly ttftP99PairedMs: number;
  /** App tokens/s ÷ direct tokens/s, same run. */
  readonly throughputRatio: number;
}

interface LevelResult {
  readonly streams: number;
  readonly tokensPerStream: number;
  readonly openMs: number;
  /** The npm client as shipped (Deno's fetch): the baseline the targets are measured against. */
  readonly direct: PathResult;
  /** The npm client with the app's own fetch (`fetchReusingBuffer`): the relay alone. */
  readonly directSameFetch: PathResult;
  readonly app: PathResult;
  /** App − direct (the targets). */
  readonly added: Added;
  /** App − direct with the app's fetch: what relaying adds, reading Ollama the same way. */
  readonly addedVsSameFetch: Added;
  readonly rss: {
    /** Right after the sockets opened, before any answer at this level. */
    readonly afterOpenBytes: number;
    /** After this level's warm-up round (HTTP pools to the fake open), between answers. */
    readonly withSocketsOpenBytes: number;
    /** Largest sample (every 20 ms) during this level's app rounds. */
    readonly peakBytes: number;
  };
}

class PathAccumulator {
  readonly rounds: RoundResult[] = [];
  cpu = { app: 0, fake: 0, bench: 0 };

  constructor(readonly pids: { app: number; fake: number }) {}

  async measure(run: () => Promise<RoundResult>): Promise<void> {
    const before = this.#cpu();
    this.rounds.push(await run());
    const after = this.#cpu();
    this.cpu.app += after.app - before.app;
    this.cpu.fake += after.fake - before.fake;
    this.cpu.bench += after.bench - before.bench;
  }

  #cpu() {
    return { app: cpuMs(this.pids.app), fake: cpuMs(this.pids.fake), bench: cpuMs("self") };
  }

  result(withServerTtft: boolean): PathResult {
    const samples: StreamSample[] = this.rounds.flatMap((r) => r.samples);
    const good = samples.filter((s) => s.error === undefined);
    const expected = this.rounds.reduce((sum, r) => sum + r.expectedTokens, 0);
    const received = this.rounds.reduce((sum, r) => sum + r.receivedTokens, 0);
    const wall = this.rounds.reduce((sum, r) => sum + r.wallMs, 0);
    const per1k = (ms: number) => round((ms / Math.max(received, 1)) * 1000, 1);
    return {
      rounds: this.rounds.length,
      ttftMs: summarize(good.map((s) => s.ttftMs)),
      perTokenMs: summarize(good.map((s) => s.perTokenMs)),
      durationMs: summarize(good.map((s) => s.durationMs)),
      tokensPerSecond: Math.round(received / (wall / 1000)),
      tokensPerSecondPerRound: this.rounds.map((r) =>
        Math.round(r.receivedTokens / (r.wallMs / 1000))
      ),
      expectedTokens: expected,
      receivedTokens: received,
      lostTokens: expected - received,
      textMismatches: samples.filter((s) => !s.textOk).length,
      failedStreams: samples.length - good.length,
      errors: [...new Set(samples.flatMap((s) => s.error === undefined ? [] : [s.error]))].slice(
        0,
        5,
      ),
      framesPerStream: round(samples.reduce((sum, s) => sum + s.frames, 0) / samples.length, 1),
      cpuMsPer1kTokens: {
        app: per1k(this.cpu.app),
        fake: per1k(this.cpu.fake),
        bench: per1k(this.cpu.bench),
      },
      ...(withServerTtft
        ? {
          serverTtftMs: summarize(good.map((s) => s.serverTtftMs ?? NaN).filter(Number.isFinite)),
        }
        : {}),
    };
  }
}

function roundTtft(round: RoundResult, p: number): number {
  return percentile(round.samples.filter((s) => s.error === undefined).map((s) => s.ttftMs), p);
}

/** Median of the per-round differences of a TTFT percentile, app − direct (rounds ran in pairs). */
function pairedTtft(
  direct: readonly RoundResult[],
  app: readonly RoundResult[],
  p: number,
): number {
  return median(app.map((r, i) => roundTtft(r, p) - roundTtft(direct[i]!, p)));
}

// ---------------------------------------------------------------------------------------------
// Processes

interface FakeProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

async function startFake(tokenDelayMs: number): Promise<FakeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./fake_server.ts", import.meta.url).pathname,
      `--token-delay-ms=${tokenDelayMs}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the fake Ollama exited before listening: ${seen}`);
    seen += value;
  }
  (async () => {
    while (!(await reader.read()).done);
  })();
  const { url } = JSON.parse(seen.slice(0, seen.indexOf("\n"))) as { url: string };
  return {
    url,
    pid: child.pid,
    async stop() {
      try {
        await child.stdin.close();
      } catch {
        // already closed
      }
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
    },
  };
}

interface AppProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<unknown>;
}

const APP_ENV = {
  WS_MAX_CONNECTIONS: "100000",
  WS_MAX_CONNECTIONS_PER_CLIENT: "100000",
  LOG_LEVEL: "warn",
};

async function startApp(ollamaUrl: string, cpuProf: boolean): Promise<AppProcess> {
  const env = { ...APP_ENV, OLLAMA_HOST: ollamaUrl };
  // With --cpu-prof, V8's profiler writes the app's profile when it exits.
  const dir = new URL("./results/", import.meta.url).pathname;
  if (cpuProf) await Deno.mkdir(dir, { recursive: true });
  const app = await spawnApp(env, cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []);
  return { url: app.url, pid: app.process.pid, stop: () => app.stop() };
}

// ---------------------------------------------------------------------------------------------
// The run

async function closeAll(sockets: readonly BenchSocket[]): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(sockets.map((s) => s.close())),
    new Promise((resolve) => timer = setTimeout(resolve, 5000)),
  ]);
  clearTimeout(timer);
}

async function runLevel(
  streams: number,
  flags: Flags,
  app: AppProcess,
  fake: FakeProcess,
  progress: (line: string) => void,
): Promise<LevelResult> {
  const wsUrl = app.url.replace(/^http/, "ws") + "/ws";
  const levelStarted = performance.now();
  const openedAt = performance.now();
  const sockets = await openSockets(wsUrl, streams);
  const openMs = performance.now() - openedAt;
  const afterOpen = rssBytes(app.pid);
  try {
    // Warm-up at this concurrency: opens the HTTP pools to the fake on both sides.
    await directRound(fake.url, streams, WARMUP_TOKENS);
    await appRound(sockets, WARMUP_TOKENS);
    const withSocketsOpen = rssBytes(app.pid);
    const pids = { app: app.pid, fake: fake.pid };
    const direct = new PathAccumulator(pids);
    const sameFetch = new PathAccumulator(pids);
    const viaApp = new PathAccumulator(pids);
    const rounds = roundsFor(streams, flags);
    let peak = 0;
    for (let r = 0; r < rounds; r++) {
      const runDirect = () => direct.measure(() => directRound(fake.url, streams, flags.tokens));
      const runSameFetch = () =>
        sameFetch.measure(() => directRound(fake.url, streams, flags.tokens, fetchReusingBuffer));
      const runApp = async () => {
        const sampler = new RssSampler(app.pid);
        try {
          await viaApp.measure(() => appRound(sockets, flags.tokens));
        } finally {
          peak = Math.max(peak, sampler.stop());
        }
      };
      // Alternate the order, so no path always follows the same one.
      const order = r % 2 === 0
        ? [runDirect, runSameFetch, runApp]
        : [runApp, runSameFetch, runDirect];
      for (const run of order) await run();
    }
    const d = direct.result(false);
    const s = sameFetch.result(false);
    const a = viaApp.result(true);
    const addedOver = (base: PathResult, baseRounds: readonly RoundResult[]): Added => ({
      ttftP50Ms: round(a.ttftMs.p50 - base.ttftMs.p50, 3),
      ttftP99Ms: round(a.ttftMs.p99 - base.ttftMs.p99, 3),
      perTokenP50Ms: round(a.perTokenMs.p50 - base.perTokenMs.p50, 4),
      perTokenP99Ms: round(a.perTokenMs.p99 - base.perTokenMs.p99, 4),
      ttftP50PairedMs: round(pairedTtft(baseRounds, viaApp.rounds, 50), 3),
      ttftP99PairedMs: round(pairedTtft(baseRounds, viaApp.rounds, 99), 3),
      throughputRatio: round(a.tokensPerSecond / base.tokensPerSecond, 3),
    });
    const result: LevelResult = {
      streams,
      tokensPerStream: flags.tokens,
      openMs: round(openMs, 1),
      direct: d,
      directSameFetch: s,
      app: a,
      added: addedOver(d, direct.rounds),
      addedVsSameFetch: addedOver(s, sameFetch.rounds),
      rss: { afterOpenBytes: afterOpen, withSocketsOpenBytes: withSocketsOpen, peakBytes: peak },
    };
    progress(
      `  ${streams} streams: ${rounds} rounds, direct ${d.tokensPerSecond} tok/s, ` +
        `app's fetch ${s.tokensPerSecond} tok/s, app ${a.tokensPerSecond} tok/s, lost ${a.lostTokens}, failed ${a.failedStreams}, ` +
        `${((performance.now() - levelStarted) / 1000).toFixed(1)} s`,
    );
    return result;
  } finally {
    await closeAll(sockets);
  }
}

interface Report {
  readonly benchmark: "relay";
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, unknown>;
  readonly appRss: {
    readonly idleBytes: number;
    readonly peakBytes: number;
    readonly vmHwmBytes: number;
  };
  readonly levels: LevelResult[];
  readonly targets: Record<
    string,
    { readonly target: string; readonly value: number; readonly met: boolean | null }
  >;
  readonly durationSeconds: number;
}

function machineInfo(): Record<string, unknown> {
  let cpuModel = "";
  try {
    cpuModel = /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "";
  } catch {
    // not Linux
  }
  return {
    os: Deno.build.os,
    osRelease: Deno.osRelease(),
    cpus: navigator.hardwareConcurrency,
    cpuModel,
    memoryBytes: Deno.systemMemoryInfo().total,
    loadAverage: Deno.loadavg(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}

function evaluateTargets(levels: readonly LevelResult[]): Report["targets"] {
  const at = (n: number) => levels.find((l) => l.streams === n);
  const largest = levels.reduce<LevelResult | undefined>(
    (best, l) => (best === undefined || l.streams > best.streams ? l : best),
    undefined,
  );
  const ttft = at(TARGETS.ttftAtStreams);
  const loss = at(TARGETS.lossAtStreams);
  const bestTps = Math.max(...levels.map((l) => l.app.tokensPerSecond));
  const lost = loss ? loss.app.lostTokens + loss.app.textMismatches + loss.app.failedStreams : NaN;
  const judged = (
    name: string,
    value: number | undefined,
    limit: number,
  ): { target: string; value: number; met: boolean | null } => ({
    target: `≤ ${limit} ms at ${TARGETS.ttftAtStreams} streams, ${name}`,
    value: value ?? NaN,
    met: value === undefined ? null : value <= limit,
  });
  const paired = "median of the round pairs";
  const pooled = "all rounds' streams pooled, path against path";
  return {
    addedTtftP50: judged(paired, ttft?.added.ttftP50PairedMs, TARGETS.addedTtftP50Ms),
    addedTtftP99: judged(paired, ttft?.added.ttftP99PairedMs, TARGETS.addedTtftP99Ms),
    addedTtftP50Pooled: judged(pooled, ttft?.added.ttftP50Ms, TARGETS.addedTtftP50Ms),
    addedTtftP99Pooled: judged(pooled, ttft?.added.ttftP99Ms, TARGETS.addedTtftP99Ms),
    tokensPerSecond: {
      target:
        `≥ ${TARGETS.tokensPerSecond} tokens/s relayed (best level; largest: ${largest?.streams} streams)`,
      value: bestTps,
      met: bestTps >= TARGETS.tokensPerSecond,
    },
    addedTtftP50VsAppFetch: judged(
      `${paired}, against the npm client with the app's fetch`,
      ttft?.addedVsSameFetch.ttftP50PairedMs,
      TARGETS.addedTtftP50Ms,
    ),
    addedTtftP99VsAppFetch: judged(
      `${paired}, against the npm client with the app's fetch`,
      ttft?.addedVsSameFetch.ttftP99PairedMs,
      TARGETS.addedTtftP99Ms,
    ),
    nothingLost: {
      target:
        `0 tokens lost, 0 text mismatches, 0 failed streams at ${TARGETS.lossAtStreams} streams`,
      value: lost,
      met: loss ? lost === 0 : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Output

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ");
}

const ms = (v: number, digits = 2) => Number.isFinite(v) ? v.toFixed(digits) : "–";
const mib = (bytes: number) => Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MiB` : "–";
const yesNo = (met: boolean | null) => met === null ? "not measured" : met ? "met" : "NOT met";

function table(report: Report): string {
  const lines: string[] = [];
  const widths = [24, 9, 9, 11, 11, 10, 7, 7, 8];
  lines.push(
    pad(
      [
        "streams / path",
        "TTFT p50",
        "TTFT p99",
        "tok ms p50",
        "tok ms p99",
        "tokens/s",
        "lost",
        "text≠",
        "frames",
      ],
      widths,
    ),
  );
  for (const level of report.levels) {
    const row = (name: string, p: PathResult) =>
      pad([
        name,
        ms(p.ttftMs.p50),
        ms(p.ttftMs.p99),
        ms(p.perTokenMs.p50, 4),
        ms(p.perTokenMs.p99, 4),
        String(p.tokensPerSecond),
        String(p.lostTokens),
        String(p.textMismatches + p.failedStreams),
        String(p.framesPerStream),
      ], widths);
    lines.push(`${level.streams} × ${level.tokensPerStream} tokens, ${level.direct.rounds} rounds`);
    const addedRow = (name: string, added: Added) =>
      pad([
        name,
        ms(added.ttftP50Ms),
        ms(added.ttftP99Ms),
        ms(added.perTokenP50Ms, 4),
        ms(added.perTokenP99Ms, 4),
        `×${added.throughputRatio}`,
        "",
        "",
        "",
      ], widths);
    lines.push(row("  direct (npm ollama)", level.direct));
    lines.push(row("  direct, app's fetch", level.directSameFetch));
    lines.push(row("  through the app (WS)", level.app));
    lines.push(addedRow("  added (vs direct)", level.added));
    lines.push(addedRow("  added (vs app's fetch)", level.addedVsSameFetch));
    const { app, fake, bench } = level.app.cpuMsPer1kTokens;
    const direct = level.direct.cpuMsPer1kTokens;
    const same = level.directSameFetch.cpuMsPer1kTokens;
    lines.push(
      `  CPU ms per 1k tokens: app path: app ${app}, fake ${fake}, clients ${bench}; ` +
        `direct: fake ${direct.fake}, clients ${direct.bench}; ` +
        `app's fetch: fake ${same.fake}, clients ${same.bench}`,
    );
    lines.push(
      `  added TTFT, median of the ${level.app.rounds} round pairs: ` +
        `p50 ${ms(level.added.ttftP50PairedMs)} ms, p99 ${ms(level.added.ttftP99PairedMs)} ms ` +
        `vs direct; p50 ${ms(level.addedVsSameFetch.ttftP50PairedMs)} ms, ` +
        `p99 ${ms(level.addedVsSameFetch.ttftP99PairedMs)} ms vs app's fetch`,
    );
    lines.push(
      `  server-side TTFT p50 ${ms(level.app.serverTtftMs?.p50 ?? NaN)} ms; sockets opened in ` +
        `${level.openMs} ms; app RSS ${mib(level.rss.afterOpenBytes)} once open, ` +
        `${mib(level.rss.withSocketsOpenBytes)} after warm-up, peak ${mib(level.rss.peakBytes)}`,
    );
    const errors = [...level.direct.errors, ...level.directSameFetch.errors, ...level.app.errors];
    if (errors.length > 0) lines.push(`  errors: ${errors.join("; ")}`);
  }
  lines.push("");
  lines.push(
    `App RSS: idle ${mib(report.appRss.idleBytes)}, peak ${mib(report.appRss.peakBytes)} ` +
      `(VmHWM ${mib(report.appRss.vmHwmBytes)})`,
  );
  lines.push("Targets:");
  for (const [name, t] of Object.entries(report.targets)) {
    lines.push(`  ${name.padEnd(22)} ${t.target}: ${t.value} → ${yesNo(t.met)}`);
  }
  return lines.join("\n");
}

// deno-lint-ignore no-console
const say = (line: string) => console.log(line);

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  if (flags.suites.includes("relay")) await mainRelay(flags);
  if (flags.suites.includes("relay") && flags.suites.includes("builtin")) say("");
  if (flags.suites.includes("builtin")) await mainBuiltin(flags.builtin, machineInfo(), say);
  if (flags.suites.includes("store") && flags.suites.length > 1) say("");
  if (flags.suites.includes("store")) await mainStore(flags.store, machineInfo(), say);
  if (flags.suites.includes("page") && flags.suites.length > 1) say("");
  if (flags.suites.includes("page")) await mainPage(flags.pageLoad, machineInfo(), say);
  if (flags.suites.includes("page-stream") && flags.suites.length > 1) say("");
  if (flags.suites.includes("page-stream")) await mainPageStream(flags.page, machineInfo(), say);
}

async function mainRelay(flags: Flags): Promise<void> {
  const began = performance.now();
  const fake = await startFake(flags.tokenDelayMs);
  let app: AppProcess | undefined;
  try {
    app = await startApp(fake.url, flags.cpuProf);
    say(
      `Relay benchmark: streams ${flags.streams.join(", ")}, ${flags.tokens} tokens each; ` +
        `fake Ollama pid ${fake.pid} at ${fake.url}, app pid ${app.pid} at ${app.url}`,
    );
    // Global warm-up: a small round of both paths.
    const warmSockets = await openSockets(app.url.replace(/^http/, "ws") + "/ws", 10);
    await directRound(fake.url, 10, WARMUP_TOKENS);
    await appRound(warmSockets, WARMUP_TOKENS);
    await closeAll(warmSockets);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const idleBytes = rssBytes(app.pid);

    const levels: LevelResult[] = [];
    for (const streams of flags.streams) {
      levels.push(await runLevel(streams, flags, app, fake, say));
    }
    const report: Report = {
      benchmark: "relay",
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: {
        streams: flags.streams,
        tokensPerStream: flags.tokens,
        quick: flags.quick,
        rounds: flags.streams.map((n) => roundsFor(n, flags)),
        tokenDelayMs: flags.tokenDelayMs,
        baseline:
          "npm ollama@0.6.4 (ollama/browser), one client and request per stream; as shipped " +
          "(direct) and with the app's fetchReusingBuffer (directSameFetch)",
        appEnv: APP_ENV,
        cpuProf: flags.cpuProf,
      },
      appRss: {
        idleBytes,
        peakBytes: Math.max(...levels.map((l) => l.rss.peakBytes)),
        vmHwmBytes: peakRssBytes(app.pid),
      },
      levels,
      targets: evaluateTargets(levels),
      durationSeconds: round((performance.now() - began) / 1000, 1),
    };
    say("");
    say(table(report));
    const out = flags.out ??
      new URL(`./results/relay-${report.date.replace(/[:.]/g, "-")}.json`, import.meta.url)
        .pathname;
    await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
    await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
    say(`\nResults: ${out} (${report.durationSeconds} s)`);
  } finally {
    await app?.stop();
    await fake.stop();
  }
}

if (import.meta.main) await main();
