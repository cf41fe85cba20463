/**
 * The header on a phone (390 px): one row, every control still there by role and name (the
 * words hidden visually, not from assistive technology), the export links behind "Export".
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { withBrowser } from "./helpers/browser.ts";
import { withApp } from "./helpers/fixture.ts";

Deno.test({
  name: "header - at 390 px one row of named controls; the export links fold behind Export",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: (t) =>
    withApp({}, ({ app }) =>
      withBrowser(t, app.url, async ({ page, open, log }) => {
        await page.setViewportSize({ width: 390, height: 844 });
        await open("/");
        const textbox = page.getByRole("textbox", { name: "Message", exact: true });
        await textbox.fill("Hello");
        await textbox.press("Enter");
        await page.locator('[data-role="assistant"][data-status="done"]').waitFor();
        await page.waitForURL(/\/c\//);
        const header = page.locator("header.topbar");
        const buttons = [
          "Conversations",
          "Manage models",
          "Export",
          "Conversation settings",
          "New chat",
        ].map((name) => header.getByRole("button", { name, exact: true }));
        const model = header.getByRole("combobox", { name: "Model" });
        const boxes = await Promise.all([...buttons, model].map((b) => b.boundingBox()));
        const tops = boxes.map((b) => Math.round(b!.y));
        assert(Math.max(...tops) - Math.min(...tops) <= 4, `one row: ${tops}`);
        const height = (await header.boundingBox())!.height;
        assert(height <= 56, `the header is ${height} px tall`);
        assertEquals(await header.getByText("connected", { exact: true }).count(), 1);

        const markdown = page.getByRole("link", { name: "Export Markdown" });
        assertEquals(await markdown.isVisible(), false, "folded away");
        const toggle = buttons[2]!;
        await toggle.click();
        assertEquals(await toggle.getAttribute("aria-expanded"), "true");
        await markdown.waitFor({ state: "visible" });
        await page.getByRole("link", { name: "Export JSON" }).waitFor({ state: "visible" });
        await page.keyboard.press("Escape");
        await markdown.waitFor({ state: "hidden" });
        assertEquals(await page.evaluate(() => document.activeElement?.textContent), "Export");

        // The same controls on a wide screen: the links in the header, no Export button.
        await page.setViewportSize({ width: 1280, height: 800 });
        await markdown.waitFor({ state: "visible" });
        assertEquals(await toggle.isVisible(), false);
        assertEquals(log.pageErrors, []);
        assertEquals(log.consoleErrors, []);
      })),
});
