/**
 * Per-conversation settings in a real browser (Debian's Chromium through playwright-core)
 * against the real app and the fake Ollama, driven by role, accessible name and visible text:
 * the dialog saves what the model then gets, survives a reload, closes on Esc with focus back
 * on its button; presets are saved, applied and deleted; a new chat is created by saving; the
 * conversation's model is selected when it is opened.
 *
 * Browser tests turn Deno's op and resource sanitizers off: playwright-core keeps a pipe to
 * Chromium and timers of its own whose bookkeeping does not line up with one test's.
 */
import type { Page } from "playwright-core";
import type { FakeOllama, RecordedRequest } from "./fake_ollama.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { type Fixture, withApp } from "./helpers/fixture.ts";

type BrowserFixture = Fixture & BrowserSession;

const ENV = { SYSTEM_PROMPT: "You are a helpful assistant.", MODEL_TEMPERATURE: "0.8" };

function browserTest(name: string, test: (f: BrowserFixture) => Promise<void>): void {
  Deno.test({
    name: `browser settings - ${name}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: (t) =>
      withApp(
        ENV,
        (fixture) => withBrowser(t, fixture.app.url, (session) => test({ ...fixture, ...session })),
      ),
  });
}

interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  options?: Record<string, number>;
}

/** The last `/api/chat` request that asked for an answer (not a load). */
function lastChat(ollama: FakeOllama): ChatBody {
  const asks = ollama.requests.filter((r): r is RecordedRequest & { body: ChatBody } =>
    r.path === "/api/chat" && ((r.body as ChatBody | undefined)?.messages?.length ?? 0) > 0
  );
  const last = asks.at(-1);
  assert(last, "Ollama got an answer request");
  return last.body;
}

function echo(text: string): string {
  return `You said: "${text}". This is a fake answer.`;
}

function ui(page: Page) {
  const dialog = page.getByRole("dialog", { name: "Conversation settings" });
  return {
    button: page.getByRole("button", { name: "Conversation settings" }),
    dialog,
    prompt: dialog.getByRole("textbox", { name: "System prompt" }),
    temperature: dialog.getByRole("textbox", { name: "Temperature" }),
    topP: dialog.getByRole("textbox", { name: "Top P" }),
    topK: dialog.getByRole("textbox", { name: "Top K" }),
    context: dialog.getByRole("textbox", { name: "Context length" }),
    preset: dialog.getByRole("combobox", { name: "Preset" }),
    save: dialog.getByRole("button", { name: "Save", exact: true }),
  };
}

async function connected(page: Page): Promise<void> {
  await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
}

async function ask(page: Page, text: string): Promise<void> {
  const textbox = page.getByRole("textbox", { name: "Message", exact: true });
  await textbox.fill(text);
  await textbox.press("Enter");
  const log = page.getByRole("log", { name: "Messages" });
  await log.locator('[data-role="assistant"][data-status="done"]')
    .filter({ has: page.getByText(echo(text), { exact: true }) }).waitFor();
}

/** Opens the dialog and waits until its fields are loaded (enabled). */
async function openSettings(page: Page): Promise<void> {
  const { button, dialog, save } = ui(page);
  await button.click();
  await dialog.waitFor();
  await page.waitForFunction(() =>
    !document.querySelector<HTMLButtonElement>("dialog button[type=submit]")?.disabled
  );
  await save.waitFor();
}

async function focusedName(page: Page): Promise<string | null> {
  return await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? null);
}

/** `expected`: console lines the test provokes on purpose (a refused save is a 400 or 409). */
function assertQuietPage(log: BrowserSession["log"], expected: RegExp[] = []): void {
  assertEquals(log.pageErrors, [], "no uncaught errors in the page");
  assertEquals(log.dialogs, [], "no alert/confirm dialogs");
  const unexpected = log.consoleErrors.filter((e) => !expected.some((re) => re.test(e)));
  assertEquals(unexpected, [], "no console errors");
  assertEquals(log.foreignRequests, [], "no request left the app's origin");
}

// ---------------------------------------------------------------------------------------------

browserTest(
  "saved settings reach the model and survive a reload; Esc closes and focus returns",
  async ({ page, open, reload, ollama, log }) => {
    await open();
    await connected(page);
    await ask(page, "Hello");
    await page.waitForURL(/\/c\/[^/]+$/);
    const s = ui(page);

    await openSettings(page);
    assertEquals(await s.temperature.getAttribute("placeholder"), "default: 0.8");
    assertEquals(
      await s.prompt.getAttribute("placeholder"),
      "default: You are a helpful assistant.",
    );
    assertEquals(await s.topP.getAttribute("placeholder"), "default: the model's own");
    await s.prompt.fill("Speak like a pirate.");
    await s.temperature.fill("0.3");
    await s.context.fill("8192");
    await s.save.click();
    await s.dialog.waitFor({ state: "hidden" });
    assertEquals(await focusedName(page), "Conversation settings", "focus back on the button");

    await ask(page, "Where is the tea?");
    const body = lastChat(ollama);
    assertEquals(body.messages[0], { role: "system", content: "Speak like a pirate." });
    assertEquals(body.options?.temperature, 0.3);
    assertEquals(body.options?.num_ctx, 8192);

    await reload();
    await openSettings(page);
    assertEquals(await s.prompt.inputValue(), "Speak like a pirate.");
    assertEquals(await s.temperature.inputValue(), "0.3");
    assertEquals(await s.topK.inputValue(), "", "never set: the default");

    // Esc closes without saving.
    await s.temperature.fill("1.9");
    await page.keyboard.press("Escape");
    await s.dialog.waitFor({ state: "hidden" });
    assertEquals(await focusedName(page), "Conversation settings");
    await openSettings(page);
    assertEquals(await s.temperature.inputValue(), "0.3");

    // Bad values are refused in the dialog, which stays open and says why.
    await s.temperature.fill("warm");
    await s.save.click();
    await s.dialog.getByRole("alert").getByText("Temperature must be a number").waitFor();
    assertEquals(await s.temperature.getAttribute("aria-invalid"), "true");
    await s.temperature.fill("5");
    await s.save.click();
    await s.dialog.getByRole("alert").getByText(/temperature must be a number from 0 to 2/)
      .waitFor();

    // Reset to defaults, saved: the configured ones again.
    await s.dialog.getByRole("button", { name: "Reset to defaults" }).click();
    assertEquals(await s.prompt.inputValue(), "");
    await s.save.click();
    await s.dialog.waitFor({ state: "hidden" });
    await ask(page, "And now?");
    assertEquals(lastChat(ollama).messages[0]!.content, "You are a helpful assistant.");
    assertEquals(lastChat(ollama).options?.temperature, 0.8);
    assertQuietPage(log, [/status of 400 \(Bad Request\)/]);
  },
);

browserTest("presets are saved, applied and deleted", async ({ page, open, reload, log }) => {
  await open();
  await connected(page);
  await ask(page, "Hello");
  await page.waitForURL(/\/c\/[^/]+$/);
  const s = ui(page);
  await openSettings(page);
  await s.temperature.fill("0.1");
  await s.topK.fill("7");
  await s.dialog.getByRole("button", { name: "Save as preset…" }).click();
  const name = s.dialog.getByRole("textbox", { name: "Preset name" });
  await name.fill("Precise");
  await s.dialog.getByRole("button", { name: "Save preset" }).click();
  await s.dialog.getByRole("status").getByText("Preset “Precise” saved.").waitFor();

  await s.prompt.fill("Be playful.");
  await s.temperature.fill("1.4");
  await s.topK.fill("");
  await s.dialog.getByRole("button", { name: "Save as preset…" }).click();
  await name.fill("Creative");
  await s.dialog.getByRole("button", { name: "Save preset" }).click();
  await s.dialog.getByRole("status").getByText("Preset “Creative” saved.").waitFor();

  // A taken name is refused, and said so.
  await s.dialog.getByRole("button", { name: "Save as preset…" }).click();
  await name.fill("Precise");
  await s.dialog.getByRole("button", { name: "Save preset" }).click();
  await s.dialog.getByRole("alert").getByText('A preset named "Precise" already exists.')
    .waitFor();
  await s.dialog.getByRole("button", { name: "Save as preset…" }).click();

  await s.dialog.getByRole("button", { name: "Reset to defaults" }).click();
  assertEquals(await s.temperature.inputValue(), "");
  await s.preset.selectOption({ label: "Precise" });
  assertEquals(await s.temperature.inputValue(), "0.1");
  assertEquals(await s.topK.inputValue(), "7");
  assertEquals(await s.prompt.inputValue(), "");
  await s.save.click();
  await s.dialog.waitFor({ state: "hidden" });

  await reload();
  await openSettings(page);
  assertEquals(await s.temperature.inputValue(), "0.1", "the applied preset was saved");
  const options = async () => (await s.preset.locator("option").allInnerTexts()).slice(1);
  assertEquals(await options(), ["Creative", "Precise"]);
  await s.preset.selectOption({ label: "Creative" });
  assertEquals(await s.prompt.inputValue(), "Be playful.");
  await s.dialog.getByRole("button", { name: "Delete preset" }).click();
  await s.dialog.getByRole("status").getByText("Preset “Creative” deleted.").waitFor();
  assertEquals(await options(), ["Precise"]);
  await page.keyboard.press("Escape");
  await reload();
  await openSettings(page);
  assertEquals(await options(), ["Precise"], "deleted for good");
  assertQuietPage(log, [/status of 409 \(Conflict\)/]);
});

browserTest(
  "a preset is updated from the fields and renamed",
  async ({ page, open, reload, log }) => {
    await open();
    await connected(page);
    await ask(page, "Hello");
    await page.waitForURL(/\/c\/[^/]+$/);
    const s = ui(page);
    const status = s.dialog.getByRole("status");
    const options = async () => (await s.preset.locator("option").allInnerTexts()).slice(1);
    await openSettings(page);
    assert(await s.dialog.getByRole("button", { name: "Update preset" }).isDisabled());
    await s.temperature.fill("0.1");
    await s.dialog.getByRole("button", { name: "Save as preset…" }).click();
    const name = s.dialog.getByRole("textbox", { name: "Preset name" });
    await name.fill("Draft");
    await s.dialog.getByRole("button", { name: "Save preset" }).click();
    await status.getByText("Preset “Draft” saved.").waitFor();

    // The fields as they are now go into the chosen preset.
    await s.temperature.fill("0.3");
    await s.topK.fill("12");
    await s.dialog.getByRole("button", { name: "Update preset" }).click();
    await status.getByText("Preset “Draft” updated.").waitFor();

    // Renamed: the name box starts from the old name; a taken name is refused.
    await s.dialog.getByRole("button", { name: "Rename preset…" }).click();
    assertEquals(await name.inputValue(), "Draft");
    await name.fill("Focused");
    await s.dialog.getByRole("button", { name: "Rename", exact: true }).click();
    await status.getByText("Preset “Draft” renamed “Focused”.").waitFor();
    assertEquals(await options(), ["Focused"]);
    assertEquals(await s.preset.inputValue() !== "", true, "still chosen");
    await page.keyboard.press("Escape");

    await reload();
    await openSettings(page);
    assertEquals(await options(), ["Focused"], "renamed for good");
    await s.dialog.getByRole("button", { name: "Reset to defaults" }).click();
    await s.preset.selectOption({ label: "Focused" });
    assertEquals(await s.temperature.inputValue(), "0.3", "the update was kept");
    assertEquals(await s.topK.inputValue(), "12");
    assertQuietPage(log);
  },
);

browserTest(
  "saving settings in a new chat creates it; its first answer follows them",
  async ({ page, open, ollama, log }) => {
    await open();
    await connected(page);
    const s = ui(page);
    await openSettings(page);
    await s.prompt.fill("Rhyme.");
    await s.save.click();
    await s.dialog.waitFor({ state: "hidden" });
    await page.waitForURL(/\/c\/[^/]+$/);
    await ask(page, "A poem about tea");
    assertEquals(lastChat(ollama).messages[0], { role: "system", content: "Rhyme." });
    const nav = page.getByRole("navigation", { name: "Conversations" });
    await nav.getByRole("link", { name: "A poem about tea", exact: true }).waitFor();
    assertEquals((await nav.getByRole("link").allInnerTexts()).length, 1, "one chat, renamed");
    assertQuietPage(log);
  },
);

browserTest(
  "a conversation's model is selected when it is opened",
  async ({ page, open, reload, log }) => {
    await open();
    await connected(page);
    const model = page.getByRole("combobox", { name: "Model" });
    await model.locator("option", { hasText: "qwen3:0.6b" }).waitFor({ state: "attached" });
    await ask(page, "Hello");
    await page.waitForURL(/\/c\/[^/]+$/);
    const first = page.url();
    assertEquals(await model.inputValue(), "llama3.2:latest");
    await model.selectOption("qwen3:0.6b");
    await page.getByTestId("model-note").getByText("qwen3:0.6b loaded", { exact: true }).waitFor();

    // A new chat with the other model: the choice for new chats is llama3.2 again.
    await page.getByRole("button", { name: "New chat" }).click();
    await model.selectOption("llama3.2:latest");
    await page.getByTestId("model-note").getByText("llama3.2:latest loaded", { exact: true })
      .waitFor();
    const nav = page.getByRole("navigation", { name: "Conversations" });
    await nav.getByRole("link", { name: "Hello", exact: true }).click();
    await page.waitForURL(first);
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLSelectElement>("select.model-select")?.value === "qwen3:0.6b",
    );
    await reload();
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLSelectElement>("select.model-select")?.value === "qwen3:0.6b",
    );
    await open("/");
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLSelectElement>("select.model-select")?.value ===
          "llama3.2:latest",
    );
    assertQuietPage(log);
  },
);
