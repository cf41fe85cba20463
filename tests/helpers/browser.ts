/**
 * Debian's Chromium, driven by playwright-core, for the browser tests: one fresh profile per
 * test, everything the page does wrong collected (page errors, console errors, dialogs, requests
 * that leave the app's origin), and a screenshot in `tests/artifacts/<test-name>.png` at the end.
 *
 * @example
 * ```ts
 * await withBrowser(t, app.url, async ({ page, open }) => {
 *   await open("/");
 *   await page.getByRole("button", { name: "Send" }).click();
 * });
 * ```
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
const ARTIFACTS = new URL("../artifacts/", import.meta.url);

/** What went wrong in the page while the test ran; the test asserts on it at the end. */
export interface PageLog {
  /** Uncaught exceptions in the page. */
  readonly pageErrors: string[];
  /** `console.error` lines and failed loads Chromium reports on the console. */
  readonly consoleErrors: string[];
  /** Every `alert`/`confirm`/`prompt`/`beforeunload` (each dismissed at once). */
  readonly dialogs: { type: string; message: string }[];
  /** Every request the page made to another origin than the app's (by URL). */
  readonly foreignRequests: string[];
}

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly log: PageLog;
  /** The app's origin, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string;
  /**
   * Opens `path` on the app, waits for the island to hydrate and returns the main document's
   * response (for its headers).
   */
  open(path?: string): Promise<import("playwright-core").Response>;
  /** Reloads the page and waits for it to hydrate again. */
  reload(): Promise<import("playwright-core").Response>;
}

async function ensureChromium(): Promise<void> {
  try {
    const info = await Deno.stat(CHROMIUM_PATH);
    if (info.isFile || info.isSymlink) return;
  } catch {
    // fall through
  }
  throw new Error(
    `${CHROMIUM_PATH} is missing: the browser tests need Debian's \`chromium\` package ` +
      "(`apt-get install chromium`; `.ci/run` installs it).",
  );
}

/** A file name from a test name: `browser - send & stream` → `browser-send-stream`. */
export function artifactName(testName: string): string {
  return testName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "test";
}

async function hydrated(page: Page): Promise<void> {
  await page.locator('[data-hydrated="true"]').waitFor({ state: "attached" });
}

/**
 * Runs `test` with a fresh Chromium profile on the app at `appUrl`; closes the browser and
 * removes the profile afterwards, whatever happens, after saving a screenshot.
 *
 * The tests that use it set `sanitizeResources: false, sanitizeOps: false`: playwright-core
 * keeps a pipe to Chromium and timers of its own that outlive a single test's bookkeeping.
 */
export async function withBrowser(
  t: Deno.TestContext,
  appUrl: string,
  test: (session: BrowserSession) => Promise<void>,
): Promise<void> {
  await ensureChromium();
  const origin = new URL(appUrl).origin;
  const profile = await Deno.makeTempDir({ prefix: "chromium-" });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    context.setDefaultTimeout(5000);
    context.setDefaultNavigationTimeout(10_000);
    const log: PageLog = { pageErrors: [], consoleErrors: [], dialogs: [], foreignRequests: [] };
    // Requests of every page and worker in the context, not only the first page's.
    context.on("request", (request) => {
      const url = request.url();
      let requestOrigin: string;
      try {
        requestOrigin = new URL(url).origin;
      } catch {
        requestOrigin = "null";
      }
      // about:blank and the page's own data:/blob: documents are not network requests.
      if (/^(about|data|blob):/.test(url)) return;
      if (requestOrigin !== origin) log.foreignRequests.push(url);
    });
    const page = context.pages()[0] ?? await context.newPage();
    page.on("pageerror", (error) => log.pageErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") log.consoleErrors.push(message.text());
    });
    page.on("dialog", (dialog) => {
      log.dialogs.push({ type: dialog.type(), message: dialog.message() });
      dialog.dismiss().catch(() => {});
    });
    const session: BrowserSession = {
      context,
      page,
      log,
      origin,
      async open(path = "/") {
        const response = await page.goto(new URL(path, appUrl).href);
        if (!response) throw new Error(`no response for ${path}`);
        await hydrated(page);
        return response;
      },
      async reload() {
        const response = await page.reload();
        if (!response) throw new Error("no response for the reload");
        await hydrated(page);
        return response;
      },
    };
    try {
      await test(session);
    } finally {
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      const path = new URL(`${artifactName(t.name)}.png`, ARTIFACTS).pathname;
      await page.screenshot({ path, fullPage: true }).catch(() => {});
    }
  } finally {
    await context?.close().catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
