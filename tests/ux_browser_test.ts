/**
 * The chat page's usability in Chromium: message actions (copy, delete with undo), keyboard
 * shortcuts and where focus goes, themes, narrow screens, the empty, loading, offline and error
 * states, the polite announcement of finished answers, and hostile titles. By role and visible
 * text; no sleeps (the hydrated marker, events and held requests instead).
 */
import type { Page, Route } from "playwright-core";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { type Fixture, withApp } from "./helpers/fixture.ts";
import { EXAMPLE_PROMPTS } from "../lib/client/components.tsx";

type BrowserFixture = Fixture & BrowserSession;

function uxTest(
  name: string,
  env: Record<string, string>,
  test: (f: BrowserFixture) => Promise<void>,
): void {
  Deno.test({
    name: `ux - ${name}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: (t) =>
      withApp(
        env,
        (fixture) => withBrowser(t, fixture.app.url, (session) => test({ ...fixture, ...session })),
      ),
  });
}

function ui(page: Page) {
  const log = page.getByRole("log", { name: "Messages" });
  return {
    log,
    textbox: page.getByRole("textbox", { name: "Message", exact: true }),
    prompts: log.locator('[data-role="user"]'),
    answers: log.locator('[data-role="assistant"]'),
    done: log.locator('[data-role="assistant"][data-status="done"]'),
    search: page.getByRole("searchbox", { name: "Search conversations" }),
  };
}

async function connected(page: Page): Promise<void> {
  await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
}

async function send(page: Page, text: string): Promise<void> {
  const { textbox, done } = ui(page);
  const before = await done.count();
  await textbox.fill(text);
  await textbox.press("Enter");
  await done.nth(before).waitFor();
}

function assertQuiet(log: BrowserSession["log"]): void {
  assertEquals(log.pageErrors, [], "no uncaught errors in the page");
  assertEquals(log.dialogs, [], "no dialogs");
  assertEquals(log.consoleErrors, [], "no console errors");
  assertEquals(log.foreignRequests, [], "no request left the app's origin");
}

async function focusIs(page: Page, predicate: string): Promise<void> {
  await page.waitForFunction(predicate);
}

// ---------------------------------------------------------------------------------------------

uxTest("an example prompt sends itself; the answer is announced once, when it ends", {}, async (
  { page, open, log },
) => {
  await open();
  const { log: messages, prompts, done } = ui(page);
  await connected(page);
  assertEquals(await messages.getAttribute("aria-live"), "off", "tokens are not read out");
  const examples = page.getByRole("list", { name: "Example prompts" });
  assertEquals(await examples.getByRole("button").count(), EXAMPLE_PROMPTS.length);
  await examples.getByRole("button", { name: EXAMPLE_PROMPTS[1]! }).click();
  await prompts.getByText(EXAMPLE_PROMPTS[1]!, { exact: true }).waitFor();
  await done.first().waitFor();
  const announcer = page.getByTestId("announcer");
  assertEquals(await announcer.getAttribute("aria-live"), "polite");
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="announcer"]')?.textContent?.startsWith("Answer: You said")
  );
  assertQuiet(log);
});

uxTest("Copy puts a message's text on the clipboard and says Copied", {}, async (
  { page, open, context, origin, log },
) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  await open();
  await connected(page);
  await send(page, "Copy me");
  const answer = ui(page).done.first();
  await answer.getByRole("button", { name: "Copy message" }).click();
  await answer.getByRole("button", { name: "Copied" }).waitFor();
  assertEquals(
    await page.evaluate(() => navigator.clipboard.readText()),
    'You said: "Copy me". This is a fake answer.',
  );
  const prompt = ui(page).prompts.first();
  await prompt.getByRole("button", { name: "Copy message" }).click();
  await prompt.getByRole("button", { name: "Copied" }).waitFor();
  assertEquals(await page.evaluate(() => navigator.clipboard.readText()), "Copy me");
  // It says Copy again afterwards.
  await prompt.getByRole("button", { name: "Copy message" }).waitFor();
  assertQuiet(log);
});

uxTest(
  "Delete removes a message and what follows; Undo brings it back, a reload agrees",
  {},
  async (
    { page, open, reload, log },
  ) => {
    await open();
    const { prompts, answers, textbox } = ui(page);
    await connected(page);
    await send(page, "First question");
    await send(page, "Second question");
    assertEquals(await answers.count(), 2);

    await answers.first().getByRole("button", { name: "Delete message" }).click();
    const toast = page.getByRole("alert").filter({ hasText: "3 messages deleted" });
    await toast.waitFor();
    assertEquals(await prompts.locator(".user-text").allInnerTexts(), ["First question"]);
    assertEquals(await answers.count(), 0);
    await focusIs(
      page,
      "document.activeElement?.getAttribute('aria-label') === null && document.activeElement?.tagName === 'TEXTAREA'",
    );

    await toast.getByRole("button", { name: "Undo" }).click();
    await toast.waitFor({ state: "detached" });
    await prompts.getByText("Second question", { exact: true }).waitFor();
    assertEquals(await answers.count(), 2);
    await reload();
    await prompts.getByText("Second question", { exact: true }).waitFor();
    assertEquals(await answers.count(), 2);

    // A prompt takes its answer with it, for good once the toast is gone.
    await prompts.nth(1).getByRole("button", { name: "Delete message" }).click();
    await page.getByRole("alert").filter({ hasText: "2 messages deleted" }).waitFor();
    await reload();
    await ui(page).done.first().waitFor();
    assertEquals(await prompts.locator(".user-text").allInnerTexts(), ["First question"]);
    assertEquals(await textbox.inputValue(), "");
    assertQuiet(log);
  },
);

uxTest(
  "keyboard: Ctrl+K searches, ↑ edits the last prompt, Esc stops, Ctrl+Shift+O starts anew",
  {},
  async (
    { page, open, ollama, log },
  ) => {
    await open();
    const { textbox, prompts, answers, search } = ui(page);
    await connected(page);
    await send(page, "Tell me about tea");

    await page.keyboard.press("Control+k");
    await focusIs(
      page,
      "document.activeElement?.getAttribute('aria-label') === 'Search conversations'",
    );

    // ↑ in the empty message box opens the last prompt for editing, with its text.
    await textbox.focus();
    await textbox.press("ArrowUp");
    const edit = page.getByRole("textbox", { name: "Edit message" });
    await edit.waitFor();
    assertEquals(await edit.inputValue(), "Tell me about tea");
    await edit.press("Escape");
    await edit.waitFor({ state: "detached" });
    await focusIs(page, "document.activeElement?.classList.contains('composer-input')");
    // ↑ in a box with text moves the caret, as usual.
    await textbox.fill("draft");
    await textbox.press("ArrowUp");
    assertEquals(await edit.count(), 0);

    // Esc stops a streaming answer and leaves focus in the message box.
    ollama.manual = true;
    await textbox.fill("Tell me more");
    await textbox.press("Enter");
    await ollama.waitForHeld(1);
    await page.locator("body").press("Escape");
    await answers.nth(1).getByTestId("stopped").waitFor();
    await focusIs(page, "document.activeElement?.classList.contains('composer-input')");
    ollama.manual = false;
    ollama.release(Infinity);

    await page.keyboard.press("Control+Shift+O");
    await page.waitForURL((url) => url.pathname === "/");
    assertEquals(await prompts.count(), 0);
    await page.getByRole("list", { name: "Example prompts" }).waitFor();
    await focusIs(page, "document.activeElement?.classList.contains('composer-input')");
    assertEquals(await search.inputValue(), "");
    assertQuiet(log);
  },
);

uxTest("the shortcuts help lists the keys and gives focus back when closed", {}, async (
  { page, open, log },
) => {
  await open();
  const opener = page.getByRole("button", { name: "Keyboard shortcuts" });
  await opener.click();
  const dialog = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await dialog.waitFor();
  for (const text of ["Search conversations", "New chat", "Stop the answer being written"]) {
    await dialog.getByText(text, { exact: true }).waitFor();
  }
  await dialog.getByRole("button", { name: "Close" }).click();
  await dialog.waitFor({ state: "hidden" });
  await focusIs(page, "document.activeElement?.textContent === 'Keyboard shortcuts'");
  assertEquals(
    await page.getByRole("button", { name: "New chat" }).getAttribute("title"),
    "New chat (Ctrl+Shift+O)",
  );
  assertQuiet(log);
});

uxTest(
  "the theme follows the system, switches, and is rendered by the server next time",
  {},
  async (
    { page, open, reload, log },
  ) => {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: "dark" });
    await open();
    const theme = page.getByRole("combobox", { name: "Theme" });
    assertEquals(await theme.inputValue(), "system");
    const darkSystem = await background();
    await page.emulateMedia({ colorScheme: "light" });
    const lightSystem = await background();
    assert(darkSystem !== lightSystem, `${darkSystem} vs ${lightSystem}`);

    await theme.selectOption({ label: "Dark" });
    assertEquals(await page.locator("html").getAttribute("data-theme"), "dark");
    assertEquals(await background(), darkSystem, "dark although the system is light");
    const response = await reload();
    assertMatch(await response.text(), /<html lang="en" data-theme="dark">/);
    assertEquals(await page.getByRole("combobox", { name: "Theme" }).inputValue(), "dark");
    assertEquals(await background(), darkSystem);

    await page.getByRole("combobox", { name: "Theme" }).selectOption({ label: "Light" });
    await page.emulateMedia({ colorScheme: "dark" });
    assertEquals(await background(), lightSystem, "light although the system is dark");
    assertQuiet(log);
  },
);

uxTest("at 360 px: no sideways scroll, the drawer opens, a message sends", {}, async (
  { page, open, log },
) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await open();
  await connected(page);
  const overflow = () =>
    page.evaluate(() =>
      document.documentElement.scrollWidth - document.documentElement.clientWidth
    );
  assertEquals(await overflow(), 0);
  const toggle = page.getByRole("button", { name: "Conversations" });
  await toggle.click();
  assertEquals(await toggle.getAttribute("aria-expanded"), "true");
  await ui(page).search.waitFor({ state: "visible" });
  await page.keyboard.press("Escape");
  await toggle.click();
  await send(page, "Small screen");
  assertEquals(await overflow(), 0);
  const box = await ui(page).textbox.boundingBox();
  assert(box && box.x >= 0 && box.x + box.width <= 360, JSON.stringify(box));
  assertQuiet(log);
});

uxTest("offline: a banner while the browser is offline, gone when it is back", {}, async (
  { page, open, context },
) => {
  await open();
  await connected(page);
  const banner = page.getByText(/^You are offline\./);
  assertEquals(await banner.count(), 0);
  await context.setOffline(true);
  await banner.waitFor();
  await context.setOffline(false);
  await banner.waitFor({ state: "detached" });
});

uxTest("a conversation shows a skeleton while it loads", {}, async ({ page, open, app }) => {
  const chat = await app.store.createConversation("local", { title: "Slow" });
  await app.store.addMessage("local", {
    conversationId: chat.id,
    parentId: null,
    role: "user",
    content: "Are you there?",
  });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(`**/api/conversations/${chat.id}`, async (route: Route) => {
    await held;
    await route.continue();
  });
  await open(`/c/${chat.id}`);
  const skeleton = page.getByRole("status").filter({ hasText: "Loading the conversation…" });
  await skeleton.waitFor({ state: "attached" });
  release();
  await ui(page).prompts.getByText("Are you there?", { exact: true }).waitFor();
  assertEquals(await skeleton.count(), 0);
});

uxTest("a failed answer puts the prompt back; Retry asks again and empties the box", {}, async (
  { page, open, ollama, log },
) => {
  await open();
  const { textbox, answers, done } = ui(page);
  await connected(page);
  ollama.errorAfterChunks = { chunks: 0, message: "boom" };
  await textbox.fill("Try this");
  await textbox.press("Enter");
  const failed = answers.and(page.locator('[data-status="error"]'));
  await failed.getByRole("alert").waitFor();
  assertEquals(await textbox.inputValue(), "Try this", "the prompt is back to edit or resend");
  ollama.errorAfterChunks = undefined;
  await failed.getByRole("button", { name: "Retry" }).click();
  await done.first().waitFor();
  assertEquals(await textbox.inputValue(), "");
  assertEquals(log.pageErrors, []);
});

uxTest("hostile titles and imported conversations render inert", {}, async (
  { page, open, log },
) => {
  const hostile = `<img src=x onerror="document.title='pwned'"><script>alert(1)</script>`;
  const file = {
    format: "local-llm-chat/conversation",
    version: 1,
    conversation: {
      id: "imported-1",
      title: hostile,
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    },
    messages: [{
      id: "m1",
      parentId: null,
      role: "user",
      content: hostile,
      state: "complete",
      createdAt: "2026-01-01T00:00:00.000Z",
    }, {
      id: "m2",
      parentId: "m1",
      role: "assistant",
      content:
        `# ${hostile}\n\n[x](javascript:alert(2)) <iframe src="javascript:alert(3)"></iframe>`,
      state: "complete",
      createdAt: "2026-01-01T00:00:01.000Z",
    }],
  };
  const dir = await Deno.makeTempDir({ prefix: "ux-import-" });
  const path = `${dir}/hostile.json`;
  await Deno.writeTextFile(path, JSON.stringify(file));
  await open();
  await page.getByLabel("Import conversation").setInputFiles(path);
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await nav.getByRole("link", { name: hostile }).waitFor();
  // Only now: the page reads the file when it imports it, not when it is chosen.
  await Deno.remove(dir, { recursive: true });
  await ui(page).done.first().waitFor();
  await ui(page).prompts.getByText(hostile, { exact: true }).waitFor();
  await page.waitForFunction((title) => document.title === title, `${hostile} · Local Chat`);
  const live = await page.evaluate(() => ({
    // The island's props travel as inert JSON; any other inline script would be injected.
    scripts: [...document.querySelectorAll("script")]
      .filter((s) => !s.src && s.type !== "application/json").length,
    handlers: [...document.querySelectorAll("*")].filter((el) =>
      [...el.attributes].some((a) =>
        a.name.startsWith("on")
      )
    ).length,
    frames: document.querySelectorAll("iframe").length,
    jsLinks: [...document.querySelectorAll("a")].filter((a) => /^javascript:/i.test(a.href)).length,
  }));
  assertEquals(live, { scripts: 0, handlers: 0, frames: 0, jsLinks: 0 });
  // The server-rendered page of the same conversation is inert too.
  await open("/c/imported-1");
  await nav.getByRole("link", { name: hostile }).waitFor();
  await ui(page).done.first().waitFor();
  // The handler never ran: the title is the text, not "pwned".
  await page.waitForFunction((title) => document.title === title, `${hostile} · Local Chat`);
  assertQuiet(log);
});

uxTest("a long conversation opens at its newest messages; earlier ones come on request", {}, async (
  { page, open, app, log },
) => {
  const chat = await app.store.createConversation("local", { title: "Long" });
  let parent: string | null = null;
  for (let i = 0; i < 100; i++) {
    const m = await app.store.addMessage("local", {
      conversationId: chat.id,
      parentId: parent,
      role: i % 2 === 0 ? "user" : "assistant",
      content: i === 0 ? "The zebra question" : i % 2 === 0 ? `Question ${i}` : `Answer ${i}`,
    });
    parent = m.id;
  }
  await open(`/c/${chat.id}`);
  const { log: messages, prompts } = ui(page);
  await prompts.getByText("Question 98", { exact: true }).waitFor();
  const rendered = messages.locator("[data-role]");
  assertEquals(await rendered.count(), 20);
  await page.getByRole("button", { name: "Show earlier messages (80)" }).click();
  await page.getByRole("button", { name: "Show earlier messages (60)" }).waitFor();
  assertEquals(await rendered.count(), 40);

  // A search hit far up is shown, whatever the window.
  await open(`/c/${chat.id}`);
  await ui(page).search.fill("zebra");
  await page.getByRole("list", { name: "Search results" }).getByRole("button").first().click();
  await prompts.getByText("The zebra question", { exact: true }).waitFor();
  assertQuiet(log);
});

uxTest("offline: a banner when the server stays unreachable, gone once it answers", {}, async (
  { page, open },
) => {
  let reachable = false;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (reachable) ws.connectToServer();
    else ws.close({ code: 1006 });
  });
  await open();
  const banner = page.getByText(/^The server can't be reached\./);
  await banner.waitFor({ timeout: 15_000 });
  reachable = true;
  await connected(page);
  await banner.waitFor({ state: "detached" });
});
