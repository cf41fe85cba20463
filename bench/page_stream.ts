/**
 * `deno task bench --suite=page-stream`: the chat page's main-thread work while a long answer
 * streams in, at the start of the answer and at its end.
 *
 * The real app (`main.ts`, its own process) in front of the fake Ollama (this process), which
 * paces a 20,000-token Markdown answer (paragraphs, lists, code, tables, math) at 500 tokens/s
 * through its per-token delay knob. Debian's Chromium (playwright-core) shows the page, sends the
 * prompt and follows the answer to the bottom as a person would. A Chromium trace records every
 * task on the page's main thread; a small init script marks (`performance.mark`) when the
 * answer's 1st, 1,000th, 19,000th and 20,000th tokens arrive on the WebSocket. Reported: main-
 * thread time per token over the first and the last 1,000 tokens, their ratio (the baseline is
 * the start of the same answer, in the same run), the longest task and the long tasks (> 50 ms),
 * plus the page's eager weight (gzip) as the browser loads it. See docs/benchmarks.md.
 *
 *     deno task bench --suite=page-stream [--page-tokens=20000] [--page-rate=500]
 *                     [--page-window=1000] [--stream-out=bench/results/x.json]
 *                     [--page-trace=trace.json]
 */
import { chromium } from "playwright-core";
import { spawnApp } from "../tests/helpers/app.ts";
import { CHROMIUM_PATH } from "../tests/helpers/browser.ts";
import { FakeOllama } from "../tests/fake_ollama.ts";
import { round } from "./stats.ts";
import { wholeFlag } from "./flags.ts";

export const PAGE_FLAG_NAMES = [
  "page-tokens",
  "page-shape",
  "page-rate",
  "page-window",
  "stream-out",
  "page-trace",
] as const;

/**
 * What the answer looks like: `sections` (many blocks: headings, paragraphs, lists, code, tables,
 * math), or one block that lasts the whole answer: a `code` block (a long file), a bulleted
 * `list` or a `table`, where only the block being written changes, and it keeps growing.
 */
export type AnswerShape = "sections" | "code" | "list" | "table";
const SHAPES: readonly AnswerShape[] = ["sections", "code", "list", "table"];

export interface PageFlags {
  readonly tokens: number;
  readonly shape: AnswerShape;
  readonly rate: number;
  readonly window: number;
  readonly out: string | undefined;
  /** Where to keep the Chromium trace (open it in DevTools' Performance panel). */
  readonly trace: string | undefined;
}

const TARGETS = { perTokenMs: 2, longestTaskMs: 50 };

export function parsePageFlags(values: ReadonlyMap<string, string>): PageFlags {
  const quick = values.get("quick") === "true";
  const positive = (name: string, fallback: number) => wholeFlag(values, name, fallback);
  const tokens = positive("page-tokens", quick ? 5000 : 20_000);
  const window = positive("page-window", 1000);
  if (window * 2 > tokens) throw new Error("--page-window must be at most half of --page-tokens");
  const shape = (values.get("page-shape") ?? "sections") as AnswerShape;
  if (!SHAPES.includes(shape)) throw new Error(`--page-shape wants one of ${SHAPES.join(", ")}`);
  return {
    tokens,
    shape,
    rate: positive("page-rate", 500),
    window,
    out: values.get("stream-out"),
    trace: values.get("page-trace"),
  };
}

// ---------------------------------------------------------------------------------------------
// The answer

const WORDS = ("the model streams a long answer with enough variety to look like real output " +
  "so that paragraphs wrap lines and the layout has some work to do on every frame while " +
  "people read along and sometimes scroll back to check an earlier step of the explanation")
  .split(" ");

function sentence(seed: number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[(seed * 7 + i * 13) % WORDS.length]!);
  const text = out.join(" ");
  return text[0]!.toUpperCase() + text.slice(1) + ".";
}

/** One section of a typical long technical answer; `n` varies the text. */
function section(n: number): string {
  return [
    `## Step ${n + 1}: ${sentence(n, 4).slice(0, -1)}\n\n`,
    `${sentence(n, 18)} It uses \`config.value\` and **bold** words. ${sentence(n + 1, 14)}\n\n`,
    `- ${sentence(n + 2, 8)}\n- ${sentence(n + 3, 9)}\n- ${sentence(n + 4, 7)}\n\n`,
    "```typescript\n",
    `function step${n}(input: number[]): number {\n`,
    "  let total = 0;\n",
    "  for (const value of input) {\n",
    `    total += value * ${n + 2}; // ${sentence(n, 5)}\n`,
    "  }\n",
    '  return total > 100 ? total : Math.round(total / 2); // "done"\n',
    "}\n```\n\n",
    "| Input | Output | Note |\n| ----- | ------ | ---- |\n",
    `| ${n} | ${n * 2} | ${sentence(n, 3)} |\n| ${n + 1} | ${n * 2 + 2} | ${
      sentence(n + 5, 3)
    } |\n\n`,
    `The cost grows like $O(n \\log n)$ for ${sentence(n + 6, 6)}\n\n`,
    `$$\n\\sum_{k=1}^{${n + 2}} k^2 = \\frac{n(n+1)(2n+1)}{6}\n$$\n\n`,
    `> ${sentence(n + 7, 12)}\n\n`,
  ].join("");
}

/** A few lines of a long TypeScript file; `n` varies the text. */
function codeLines(n: number): string {
  return [
    `export function step${n}(input: readonly number[], scale = ${n + 2}): number {\n`,
    "  let total = 0;\n",
    `  for (const value of input) total += value * scale; // ${sentence(n, 5)}\n`,
    `  return total > ${n * 10} ? total : Math.round(total / 2); // "done"\n`,
    "}\n\n",
  ].join("");
}

/** The pieces of an answer of the given shape, in order, as many as needed. */
function* answerPieces(shape: AnswerShape): Generator<string> {
  if (shape === "code") yield "Here is the whole file:\n\n```typescript\n";
  if (shape === "list") yield "Here is every step:\n\n";
  if (shape === "table") {
    yield "Here is the table:\n\n| Step | What | Cost |\n| --- | --- | ---: |\n";
  }
  for (let n = 0;; n++) {
    if (shape === "sections") yield section(n);
    else if (shape === "code") yield codeLines(n);
    else if (shape === "list") {
      yield `- ${sentence(n, 9)} It uses \`config.value\` and **bold** words.\n`;
    } else yield `| ${n} | ${sentence(n, 6)} with \`value\` | ${n * 3} ms |\n`;
  }
}

/**
 * `count` tokens of Markdown: words with their trailing space, like a model's tokens. A `code`
 * or `list` answer ends its block and says one more word, so the end of the answer includes
 * rendering the finished block whole.
 */
export function longAnswer(count: number, shape: AnswerShape = "sections"): string[] {
  const ending = shape === "code"
    ? ["```\n\n", "Done."]
    : shape === "sections"
    ? []
    : ["\n", "Done."];
  const tokens: string[] = [];
  for (const piece of answerPieces(shape)) {
    for (const match of piece.matchAll(/[^\s]+\s*|\s+/g)) {
      if (tokens.length === count - ending.length) return [...tokens, ...ending];
      tokens.push(match[0]);
    }
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// The page

/**
 * Runs in the page before its own scripts: counts the answer's characters as delta frames arrive
 * and marks the moments its `marks` offsets are reached. Also collects long tasks.
 */
function pageProbe(marks: readonly { name: string; chars: number }[]): void {
  const longTasks: number[] = [];
  (globalThis as { __longTasks?: number[] }).__longTasks = longTasks;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
  let chars = 0;
  let next = 0;
  const Native = WebSocket;
  class Probed extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string" || !event.data.includes('"answer.delta"')) return;
        const frame = JSON.parse(event.data) as { content?: string };
        chars += frame.content?.length ?? 0;
        while (next < marks.length && chars >= marks[next]!.chars) {
          performance.mark(marks[next]!.name);
          next++;
        }
      });
    }
  }
  globalThis.WebSocket = Probed;
}

interface TraceEvent {
  readonly name: string;
  readonly cat: string;
  readonly ph: string;
  readonly ts: number;
  readonly dur?: number;
  readonly tdur?: number;
  readonly pid: number;
  readonly tid: number;
  readonly args?: { name?: string };
}

interface WindowResult {
  readonly tokens: number;
  readonly wallMs: number;
  readonly mainThreadMs: number;
  readonly perTokenMs: number;
  readonly tokensPerSecond: number;
  readonly longestTaskMs: number;
  /** The same from the thread's CPU time (trace `tdur`): what the page cost, without the time
   * the OS gave the core to other processes (a shared machine stretches wall time). */
  readonly cpuMs: number;
  readonly cpuPerTokenMs: number;
  readonly longestTaskCpuMs: number;
}

/** Main-thread tasks of the page's renderer, and the probe's marks (µs, trace clock). */
function readTrace(json: string): { tasks: TraceEvent[]; marks: Map<string, number> } {
  const events = (JSON.parse(json) as { traceEvents: TraceEvent[] }).traceEvents;
  const markEvents = events.filter((e) => e.cat.includes("blink.user_timing") && e.name[0] === "@");
  const pid = markEvents[0]?.pid;
  if (pid === undefined) throw new Error("the trace has none of the page's marks");
  const main = events.find((e) =>
    e.pid === pid && e.name === "thread_name" && e.args?.name === "CrRendererMain"
  );
  if (!main) throw new Error("the trace has no renderer main thread");
  const tasks = events.filter((e) =>
    e.pid === pid && e.tid === main.tid && e.ph === "X" && e.name === "RunTask" &&
    e.dur !== undefined
  );
  const marks = new Map<string, number>();
  for (const e of markEvents) if (!marks.has(e.name)) marks.set(e.name, e.ts);
  return { tasks, marks };
}

function windowOf(tasks: readonly TraceEvent[], from: number, to: number, tokens: number) {
  let busy = 0;
  let longest = 0;
  let cpu = 0;
  let longestCpu = 0;
  for (const task of tasks) {
    // The part of each task inside the window (tasks do not nest on one thread).
    const start = Math.max(task.ts, from);
    const end = Math.min(task.ts + task.dur!, to);
    if (end > start) busy += end - start;
    if (task.ts >= from && task.ts < to) {
      longest = Math.max(longest, task.dur!);
      cpu += task.tdur ?? 0;
      longestCpu = Math.max(longestCpu, task.tdur ?? 0);
    }
  }
  const wallMs = (to - from) / 1000;
  return {
    tokens,
    wallMs: round(wallMs, 1),
    mainThreadMs: round(busy / 1000, 1),
    perTokenMs: round(busy / 1000 / tokens, 3),
    tokensPerSecond: Math.round(tokens / (wallMs / 1000)),
    longestTaskMs: round(longest / 1000, 1),
    cpuMs: round(cpu / 1000, 1),
    cpuPerTokenMs: round(cpu / 1000 / tokens, 3),
    longestTaskCpuMs: round(longestCpu / 1000, 1),
  } satisfies WindowResult;
}

/** Lets `lines` held lines out at `rate` per second, catching up whenever a timer is late. */
async function pace(ollama: FakeOllama, rate: number, lines: number): Promise<void> {
  const began = performance.now();
  let sent = 0;
  while (sent < lines) {
    const due = Math.min(lines, Math.floor(((performance.now() - began) / 1000) * rate) + 1);
    if (due > sent) {
      ollama.release(due - sent);
      sent = due;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function gzipBytes(body: Uint8Array): Promise<number> {
  const stream = new Blob([body as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

// ---------------------------------------------------------------------------------------------
// The run

export interface PageReport {
  readonly benchmark: "page-stream";
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, unknown>;
  /** What the browser loaded before the page was up, excluding lazily imported chunks. */
  readonly eagerWeight: { readonly files: Record<string, number>; readonly gzipBytes: number };
  readonly start: WindowResult;
  readonly end: WindowResult;
  /** end.perTokenMs ÷ start.perTokenMs: 1 when the cost does not grow with the answer. */
  readonly endToStartRatio: number;
  /** The same in CPU time. */
  readonly endToStartCpuRatio: number;
  readonly wholeAnswer: WindowResult;
  readonly longTasksOver50Ms: number[];
  readonly targets: Record<string, { target: string; value: number; met: boolean }>;
  readonly durationSeconds: number;
}

export async function mainPageStream(
  flags: PageFlags,
  machine: Record<string, unknown>,
  say: (line: string) => void,
): Promise<PageReport> {
  const began = performance.now();
  const tokens = longAnswer(flags.tokens, flags.shape);
  const ends: number[] = [];
  let total = 0;
  for (const token of tokens) ends.push(total += token.length);
  const at = (n: number) => ({ name: `@tokens-${n}`, chars: ends[n - 1]! });
  const marks = [
    at(1),
    at(flags.window),
    at(flags.tokens - flags.window),
    at(flags.tokens),
  ];

  const ollama = await FakeOllama.start();
  ollama.reply = () => tokens;
  // Held lines let out on a clock: the average rate is exact even when timers are late (a
  // per-token sleep of 2 ms gives ~300 tokens/s on a busy machine).
  ollama.manual = true;
  const app = await spawnApp({ OLLAMA_HOST: ollama.url, LOG_LEVEL: "warn" });
  const profile = await Deno.makeTempDir({ prefix: "chromium-bench-" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    say(
      `Page stream benchmark: ${flags.tokens} tokens at ${flags.rate} tokens/s ` +
        `(the fake's held lines released on a clock), windows of ${flags.window} tokens`,
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.addInitScript(pageProbe, marks);

    // The eager weight: the document and what it loads before any lazy import.
    const reads: Promise<[string, number]>[] = [];
    const kinds = ["document", "script", "stylesheet", "font", "image"];
    page.on("response", (response) => {
      const url = new URL(response.url());
      if (url.origin !== new URL(app.url).origin) return;
      if (!kinds.includes(response.request().resourceType())) return;
      reads.push(response.body().then(gzipBytes).then((bytes) => [url.pathname, bytes]));
    });
    // What the page needs to load (its `load` event); the renderer chunk comes later, at idle.
    await page.goto(app.url + "/");
    const eagerCount = reads.length;
    await page.locator('[data-hydrated="true"]').waitFor({ state: "attached" });
    await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
    const eagerFiles = Object.fromEntries(await Promise.all(reads.slice(0, eagerCount)));
    const eagerBytes = Object.values(eagerFiles).reduce((a, b) => a + b, 0);

    await browser.startTracing(page, {
      categories: [
        "disabled-by-default-devtools.timeline",
        "blink.user_timing",
        "devtools.timeline",
      ],
    });
    const textbox = page.getByRole("textbox", { name: "Message", exact: true });
    await textbox.fill("Explain the whole plan step by step, with code, tables and formulas.");
    await textbox.press("Enter");
    await ollama.waitForHeld(1, 10_000);
    const pacer = pace(ollama, flags.rate, flags.tokens + 1);
    const timeout = (flags.tokens / flags.rate) * 3000 + 30_000;
    await page.locator('[data-role="assistant"][data-status="done"]').waitFor({ timeout });
    await pacer;
    // Let the last frames render before the trace stops.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    const longTasks = await page.evaluate(() =>
      (globalThis as { __longTasks?: number[] }).__longTasks ?? []
    );
    const traceBytes = await browser.stopTracing();
    if (flags.trace) await Deno.writeFile(flags.trace, traceBytes);
    const trace = new TextDecoder().decode(traceBytes);
    const { tasks, marks: seen } = readTrace(trace);
    const mark = (m: { name: string }) => {
      const ts = seen.get(m.name);
      if (ts === undefined) throw new Error(`the page never marked ${m.name}`);
      return ts;
    };
    const [first, firstEnd, lastStart, last] = marks.map(mark) as [number, number, number, number];
    // After the last token: until the page has rendered it (the trace's last task).
    const settled = Math.max(
      last,
      ...tasks.filter((t) => t.ts <= last + 200_000).map((t) => t.ts + t.dur!),
    );
    const start = windowOf(tasks, first, firstEnd, flags.window - 1);
    const end = windowOf(tasks, lastStart, settled, flags.window);
    const whole = windowOf(tasks, first, settled, flags.tokens - 1);
    const ratio = round(end.perTokenMs / start.perTokenMs, 2);
    const report: PageReport = {
      benchmark: "page-stream",
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAfter: Deno.loadavg() },
      settings: {
        tokens: flags.tokens,
        shape: flags.shape,
        rate: flags.rate,
        pacing: "FakeOllama manual mode, release() on a 1 ms clock to the rate's schedule",
        window: flags.window,
        answerChars: total,
        viewport: "1280x800",
        browser: `Chromium ${browser.version()} (headless)`,
        measure: "Chromium trace: RunTask on the renderer main thread between probe marks",
      },
      eagerWeight: { files: eagerFiles, gzipBytes: eagerBytes },
      start,
      end,
      endToStartRatio: ratio,
      endToStartCpuRatio: round(end.cpuPerTokenMs / start.cpuPerTokenMs, 2),
      wholeAnswer: whole,
      longTasksOver50Ms: longTasks.map((d) => round(d, 1)),
      targets: {
        perTokenAtEnd: {
          target:
            `≤ ${TARGETS.perTokenMs} ms main-thread work per token over the last ${flags.window}`,
          value: end.perTokenMs,
          met: end.perTokenMs <= TARGETS.perTokenMs,
        },
        longestTask: {
          target: `no task over ${TARGETS.longestTaskMs} ms (wall) while the answer streams`,
          value: whole.longestTaskMs,
          met: whole.longestTaskMs <= TARGETS.longestTaskMs,
        },
        longestTaskCpu: {
          target: `no task over ${TARGETS.longestTaskMs} ms of CPU while the answer streams`,
          value: whole.longestTaskCpuMs,
          met: whole.longestTaskCpuMs <= TARGETS.longestTaskMs,
        },
        flat: {
          target: "per-token cost at the end ≈ at the start (ratio ≤ 1.5)",
          value: ratio,
          met: ratio <= 1.5,
        },
      },
      durationSeconds: round((performance.now() - began) / 1000, 1),
    };
    say(table(report));
    const out = flags.out ??
      new URL(`./results/page-stream-${report.date.replace(/[:.]/g, "-")}.json`, import.meta.url)
        .pathname;
    await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
    await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
    say(`\nResults: ${out} (${report.durationSeconds} s)`);
    return report;
  } finally {
    await browser.close();
    await app.stop();
    await ollama.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

function table(report: PageReport): string {
  const cols = ["tokens", "tok/s", "wall ms", "ms/tok", "longest", "cpu ms", "cpu/tok", "longest"];
  const widths = [6, 6, 9, 7, 8, 8, 7, 8];
  const line = (name: string, cells: string[]) =>
    `  ${name.padEnd(14)} ${cells.map((c, i) => c.padStart(widths[i]!)).join(" ")}`;
  const row = (name: string, w: WindowResult) =>
    line(name, [
      String(w.tokens),
      String(w.tokensPerSecond),
      w.mainThreadMs.toFixed(1),
      w.perTokenMs.toFixed(3),
      w.longestTaskMs.toFixed(1),
      w.cpuMs.toFixed(1),
      w.cpuPerTokenMs.toFixed(3),
      w.longestTaskCpuMs.toFixed(1),
    ]);
  const kib = (bytes: number) => (bytes / 1024).toFixed(1);
  const lines = [
    line("window", cols),
    row("first tokens", report.start),
    row("last tokens", report.end),
    row("whole answer", report.wholeAnswer),
    `  end ÷ start: ×${report.endToStartRatio} (wall), ×${report.endToStartCpuRatio} (CPU); ` +
    `long tasks (> 50 ms wall): ${report.longTasksOver50Ms.length}`,
    `  eager page weight: ${kib(report.eagerWeight.gzipBytes)} KiB gzipped (${
      Object.entries(report.eagerWeight.files).map(([f, b]) => `${f} ${kib(b)}`).join(", ")
    })`,
    "Targets:",
  ];
  for (const [name, t] of Object.entries(report.targets)) {
    lines.push(`  ${name.padEnd(14)} ${t.target}: ${t.value} → ${t.met ? "met" : "NOT met"}`);
  }
  return lines.join("\n");
}
