/**
 * The header on a phone (390 px): one row, every control still there by role and name (the
 * words hidden visually, not from assistive technology), the export links behind "Export";
 * on a laptop (1280 px) one row too, with the words.
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

        // The settings dialog lives inside the header's markup: its buttons keep their words.
        await buttons[3]!.click();
        const dialog = page.getByRole("dialog", { name: "Conversation settings" });
        await dialog.getByRole("button", { name: "Save", exact: true }).waitFor();
        const clipped = await dialog.evaluate((root) =>
          [...root.querySelectorAll("button")]
            .filter((b) => b.scrollWidth > b.clientWidth + 1 || b.clientWidth < 24)
            .map((b) => b.textContent)
        );
        assertEquals(clipped, [], "no dialog button squeezed to an icon's width");
        await page.keyboard.press("Escape");
        await dialog.waitFor({ state: "hidden" });

        // The models dialog on a phone: each model's figures under its name, its buttons on
        // screen without a sideways scroll.
        await buttons[1]!.click();
        const models = page.getByRole("dialog", { name: "Models" });
        const row = models.getByRole("row").nth(1);
        await row.getByRole("button").first().waitFor();
        const right = await row.getByRole("button").last().boundingBox();
        assert(right && right.x + right.width <= 390, `the last button ends at ${right?.x}`);
        assertEquals(await models.getByRole("columnheader", { name: "Size" }).isVisible(), false);
        await page.keyboard.press("Escape");
        await models.waitFor({ state: "hidden" });

        // On a laptop: the same controls in one row, with their words; the links still folded.
        await page.setViewportSize({ width: 1280, height: 800 });
        const wide = await Promise.all([...buttons.slice(1), model].map((b) => b.boundingBox()));
        const wideTops = wide.map((b) => Math.round(b!.y));
        assert(Math.max(...wideTops) - Math.min(...wideTops) <= 4, `one row: ${wideTops}`);
        assert((await header.boundingBox())!.height <= 56, "the wide header is one row");
        assertEquals(await header.getByText("Export", { exact: true }).isVisible(), true);
        assertEquals(await markdown.isVisible(), false, "folded away on a laptop too");
        await toggle.click();
        await markdown.waitFor({ state: "visible" });
        assertEquals((await markdown.textContent())?.trim(), "Markdown");
        assertEquals(log.pageErrors, []);
        assertEquals(log.consoleErrors, []);
      })),
});
