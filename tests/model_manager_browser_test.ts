/**
 * The model manager in Debian's Chromium against the real app and the fake Ollama, driven by
 * role and visible text: the list with its badges, unload and load, a pull with its progress
 * bar that ends in the model picker, a cancelled pull that Ollama sees end, and a delete that
 * is confirmed inside the dialog.
 */
import { join } from "node:path";
import type { Page } from "playwright-core";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { type Fixture, withApp } from "./helpers/fixture.ts";

type BrowserFixture = Fixture & BrowserSession;

/**
 * A browser test on a fresh fake Ollama + app + Chromium profile. `builtin` turns built-in
 * models on, with a models folder holding one dropped-in file (`builtin/tiny-1m-q4_0`).
 */
function managerTest(
  name: string,
  options: { builtin?: boolean },
  test: (f: BrowserFixture) => Promise<void>,
): void {
  Deno.test({
    name: `model manager - ${name}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async (t) => {
      const dataDir = await Deno.makeTempDir({ prefix: "chat-manager-" });
      try {
        await Deno.mkdir(join(dataDir, "models"));
        await Deno.writeFile(join(dataDir, "models", "Tiny-1M-Q4_0.gguf"), new Uint8Array(2048));
        await withApp(
          { DATA_DIR: dataDir, BUILTIN_MODELS: options.builtin ? "on" : "off" },
          (fixture) =>
            withBrowser(t, fixture.app.url, (session) => test({ ...fixture, ...session })),
        );
      } finally {
        await Deno.remove(dataDir, { recursive: true });
      }
    },
  });
}

async function openManager(page: Page) {
  await page.getByRole("button", { name: "Manage models" }).click();
  const dialog = page.getByRole("dialog", { name: "Models" });
  await dialog.waitFor();
  return {
    dialog,
    row: (model: string) => dialog.getByRole("row", { name: new RegExp(`^${model}\\b`) }),
    modelName: dialog.getByRole("textbox", { name: "Model name" }),
    pull: dialog.getByRole("button", { name: "Pull", exact: true }),
    progress: dialog.getByRole("progressbar"),
  };
}

function pickerOptions(page: Page): Promise<string[]> {
  return page.getByRole("combobox", { name: "Model" }).locator("option").allTextContents();
}

function assertClean(log: BrowserSession["log"]): void {
  assertEquals(log.pageErrors, []);
  assertEquals(log.consoleErrors, []);
  assertEquals(log.dialogs, [], "no window.confirm or alert");
  assertEquals(log.foreignRequests, []);
}

managerTest(
  "lists models with size, parameters, quantization and badges; unload and load",
  { builtin: true },
  async ({ page, open, ollama, log }) => {
    ollama.loaded.add("llama3.2:latest");
    await open();
    const { dialog, row } = await openManager(page);
    const llama = row("llama3.2:latest");
    for (const text of ["2.0 GB", "3.2B", "Q4_K_M", "Loaded"]) {
      await llama.getByText(text, { exact: true }).waitFor();
    }
    assertEquals(await llama.getByText("Built-in", { exact: true }).count(), 0);
    const qwen = row("qwen3:0.6b");
    await qwen.getByText("751.63M", { exact: true }).waitFor();
    assertEquals(await qwen.getByText("Loaded", { exact: true }).count(), 0);
    const tiny = row("builtin/tiny-1m-q4_0");
    await tiny.getByText("Built-in", { exact: true }).waitFor();
    await tiny.getByText("Q4_0", { exact: true }).waitFor();
    const smol = row("builtin/smollm2-135m");
    await smol.getByText("Built-in", { exact: true }).waitFor();
    await smol.getByText("Not downloaded", { exact: true }).waitFor();
    await smol.getByRole("button", { name: "Download" }).waitFor();

    await llama.getByRole("button", { name: "Unload" }).click();
    await dialog.getByText("llama3.2:latest is unloaded.").waitFor();
    await llama.getByText("Loaded", { exact: true }).waitFor({ state: "detached" });
    assertEquals(ollama.loaded.size, 0);
    assert(!(await pickerOptions(page)).some((o) => o.includes("● loaded")));

    await llama.getByRole("button", { name: "Load" }).click();
    await llama.getByText("Loaded", { exact: true }).waitFor();
    assert(ollama.loaded.has("llama3.2:latest"));
    assert((await pickerOptions(page)).some((o) => /^llama3\.2:latest .*● loaded$/.test(o)));

    // Escape closes the dialog; the button opens it again.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await openManager(page);
    await page.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });
    assertClean(log);
  },
);

managerTest(
  "pull shows bytes, percent and speed, then the model is in the Model select",
  {},
  async ({ page, open, ollama, log }) => {
    ollama.holdPulls = true;
    ollama.pullDelayMs = 100;
    await open();
    assert(!(await pickerOptions(page)).some((o) => o.startsWith("gemma3:1b")));
    const { dialog, modelName, pull, progress, row } = await openManager(page);
    await modelName.fill("gemma3:1b");
    await pull.click();
    await ollama.waitForHeld(1);
    // Four lines of the 815 MB layer: 0, 25, 50 and 75 %.
    ollama.release(4);
    await dialog.locator('[role="progressbar"][aria-valuenow="75"]').waitFor();
    assertEquals(await progress.getAttribute("aria-label"), "Pulling gemma3:1b");
    const figures = await dialog.getByTestId("pull-figures").textContent() ?? "";
    assertMatch(figures, /^611 MB of 815 MB · 75% · \d+\.\d MB\/s$/);
    await dialog.getByRole("button", { name: "Cancel" }).waitFor();
    assert(await pull.isDisabled(), "one pull at a time");

    ollama.release(Infinity);
    await dialog.getByText("gemma3:1b is pulled and ready.").waitFor();
    assertEquals(await modelName.inputValue(), "");
    await progress.waitFor({ state: "detached" });
    await row("gemma3:1b").getByText("999.89M", { exact: true }).waitFor();
    assert((await pickerOptions(page)).some((o) => o.startsWith("gemma3:1b — 999.89M Q4_K_M")));
    assertClean(log);
  },
);

managerTest("a bad name is refused before anything is sent", {}, async ({ page, open, ollama }) => {
  await open();
  const { dialog, modelName, pull } = await openManager(page);
  await modelName.fill("../../etc/passwd");
  await pull.click();
  await dialog.getByText(/^Expected a model name/).waitFor();
  assertEquals(await modelName.getAttribute("aria-invalid"), "true");
  assertEquals(ollama.requests.filter((r) => r.path === "/api/pull").length, 0);
  // Ollama's own refusal shows too.
  await modelName.fill("no-such-model");
  await pull.click();
  await dialog.getByRole("alert").getByText(/could not pull "no-such-model"/).waitFor();
});

managerTest(
  "Cancel stops a pull, and Ollama sees it end",
  {},
  async ({ page, open, ollama, log }) => {
    ollama.holdPulls = true;
    await open();
    const { dialog, modelName, pull, progress } = await openManager(page);
    await modelName.fill("gemma3:1b");
    await pull.click();
    await ollama.waitForHeld(1);
    ollama.release(2);
    await dialog.locator('[role="progressbar"][aria-valuenow="25"]').waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    try {
      const request = await ollama.waitForRequest((r) => r.path === "/api/pull");
      await request.waitAborted();
      assertEquals(request.finished, false);
    } finally {
      // Were the pull not cancelled, it would otherwise hold the app's shutdown forever.
      ollama.release(Infinity);
    }
    await dialog.getByText("Pull of gemma3:1b cancelled.").waitFor();
    await progress.waitFor({ state: "detached" });
    assert(await pull.isEnabled());
    assert(!(await pickerOptions(page)).some((o) => o.startsWith("gemma3:1b")));
    assertClean(log);
  },
);

managerTest("delete asks inside the dialog first", {}, async ({ page, open, ollama, log }) => {
  await open();
  const { dialog, row } = await openManager(page);
  const qwen = row("qwen3:0.6b");
  await qwen.getByRole("button", { name: "Delete" }).click();
  await qwen.getByText("Delete qwen3:0.6b? Its files are removed from disk.").waitFor();
  await qwen.getByRole("button", { name: "Keep it" }).click();
  await qwen.getByRole("button", { name: "Delete" }).waitFor();
  assertEquals(ollama.requests.filter((r) => r.path === "/api/delete").length, 0);

  await qwen.getByRole("button", { name: "Delete" }).click();
  await qwen.getByRole("button", { name: "Yes, delete" }).click();
  await dialog.getByText("qwen3:0.6b is deleted.").waitFor();
  await qwen.waitFor({ state: "detached" });
  assert(!(await pickerOptions(page)).some((o) => o.startsWith("qwen3:0.6b")));
  assertEquals(ollama.requests.filter((r) => r.path === "/api/delete").length, 1);
  assertClean(log);
});
