/**
 * `deno task bench --suite=page`: what the chat page costs a person, in Chromium, against the
 * real app in its own process (`main.ts` through `spawnApp`, a fake Ollama for the model list).
 * See docs/benchmarks.md ("Page").
 *
 * (a) Weight: bytes actually transferred (encoded body + headers, as Chromium's network layer
 *     counts them) to open `/` until the island has hydrated, by kind; the budget is the
 *     server-rendered shell plus every script loaded at start, 60 KB.
 * (b) First contentful paint of `/` from the browser's performance timeline, beside a static
 *     one-line page served by the same server (static/baseline.html), alternating, each visit in
 *     a fresh browser context (cold cache); budget 100 ms.
 * (c) Opening a stored conversation of 1,000 messages: time from navigation start until the
 *     page is interactive (hydrated marker, the newest message on screen, the message box
 *     enabled), beside a 2-message conversation; budget 300 ms.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { openStore } from "../lib/store/open.ts";
import { LOCAL_OWNER } from "../lib/owner.ts";
import { spawnApp } from "../tests/helpers/app.ts";
import { CHROMIUM_PATH } from "../tests/helpers/browser.ts";
import { FakeOllama } from "../tests/fake_ollama.ts";
import { median, percentile, round } from "./stats.ts";
import { wholeFlag } from "./flags.ts";

export const PAGE_FLAG_NAMES = ["page-rounds", "page-messages", "page-out"] as const;

export interface PageFlags {
  readonly rounds: number;
  readonly messages: number;
  readonly out: string | undefined;
}

export function parsePageFlags(values: ReadonlyMap<string, string>): PageFlags {
  const whole = (name: string, fallback: number) => wholeFlag(values, name, fallback, 2);
  return {
    rounds: whole("page-rounds", 15),
    messages: whole("page-messages", 1000),
    out: values.get("page-out"),
  };
}

const BUDGET = { weightBytes: 60 * 1024, fcpMs: 100, openMs: 300 };

/** An answer with the things answers have: a list, a table, a code block. */
function answerText(i: number): string {
  return [
    `Here is answer ${i}, with a few points:`,
    "",
    "- the first point, in a sentence long enough to wrap on a phone",
    "- the second point, **bold** and `code`",
    "",
    "| name | value |",
    "| ---- | ----- |",
    `| item | ${i} |`,
    "",
    "```ts",
    `export function square${i}(x: number): number {`,
    "  return x * x;",
    "}",
    "```",
  ].join("\n");
}

/** Writes a conversation of `count` messages (alternating prompts and answers) into `dataDir`. */
async function seed(dataDir: string, count: number): Promise<{ long: string; short: string }> {
  const store = await openStore({ dataDir });
  try {
    const make = async (title: string, n: number) => {
      const chat = await store.createConversation(LOCAL_OWNER, { title });
      let parent: string | null = null;
      for (let i = 0; i < n; i++) {
        const user = i % 2 === 0;
        const m = await store.addMessage(LOCAL_OWNER, {
          conversationId: chat.id,
          parentId: parent,
          role: user ? "user" : "assistant",
          content: user ? `Question ${i}: how does this part work?` : answerText(i),
          ...(user ? {} : { model: "llama3.2" }),
        });
        parent = m.id;
      }
      return chat.id;
    };
    return { long: await make(`${count} messages`, count), short: await make("Two messages", 2) };
  } finally {
    await store.close();
  }
}

interface Weight {
  readonly html: number;
  readonly js: number;
  readonly css: number;
  readonly other: number;
  readonly scripts: number;
}

/** Bytes on the wire to open `/` until hydrated, by kind. */
async function weigh(browser: Browser, url: string): Promise<Weight> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // The moment the island hydrated, taken in the page: Playwright notices the marker a little
    // later, by when a chunk fetched on idle (the Markdown renderer) may have come in too.
    await page.addInitScript(() => {
      const w = globalThis as unknown as { __hydratedAt?: number };
      new MutationObserver((_, observer) => {
        if (document.querySelector('[data-hydrated="true"]')) {
          w.__hydratedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
    const sizes: Promise<{ url: string; type: string; bytes: number }>[] = [];
    // Requests that finish after the sizes are taken count for nothing, and their sizes would be
    // asked of a closed context (an unhandled rejection): they are not listened to.
    let taking = true;
    page.on("requestfinished", (request) => {
      if (!taking) return;
      sizes.push(
        request.sizes().then((s) => ({
          url: request.url(),
          type: request.resourceType(),
          bytes: s.responseBodySize + s.responseHeadersSize,
        })),
      );
    });
    await page.goto(url);
    await page.waitForFunction(() =>
      (globalThis as unknown as { __hydratedAt?: number }).__hydratedAt !== undefined
    );
    // Requests the page started before it hydrated (the document has no resource entry).
    const before = new Set(
      await page.evaluate(() => {
        const at = (globalThis as unknown as { __hydratedAt: number }).__hydratedAt;
        return performance.getEntriesByType("resource")
          .filter((entry) => entry.startTime <= at)
          .map((entry) => entry.name);
      }),
    );
    taking = false;
    const all = (await Promise.all(sizes))
      .filter((s) => s.type === "document" || before.has(s.url));
    const sum = (type: string) =>
      all.filter((s) => s.type === type).reduce((n, s) => n + s.bytes, 0);
    const other = all.filter((s) => !["document", "script", "stylesheet"].includes(s.type))
      .reduce((n, s) => n + s.bytes, 0);
    return {
      html: sum("document"),
      js: sum("script"),
      css: sum("stylesheet"),
      other,
      scripts: all.filter((s) => s.type === "script").length,
    };
  } finally {
    await context.close();
  }
}

/** First contentful paint of one cold visit, in ms from navigation start. */
async function fcp(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    const handle = await page.waitForFunction(() =>
      performance.getEntriesByName("first-contentful-paint")[0]?.startTime
    );
    return await handle.jsonValue() as number;
  } finally {
    await context.close();
  }
}

/**
 * ms from navigation start until the island hydrated, and until the conversation is on screen
 * and the page usable; recorded in the page by a MutationObserver installed before any script.
 */
async function open(browser: Browser, url: string): Promise<{ hydrated: number; ready: number }> {
  const context = await browser.newContext();
  try {
    const page: Page = await context.newPage();
    await page.addInitScript(() => {
      const w = globalThis as unknown as { __marks: { hydrated?: number; ready?: number } };
      w.__marks = {};
      const check = () => {
        const marks = w.__marks;
        if (marks.hydrated === undefined && document.querySelector('[data-hydrated="true"]')) {
          marks.hydrated = performance.now();
        }
        const box = document.querySelector<HTMLTextAreaElement>("textarea.composer-input");
        const shown = document.querySelector('[data-role="assistant"][data-status="done"]');
        const loading = document.querySelector('[data-testid="loading"]');
        if (
          marks.ready === undefined && marks.hydrated !== undefined && shown && !loading && box &&
          !box.disabled
        ) {
          marks.ready = performance.now();
        }
      };
      new MutationObserver(check).observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
      });
    });
    await page.goto(url);
    const handle = await page.waitForFunction(() => {
      const marks = (globalThis as unknown as { __marks: { hydrated?: number; ready?: number } })
        .__marks;
      return marks.ready !== undefined ? marks : false;
    });
    return await handle.jsonValue() as { hydrated: number; ready: number };
  } finally {
    await context.close();
  }
}

interface Timing {
  readonly p50: number;
  readonly p95: number;
}

function timing(values: readonly number[]): Timing {
  return { p50: round(median(values), 1), p95: round(percentile(values, 95), 1) };
}

export interface PageReport {
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly flags: PageFlags;
  readonly weight: Weight & { readonly budgeted: number };
  readonly fcp: { readonly app: Timing; readonly baseline: Timing; readonly ratio: number };
  readonly open: {
    readonly long: { readonly hydrated: Timing; readonly ready: Timing };
    readonly short: { readonly hydrated: Timing; readonly ready: Timing };
    readonly ratio: number;
  };
  readonly budgets: Record<string, { budget: number; value: number; met: boolean }>;
}

export async function runPage(
  flags: PageFlags,
  machine: Record<string, unknown>,
  say: (line: string) => void,
): Promise<PageReport> {
  const dataDir = await Deno.makeTempDir({ prefix: "bench-page-" });
  const ollama = await FakeOllama.start();
  let app: Awaited<ReturnType<typeof spawnApp>> | undefined;
  let browser: Browser | undefined;
  try {
    const ids = await seed(dataDir, flags.messages);
    app = await spawnApp({ OLLAMA_HOST: ollama.url, DATA_DIR: dataDir });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        // Every new context is a new window, and Chromium 156 builds each window's omnibox popup
        // (a WebUI page in a renderer of its own) while the visit is loading: in the trace that
        // was as much CPU as the page itself, on two cores. A person's window has it once.
        "--disable-features=WebUIOmniboxPopup",
      ],
    });
    say(`Page benchmark: app pid ${app.process.pid} at ${app.url}, ${flags.rounds} rounds`);
    const url = (path: string) => `${app!.url}${path}`;

    // Warm-up: the server's bundle and gzip caches, Chromium's code caches for the page.
    for (let i = 0; i < 3; i++) {
      await fcp(browser, url("/"));
      await open(browser, url(`/c/${ids.short}`));
    }
    const weight = await weigh(browser, url("/"));

    const appFcp: number[] = [];
    const baseFcp: number[] = [];
    const long = { hydrated: [] as number[], ready: [] as number[] };
    const short = { hydrated: [] as number[], ready: [] as number[] };
    for (let i = 0; i < flags.rounds; i++) {
      baseFcp.push(await fcp(browser, url("/baseline.html")));
      appFcp.push(await fcp(browser, url("/")));
      const s = await open(browser, url(`/c/${ids.short}`));
      short.hydrated.push(s.hydrated);
      short.ready.push(s.ready);
      const l = await open(browser, url(`/c/${ids.long}`));
      long.hydrated.push(l.hydrated);
      long.ready.push(l.ready);
    }
    const budgeted = weight.html + weight.js;
    const fcpApp = timing(appFcp);
    const fcpBase = timing(baseFcp);
    const openLong = { hydrated: timing(long.hydrated), ready: timing(long.ready) };
    const openShort = { hydrated: timing(short.hydrated), ready: timing(short.ready) };
    return {
      date: new Date().toISOString(),
      machine,
      flags,
      weight: { ...weight, budgeted },
      fcp: { app: fcpApp, baseline: fcpBase, ratio: round(fcpApp.p50 / fcpBase.p50, 2) },
      open: {
        long: openLong,
        short: openShort,
        ratio: round(openLong.ready.p50 / openShort.ready.p50, 2),
      },
      budgets: {
        "weight (shell + JS)": {
          budget: BUDGET.weightBytes,
          value: budgeted,
          met: budgeted <= BUDGET.weightBytes,
        },
        "FCP p50 (ms)": {
          budget: BUDGET.fcpMs,
          value: fcpApp.p50,
          met: fcpApp.p50 <= BUDGET.fcpMs,
        },
        [`open ${flags.messages} p50 (ms)`]: {
          budget: BUDGET.openMs,
          value: openLong.ready.p50,
          met: openLong.ready.p50 <= BUDGET.openMs,
        },
      },
    };
  } finally {
    await browser?.close();
    await app?.stop();
    await ollama.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`;

export function pageTable(r: PageReport): string {
  const w = r.weight;
  const t = (x: Timing) => `p50 ${x.p50} ms, p95 ${x.p95} ms`;
  const load = r.machine.loadAverage;
  const lines = [
    `Machine load average at start: ${JSON.stringify(load ?? "unknown")}`,
    `Weight of / (transferred): HTML ${kb(w.html)} + JS ${kb(w.js)} (${w.scripts} files) = ` +
    `${kb(w.budgeted)}; CSS ${kb(w.css)}; other ${kb(w.other)}`,
    `FCP /: ${t(r.fcp.app)}; baseline static page: ${t(r.fcp.baseline)}; ratio ${r.fcp.ratio}`,
    `Open ${r.flags.messages} messages: hydrated ${t(r.open.long.hydrated)}; ` +
    `interactive ${t(r.open.long.ready)}`,
    `Open 2 messages: hydrated ${t(r.open.short.hydrated)}; interactive ${
      t(r.open.short.ready)
    }; ` +
    `ratio ${r.open.ratio}`,
    "Budgets:",
    ...Object.entries(r.budgets).map(([name, b]) =>
      `  ${name.padEnd(22)} ≤ ${b.budget}: ${b.value} → ${b.met ? "met" : "NOT met"}`
    ),
  ];
  return lines.join("\n");
}

/** Runs the suite, prints the table, writes the JSON; returns the path written. */
export async function mainPage(
  flags: PageFlags,
  machine: Record<string, unknown>,
  say: (line: string) => void,
): Promise<string> {
  const began = performance.now();
  const report = await runPage(flags, machine, say);
  say("");
  say(pageTable(report));
  const out = flags.out ??
    new URL(`./results/page-${report.date.replace(/[:.]/g, "-")}.json`, import.meta.url)
      .pathname;
  await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  say(`\nResults: ${out} (${round((performance.now() - began) / 1000, 1)} s)`);
  return out;
}
