/**
 * Stored conversations in a real browser (Debian's Chromium through playwright-core) against the
 * real app and a fake Ollama: resuming an answer after a reload, in a second tab and after the
 * server died, the sidebar (delete/undo, search, import/export) and versions (edit, regenerate).
 * The page is driven by role, accessible name and visible text, plus the data attributes the
 * island documents (`data-hydrated`, `data-role`, `data-status`, `data-highlight`).
 *
 * Browser tests turn Deno's op and resource sanitizers off: playwright-core keeps a pipe to
 * Chromium and timers of its own whose bookkeeping does not line up with one test's.
 */
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { FakeOllama, type RecordedRequest } from "./fake_ollama.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { spawnApp, type SpawnedApp, startTestApp } from "./helpers/app.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { type Fixture, withApp } from "./helpers/fixture.ts";

type Env = Record<string, string>;
type BrowserFixture = Fixture & BrowserSession;

/** A browser test on a fresh fake Ollama + app + Chromium profile. */
function browserTest(name: string, env: Env, test: (f: BrowserFixture) => Promise<void>): void {
  Deno.test({
    name: `browser conversations - ${name}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: (t) =>
      withApp(
        env,
        (fixture) => withBrowser(t, fixture.app.url, (session) => test({ ...fixture, ...session })),
      ),
  });
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

/** The contents (no system prompt) the model got in the last answer request. */
function lastTurns(ollama: FakeOllama): string[] {
  const last = chats(ollama).at(-1);
  assert(last, "Ollama got an answer request");
  return last.body.messages.filter((m) => m.role !== "system").map((m) => m.content);
}

/** The page's landmarks, by role and name. */
function ui(page: Page) {
  const log = page.getByRole("log", { name: "Messages" });
  const nav = page.getByRole("navigation", { name: "Conversations" });
  const list = nav.getByRole("list");
  return {
    log,
    textbox: page.getByRole("textbox", { name: "Message", exact: true }),
    users: log.locator('[data-role="user"]'),
    answers: log.locator('[data-role="assistant"]'),
    /** The assistant messages once their `data-status` is `status`. */
    answerWith: (status: string) => log.locator(`[data-role="assistant"][data-status="${status}"]`),
    /** The prompt showing `text`. */
    prompt: (text: string) =>
      log.locator('[data-role="user"]').filter({ has: page.getByText(text, { exact: true }) }),
    /** The answer showing `text`. */
    answer: (text: string) =>
      log.locator('[data-role="assistant"]').filter({
        has: page.getByText(text, { exact: true }),
      }),
    list,
    /** The sidebar's links titled `title`. */
    link: (title: string) => list.getByRole("link", { name: title, exact: true }),
    /** The sidebar's entries titled `title`. */
    item: (title: string) =>
      list.getByRole("listitem").filter({
        has: page.getByRole("link", { name: title, exact: true }),
      }),
    toast: page.getByRole("alert").filter({ hasText: "Conversation deleted" }),
  };
}

async function connected(page: Page): Promise<void> {
  await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
}

/** The id in `/c/<id>` once the page shows a stored conversation. */
async function conversationId(page: Page): Promise<string> {
  await page.waitForURL(/\/c\/[^/?#]+$/);
  return new URL(page.url()).pathname.split("/").at(-1)!;
}

/** Sends `text` from the message box and waits for the done answer showing `answer`. */
async function ask(page: Page, text: string, answer: string): Promise<void> {
  const { textbox, prompt, answerWith } = ui(page);
  await textbox.fill(text);
  await textbox.press("Enter");
  await prompt(text).waitFor();
  await answerWith("done").filter({ has: page.getByText(answer, { exact: true }) }).waitFor();
}

/** What the default fake reply renders to. */
function echo(text: string): string {
  return `You said: "${text}". This is a fake answer.`;
}

/** Waits until the page shows the conversation `/c/<id>` with the `[data-hydrated]` island. */
async function openOn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('[data-hydrated="true"]').waitFor({ state: "attached" });
}

function occurrences(text: string, word: string): number {
  return text.match(new RegExp(`\\b${word}\\b`, "g"))?.length ?? 0;
}

function assertQuietPage(log: BrowserSession["log"], allowConsole: RegExp[] = []): void {
  assertEquals(log.pageErrors, [], "no uncaught errors in the page");
  assertEquals(log.dialogs, [], "no dialogs");
  const unexpected = log.consoleErrors.filter((e) => !allowConsole.some((re) => re.test(e)));
  assertEquals(unexpected, [], "no console errors");
  assertEquals(log.foreignRequests, [], "no request left the app's origin");
}

const TEN = Array.from({ length: 10 }, (_, i) => `t${i + 1}${i < 9 ? " " : ""}`);
const TEN_TEXT = TEN.join("");

// ---------------------------------------------------------------------------------------------

browserTest(
  "a reload mid-answer resumes it with no gap and no duplicate",
  {},
  async ({ page, open, reload, ollama, log }) => {
    ollama.manual = true;
    ollama.reply = () => TEN;
    await open();
    const { textbox, answers, answerWith, log: messages } = ui(page);
    await connected(page);
    await textbox.fill("Count to ten");
    await textbox.press("Enter");
    const id = await conversationId(page);
    await ollama.waitForHeld(1);
    ollama.release(3);
    await answers.getByText("t1 t2 t3", { exact: true }).waitFor();

    await reload();
    assertEquals(new URL(page.url()).pathname, `/c/${id}`, "the reload stays on the conversation");
    // The answer comes back with what it had (stored or resumed), still live.
    await answers.getByText(/^t1 t2 t3/).waitFor();
    ollama.release(Infinity);
    const done = answerWith("done");
    await done.getByText(TEN_TEXT, { exact: true }).waitFor();
    assertEquals(await answers.count(), 1, "one answer");
    const text = await done.innerText();
    for (const word of ["t1", "t2", "t3", "t4", "t10"]) {
      assertEquals(occurrences(text, word), 1, `"${word}" shows once in ${JSON.stringify(text)}`);
    }
    assertEquals(await messages.getByText(TEN_TEXT, { exact: true }).count(), 1);
    assertEquals(chats(ollama).length, 1, "the reload asked the model nothing more");
    assertQuietPage(log);
  },
);

browserTest(
  "two tabs on one answer both end with the whole text",
  {},
  async ({ page, open, context, ollama, log }) => {
    ollama.manual = true;
    ollama.reply = () => TEN;
    await open();
    await connected(page);
    const first = ui(page);
    await first.textbox.fill("Count to ten");
    await first.textbox.press("Enter");
    const id = await conversationId(page);
    await ollama.waitForHeld(1);
    ollama.release(2);
    await first.answers.getByText("t1 t2", { exact: true }).waitFor();

    const page2 = await context.newPage();
    const errors: string[] = [];
    page2.on("pageerror", (error) => errors.push(String(error)));
    await openOn(page2, `${new URL(page.url()).origin}/c/${id}`);
    const second = ui(page2);
    await second.answers.getByText(/^t1 t2/).waitFor();
    ollama.release(3);
    await first.answers.getByText("t1 t2 t3 t4 t5", { exact: true }).waitFor();
    await second.answers.getByText("t1 t2 t3 t4 t5", { exact: true }).waitFor();
    ollama.release(Infinity);
    for (const tab of [first, second]) {
      await tab.answerWith("done").getByText(TEN_TEXT, { exact: true }).waitFor();
      assertEquals(await tab.answers.count(), 1);
      assertEquals(occurrences(await tab.answers.innerText(), "t3"), 1);
    }
    assertEquals(chats(ollama).length, 1, "one answer from the model");
    assertEquals(errors, [], "no uncaught errors in the second tab");
    await page2.close();
    assertQuietPage(log);
  },
);

Deno.test({
  name: "browser conversations - kill -9 mid-answer, restart: interrupted, then Continue",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const ollama = await FakeOllama.start();
    const dataDir = await Deno.makeTempDir({ prefix: "chat-data-" });
    const env = { OLLAMA_HOST: ollama.url, DATA_DIR: dataDir, FLUSH_INTERVAL_MS: "50" };
    let app: SpawnedApp | undefined = await spawnApp(env);
    try {
      ollama.manual = true;
      // A continuation ends with the partial answer: the model carries on from there.
      ollama.reply = (request) =>
        request.messages.at(-1)?.role === "assistant" ? ["t4 ", "t5"] : TEN;
      await withBrowser(t, app.url, async ({ page, open, log }) => {
        await open();
        await connected(page);
        const { textbox, answers, answerWith } = ui(page);
        await textbox.fill("Count to ten");
        await textbox.press("Enter");
        const id = await conversationId(page);
        await ollama.waitForHeld(1);
        ollama.release(3);
        await answers.getByText("t1 t2 t3", { exact: true }).waitFor();
        // Wait for the store to have the three tokens, then kill the process under them.
        for (let i = 0;; i++) {
          const response = await fetch(`${app!.url}/api/conversations/${id}`);
          const body = await response.json() as { messages: { role: string; lastSeq: number }[] };
          if ((body.messages.find((m) => m.role === "assistant")?.lastSeq ?? 0) >= 3) break;
          if (i > 200) throw new Error("the store never flushed 3 deltas");
          await new Promise((r) => setTimeout(r, 25));
        }
        const status = await app!.stop("SIGKILL");
        assertEquals(status.signal, "SIGKILL");
        const port = app!.port;
        app = undefined;
        app = await spawnApp({ ...env, PORT: String(port) });

        // The page reconnects by itself and finds the answer was cut.
        const interrupted = answerWith("interrupted");
        await interrupted.waitFor({ timeout: 10_000 });
        await interrupted.getByText("t1 t2 t3", { exact: true }).waitFor();
        await interrupted.getByText("interrupted", { exact: true }).waitFor();
        await interrupted.getByRole("button", { name: "Regenerate" }).waitFor();
        const requestsBefore = chats(ollama).length;
        await interrupted.getByRole("button", { name: "Continue" }).click();
        ollama.release(Infinity);
        const done = answerWith("done");
        await done.getByText("t1 t2 t3 t4 t5", { exact: true }).waitFor();
        assertEquals(await answers.count(), 1, "continued in the same message");
        assertEquals(chats(ollama).length, requestsBefore + 1);
        assertEquals(lastTurns(ollama), ["Count to ten", "t1 t2 t3 "]);
        // The socket to the killed process failed; the browser says so on its console.
        assertQuietPage(log, [/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/]);
      });
    } finally {
      await app?.stop("SIGKILL");
      await ollama.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});

browserTest(
  "delete hides a conversation, Undo brings it back; without Undo it stays gone",
  { UNDO_WINDOW: "1" },
  async ({ page, open, reload, log }) => {
    await open();
    await connected(page);
    await ask(page, "Apples", echo("Apples"));
    await page.getByRole("button", { name: "New chat" }).click();
    await ask(page, "Bananas", echo("Bananas"));
    const { link, item, toast, list } = ui(page);
    await link("Apples").waitFor();
    await link("Bananas").waitFor();

    await item("Apples").getByRole("button", { name: "Delete" }).click();
    await toast.waitFor();
    await link("Apples").waitFor({ state: "detached" });
    await toast.getByRole("button", { name: "Undo" }).click();
    await link("Apples").waitFor();
    await toast.waitFor({ state: "detached" });
    await link("Bananas").waitFor();

    await item("Apples").getByRole("button", { name: "Delete" }).click();
    await toast.waitFor();
    await link("Apples").waitFor({ state: "detached" });
    // The undo window is one second: the toast goes with it.
    await toast.waitFor({ state: "detached" });
    await reload();
    await link("Bananas").waitFor();
    assertEquals(await link("Apples").count(), 0, "the deleted conversation stays gone");
    assertEquals(await list.getByRole("link").count(), 1);
    assertQuietPage(log);
  },
);

browserTest(
  "search finds a word, marks it and opens the conversation at that message",
  {},
  async ({ page, open, log }) => {
    await open();
    await connected(page);
    const ids: Record<string, string> = {};
    for (const word of ["pineapple", "walrus", "zeppelin"]) {
      if (word !== "pineapple") await page.getByRole("button", { name: "New chat" }).click();
      await ask(page, `Tell me about the ${word}`, echo(`Tell me about the ${word}`));
      ids[word] = await conversationId(page);
    }
    assertEquals(new Set(Object.values(ids)).size, 3, "three conversations");

    await page.getByRole("searchbox", { name: "Search conversations" }).fill("walrus");
    const results = page.getByRole("list", { name: "Search results" });
    const hit = results.getByRole("button").filter({
      has: page.locator("mark").getByText("walrus", { exact: true }),
    });
    await hit.first().waitFor();
    assertEquals(
      await results.getByRole("button").filter({ hasText: /pineapple|zeppelin/ }).count(),
      0,
      "only the walrus conversation matches",
    );
    await hit.first().click();
    await page.waitForURL(new RegExp(`/c/${ids.walrus}$`));
    // The message the hit names is brought into view and highlighted for a moment.
    const highlighted = page.locator('[data-highlight="true"]').filter({ hasText: "walrus" });
    await highlighted.waitFor();
    const anchor = await highlighted.evaluate((el) => [el.id, el.getAttribute("data-message-id")]);
    assertEquals(anchor[0], `m-${anchor[1]}`, "the highlighted message is a stored one");
    const { prompt, users } = ui(page);
    await prompt("Tell me about the walrus").waitFor();
    assert(await prompt("Tell me about the walrus").isVisible(), "the message is visible");
    assertEquals(await users.count(), 1, "the walrus conversation only");
    assertEquals(
      await ui(page).link("Tell me about the walrus").getAttribute("aria-current"),
      "page",
    );
    assertQuietPage(log);
  },
);

Deno.test({
  name: "browser conversations - export JSON, import into a fresh app, import again: one copy",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    let exported = "";
    await withApp({}, async ({ app, ollama }) => {
      await withBrowser(t, app.url, async ({ page, open, log }) => {
        await open();
        await connected(page);
        await ask(page, "Round trip", echo("Round trip"));
        await ask(page, "Second turn", echo("Second turn"));
        await page.getByRole("button", { name: "Export", exact: true }).click();
        const href = await page.getByRole("link", { name: "Export JSON" }).getAttribute("href");
        assert(href, "the export link has an href");
        const response = await fetch(new URL(href, app.url));
        assertEquals(response.status, 200);
        exported = await response.text();
        assertQuietPage(log);
      });
      const second = await startTestApp({ OLLAMA_HOST: ollama.url });
      try {
        await withBrowser(t, second.url, async ({ page, open, reload, log }) => {
          await open();
          await connected(page);
          const { users, answers, link } = ui(page);
          const input = page.getByLabel("Import conversation");
          const file = {
            name: "round-trip.json",
            mimeType: "application/json",
            buffer: Buffer.from(exported),
          };
          await input.setInputFiles(file);
          const id = await conversationId(page);
          await ui(page).prompt("Round trip").waitFor();
          await ui(page).prompt("Second turn").waitFor();
          await answers.getByText(echo("Second turn"), { exact: true }).waitFor();
          assertEquals(await users.count(), 2);
          await link("Round trip").waitFor();

          const imported = page.waitForResponse((r) =>
            r.url().endsWith("/api/conversations/import") && r.request().method() === "POST"
          );
          await input.setInputFiles(file);
          assert((await imported).ok(), "the second import answers OK");
          await reload();
          await link("Round trip").waitFor();
          assertEquals(await link("Round trip").count(), 1, "one entry with that title");
          assertEquals(await ui(page).list.getByRole("link").count(), 1, "and no renamed copy");
          const listed = await (await fetch(`${second.url}/api/conversations`)).json();
          assertEquals(
            JSON.stringify(listed).match(/"title":"Round trip"/g)?.length,
            1,
            `one stored conversation: ${JSON.stringify(listed)}`,
          );
          await link("Round trip").click();
          await page.waitForURL(/\/c\//);
          await ui(page).prompt("Second turn").waitFor();
          assertEquals(await users.count(), 2, "still two prompts");
          assert(id, "the import opened a conversation");
          assertQuietPage(log);
        });
      } finally {
        await second.shutdown();
      }
    });
  },
});

browserTest(
  "switching a prompt's version changes the branch the model gets",
  { SYSTEM_PROMPT: "" },
  async ({ page, open, ollama, log }) => {
    ollama.reply = (request) => [
      request.messages.findLast((m) => m.role === "user")!.content.replace("Q", "A"),
    ];
    await open();
    await connected(page);
    const { prompt, answers } = ui(page);
    await ask(page, "Q1", "A1");
    await ask(page, "Q2", "A2");

    await prompt("Q2").getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("textbox", { name: "Edit message" });
    await edit.fill("Q2b");
    await page.getByRole("button", { name: "Save & send" }).click();
    await ui(page).answerWith("done").getByText("A2b", { exact: true }).waitFor();
    await prompt("Q2b").getByText("2/2", { exact: true }).waitFor();
    assertEquals(await prompt("Q2").count(), 0, "the old version is hidden");

    await ask(page, "Q3", "A3");
    assertEquals(lastTurns(ollama), ["Q1", "A1", "Q2b", "A2b", "Q3"]);

    await prompt("Q2b").getByRole("button", { name: "Previous version" }).click();
    await prompt("Q2").getByText("1/2", { exact: true }).waitFor();
    await answers.getByText("A2", { exact: true }).waitFor();
    assertEquals(await prompt("Q3").count(), 0, "Q3 is on the other branch");
    assertEquals(await prompt("Q2b").count(), 0);

    await ask(page, "Q4", "A4");
    assertEquals(lastTurns(ollama), ["Q1", "A1", "Q2", "A2", "Q4"]);
    assertQuietPage(log);
  },
);

browserTest(
  "Regenerate adds a version of the answer; Previous version shows the first",
  {},
  async ({ page, open, ollama, log }) => {
    let n = 0;
    ollama.reply = () => [++n === 1 ? "First answer." : "Second answer."];
    await open();
    await connected(page);
    await ask(page, "Hello", "First answer.");
    const { answer, answers } = ui(page);
    await answer("First answer.").getByRole("button", { name: "Regenerate" }).click();
    await ui(page).answerWith("done").getByText("Second answer.", { exact: true }).waitFor();
    await answer("Second answer.").getByText("2/2", { exact: true }).waitFor();
    assertEquals(await answers.count(), 1, "one answer shows at a time");
    assertEquals(chats(ollama).length, 2);

    await answer("Second answer.").getByRole("button", { name: "Previous version" }).click();
    await answer("First answer.").getByText("1/2", { exact: true }).waitFor();
    assertEquals(await answer("Second answer.").count(), 0);
    assertQuietPage(log);
  },
);
