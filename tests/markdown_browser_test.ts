/**
 * Markdown as it streams, in Debian's Chromium against the real app and the fake Ollama held in
 * manual mode (each token waits for `release`): finished blocks keep their elements while the
 * last block is written, code blocks get a language label and a working Copy button, tables
 * and math render, hostile Markdown and hostile TeX stay inert, and a person reading higher up
 * is not moved while the answer grows ("Jump to latest" brings them back).
 */
import type { ElementHandle, Page } from "playwright-core";
import { assert, assertEquals } from "./helpers/assert.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { type Fixture, withApp } from "./helpers/fixture.ts";
import { INERT, inertReport } from "./helpers/inert.ts";

type BrowserFixture = Fixture & BrowserSession;

function browserTest(name: string, test: (f: BrowserFixture) => Promise<void>): void {
  Deno.test({
    name: `markdown browser - ${name}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: (t) =>
      withApp(
        {},
        (fixture) => withBrowser(t, fixture.app.url, (session) => test({ ...fixture, ...session })),
      ),
  });
}

function ui(page: Page) {
  const log = page.getByRole("log", { name: "Messages" });
  return {
    log,
    textbox: page.getByRole("textbox", { name: "Message", exact: true }),
    answer: log.locator('[data-role="assistant"]').last(),
    done: log.locator('[data-role="assistant"][data-status="done"]').last(),
    jump: page.getByRole("button", { name: "Jump to latest" }),
  };
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
  const { textbox } = ui(page);
  await textbox.fill(text);
  await textbox.press("Enter");
}

/** Lets `count` more tokens out and waits until the fake holds the next one (or is done). */
async function release(fixture: BrowserFixture, count: number): Promise<void> {
  fixture.ollama.release(count);
  await fixture.ollama.waitForHeld(1);
}

/**
 * Opens the page and sends `prompt`, with the fake holding `tokens` back (manual mode) until
 * {@link release}: returns the page's parts, once the first token is held.
 */
async function heldAnswer(f: BrowserFixture, tokens: string[], prompt: string) {
  f.ollama.reply = () => tokens;
  f.ollama.manual = true;
  await f.open();
  await send(f.page, prompt);
  await f.ollama.waitForHeld(1);
  return ui(f.page);
}

async function connected(el: ElementHandle): Promise<boolean> {
  return await el.evaluate((node) => node.isConnected);
}

function assertQuietPage(log: BrowserSession["log"]): void {
  assertEquals(log.pageErrors, [], "no uncaught errors in the page");
  assertEquals(log.dialogs, [], "no dialogs");
  assertEquals(log.consoleErrors, [], "no console errors (a CSP violation would be one)");
  assertEquals(log.foreignRequests, [], "no request left the app's origin");
}

browserTest(
  "finished blocks keep their elements while the last block streams; code, table and math render",
  async (f) => {
    const { page, ollama, context, origin, log } = f;
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    const tokens = [
      "# Streaming ",
      "notes\n\n",
      "The first ",
      "paragraph.\n\n",
      "| Name | Value |\n",
      "| ---- | ----- |\n",
      "| pi | 3.14 |\n\n",
      "```python\n",
      "def area(r):\n",
      "    return 3.14 * r * r\n",
      "```\n\n",
      "Euler: $e^{i\\pi} + 1 = 0$ inline.\n\n",
      "$$\n\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}\n$$\n\n",
      "Broken: $\\frac{<b>1</b>}{$ stays text.\n\n",
      "The last ",
      "paragraph ",
      "grows ",
      "word by word.",
    ];
    const { answer, done } = await heldAnswer(f, tokens, "Notes please");

    // Heading and first paragraph finished (the table has begun after them).
    await release(f, 5);
    const heading = answer.getByRole("heading", { name: "Streaming notes" });
    await heading.waitFor();
    await answer.getByText("The first paragraph.", { exact: true }).waitFor();
    const headingEl = await heading.elementHandle();
    const paragraphEl = await answer.getByText("The first paragraph.", { exact: true })
      .elementHandle();
    assert(headingEl && paragraphEl);

    // The table, then the code block, then math: the first blocks are the same elements.
    await release(f, 2);
    const table = answer.getByRole("table");
    await table.getByRole("cell", { name: "3.14" }).waitFor();
    await release(f, 4);
    const code = answer.locator(".code-block");
    await code.getByText("def area(r):", { exact: false }).waitFor();
    assert(await connected(headingEl), "the heading was not rendered again");
    assert(await connected(paragraphEl), "the first paragraph was not rendered again");
    const tableEl = await table.elementHandle();
    assert(tableEl);

    await release(f, 4);
    await answer.getByText("The last", { exact: false }).waitFor();
    for (let i = 0; i < 3; i++) {
      await release(f, 1);
      await answer.getByText(["paragraph", "grows", "word by word."][i]!, { exact: false })
        .waitFor();
      for (const el of [headingEl, paragraphEl, tableEl]) {
        assert(await connected(el), "finished blocks keep their elements as the last one grows");
      }
    }
    ollama.release(Infinity);
    await done.getByText("The last paragraph grows word by word.", { exact: true }).waitFor();
    assert(await connected(tableEl), "the table kept its element to the end");

    // Code: highlighted, labelled with its language, and Copy puts the code on the clipboard.
    await code.locator("span.hljs-keyword").first().waitFor();
    assertEquals(await code.locator(".code-lang").innerText(), "python");
    const copy = code.getByRole("button", { name: "Copy code" });
    await copy.click();
    await code.getByRole("button", { name: "Copied" }).waitFor();
    assertEquals(
      await page.evaluate(() => navigator.clipboard.readText()),
      "def area(r):\n    return 3.14 * r * r",
    );

    // Math: typeset as MathML (inline and display); a formula KaTeX rejects is escaped text.
    await done.locator("math").nth(1).waitFor();
    assertEquals(await done.locator("math").count(), 2);
    assertEquals(await done.locator('math[display="block"]').count(), 1);
    const broken = done.locator(".math-error");
    assertEquals(await broken.innerText(), "$\\frac{<b>1</b>}{$");
    assertEquals(await done.locator("b").count(), 0, "the HTML inside the formula stayed text");
    assertQuietPage(log);
  },
);

browserTest(
  "hostile Markdown and hostile TeX stream in inert",
  async (f) => {
    const { page, open, ollama, log } = f;
    const tokens = [
      "Hostile ",
      "answer.\n\n",
      "<script>alert(1)</script>\n\n",
      "<img src=x onerror=alert(2)> and <svg onload=alert(3)><circle/></svg>\n\n",
      '<iframe src="javascript:alert(4)"></iframe>\n\n',
      "[js](javascript:alert(5)) [data](data:text/html,<script>alert(6)</script>) ",
      "![img](data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==)\n\n",
      "$\\href{javascript:alert(8)}{click}$ and $\\url{javascript:alert(9)}$\n\n",
      "$\\htmlData{onclick=alert(10)}{x}$ $\\htmlId{x}{y}$ $\\includegraphics{http://x/y.png}$\n\n",
      '$$\\text{<img src=x onerror="alert(11)">}$$\n\n',
      "$\\frac{</code><img src=x onerror=alert(12)>}{$\n\n",
      "```html\n<img src=x onerror=alert(13)>\n```\n\n",
      "The end.",
    ];
    ollama.reply = () => tokens;
    ollama.manual = true;
    await open();
    await send(page, "Be hostile");
    const { log: messages, answer, done } = ui(page);
    // Token by token, so every partial state of each payload is rendered once too.
    for (let i = 0; i < tokens.length; i++) {
      await ollama.waitForHeld(1);
      ollama.release(1);
    }
    ollama.release(Infinity);
    await done.getByText("The end.", { exact: true }).waitFor();
    await answer.locator("math").first().waitFor();

    assertEquals(await inertReport(messages), INERT);
    // The payloads show as text instead.
    await done.getByText("<script>alert(1)</script>", { exact: false }).waitFor();
    await done.getByText("$\\frac{</code><img src=x onerror=alert(12)>}{$", { exact: true })
      .waitFor();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    assertQuietPage(log);
  },
);

browserTest(
  "a reader scrolled up is not moved while the answer grows; Jump to latest brings them back",
  async (f) => {
    const { page, open, ollama, log } = f;
    const paragraphs = Array.from(
      { length: 80 },
      (_, i) => `Paragraph ${i + 1} of a long answer, long enough to wrap a little on screen.\n\n`,
    );
    ollama.reply = () => paragraphs;
    ollama.manual = true;
    await open();
    await send(page, "Write a lot");
    const { answer, jump } = ui(page);
    await ollama.waitForHeld(1);
    await release(f, 40);
    await answer.getByText("Paragraph 40 of", { exact: false }).waitFor();

    const scroller = page.locator("main.scroller");
    const position = () =>
      scroller.evaluate((el) => ({
        top: el.scrollTop,
        fromBottom: el.scrollHeight - el.scrollTop - el.clientHeight,
      }));
    // Following the answer: at the bottom, no button.
    await page.waitForFunction(() => {
      const el = document.querySelector("main.scroller")!;
      return el.scrollHeight - el.scrollTop - el.clientHeight <= 32;
    });
    assertEquals(await jump.count(), 0);

    // The person scrolls up to read: the button appears, and the page stays put as text arrives.
    await scroller.hover();
    await page.mouse.wheel(0, -800);
    await jump.waitFor();
    const before = await position();
    assert(before.fromBottom > 100, "scrolled away from the bottom");
    await release(f, 20);
    await answer.getByText("Paragraph 60 of", { exact: false }).waitFor();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    const after = await position();
    assertEquals(after.top, before.top, "the text under the reader's eyes did not move");
    assert(after.fromBottom > before.fromBottom, "the new text went below");
    await jump.waitFor();

    // Jump to latest: back at the bottom, following again, the button gone.
    await jump.click();
    await jump.waitFor({ state: "detached" });
    assert((await position()).fromBottom <= 32, "at the bottom after the jump");
    ollama.release(Infinity);
    await answer.getByText("Paragraph 80 of", { exact: false }).waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector("main.scroller")!;
      return el.scrollHeight - el.scrollTop - el.clientHeight <= 32;
    });
    assertEquals(await jump.count(), 0);
    assertQuietPage(log);
  },
);

browserTest(
  "until the renderer chunk arrives, an answer shows as plain escaped text; then it is formatted",
  async (f) => {
    const { page, open, ollama, log } = f;
    let letThrough = () => {};
    const gate = new Promise<void>((resolve) => letThrough = resolve);
    let held = false;
    await page.route(/\/_islands\/markdown_render-[^/]*\.js$/, async (route) => {
      held = true;
      await gate;
      await route.continue();
    });
    ollama.reply = () => ["**Bold** and <img src=x onerror=alert(1)> text.\n\n", "- item"];
    await open();
    await send(page, "Hello");
    const { answer, done } = ui(page);
    await done.waitFor();
    assert(held, "the page asked for the renderer chunk separately");
    const plain = answer.locator(".md-plain");
    assertEquals(
      await plain.innerText(),
      "**Bold** and <img src=x onerror=alert(1)> text.\n\n- item",
    );
    assertEquals(await answer.locator("strong, img, li").count(), 0, "nothing parsed as HTML");

    letThrough();
    await done.locator("strong").getByText("Bold", { exact: true }).waitFor();
    await done.getByRole("listitem").getByText("item", { exact: true }).waitFor();
    assertEquals(await done.locator(".md-plain, img").count(), 0);
    await done.getByText("<img src=x onerror=alert(1)>", { exact: false }).waitFor();
    assertQuietPage(log);
  },
);

browserTest(
  "a long code block grows in place: its Copy button stays, copies the code so far, and the finished block is highlighted whole",
  async (f) => {
    const { page, ollama, context, origin, log } = f;
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    // 80 lines, a blank line after every fifth, and a block comment across a blank line.
    const lines = Array.from(
      { length: 80 },
      (_, i) => i % 5 === 4 ? "" : `export const value${i} = ${i} * 2; // line ${i}`,
    );
    lines.splice(30, 0, "/* a note that starts here", "", "   and ends here */");
    const tokens = [
      "Here is the file:\n\n",
      "```ts\n",
      ...lines.map((line) => `${line}\n`),
      "```\n\n",
      "That is all.",
    ];
    // TypeScript's grammar is held back until the block has grown: when it arrives, the code so
    // far is highlighted in place, under the same Copy button.
    let letGrammarThrough = () => {};
    const grammarGate = new Promise<void>((resolve) => letGrammarThrough = resolve);
    let grammarHeld = false;
    await page.route(/\/_islands\/typescript-[^/]*\.js$/, async (route) => {
      grammarHeld = true;
      await grammarGate;
      await route.continue();
    });
    const { answer, done } = await heldAnswer(f, tokens, "Write the file");

    const code = answer.locator(".code-block pre code");
    await release(f, 2 + 10);
    await code.getByText("line 8", { exact: false }).waitFor();
    const copy = answer.getByRole("button", { name: "Copy code" });
    const copyEl = await copy.elementHandle();
    const codeEl = await code.elementHandle();
    assert(copyEl && codeEl);

    // Forty more lines: the same button and code element, and the segments finished so far
    // highlighted while the block is still being written.
    await release(f, 40);
    await code.getByText("line 46", { exact: false }).waitFor();
    assert(grammarHeld, "the page asked for the TypeScript grammar as a chunk of its own");
    assertEquals(await code.locator("span.hljs-keyword").count(), 0, "no grammar, no keywords");
    letGrammarThrough();
    await code.locator("span.hljs-keyword").first().waitFor();
    assert(await connected(copyEl), "the Copy button was not replaced while the code grew");
    assert(await connected(codeEl), "the code element was not replaced while the code grew");
    assertEquals(await answer.getAttribute("data-status"), "streaming");

    // Copy in the middle of the answer: the code so far.
    await copy.click();
    await answer.getByRole("button", { name: "Copied" }).waitFor();
    assertEquals(
      await page.evaluate(() => navigator.clipboard.readText()),
      lines.slice(0, 50).join("\n"),
    );

    // The end: the whole block rendered once more, so the comment across the blank line is
    // one comment, as a reader expects.
    ollama.release(Infinity);
    await done.getByText("That is all.", { exact: true }).waitFor();
    const finished = done.locator(".code-block pre code");
    assertEquals(
      (await finished.textContent())?.replace(/\n$/, ""),
      lines.join("\n"),
    );
    const comments = finished.locator(".hljs-comment");
    const texts = await comments.allTextContents();
    const note = texts.filter((t) => t.includes("a note"));
    assertEquals(note.length, 1);
    assert(note[0]!.includes("and ends here */"), `one comment: ${JSON.stringify(note)}`);
    assertQuietPage(log);
  },
);

browserTest(
  "a long list grows in place: finished items keep their elements, in order, numbered on across parts",
  async (f) => {
    const { ollama, log } = f;
    const tokens = [
      "Steps:\n\n",
      ...Array.from({ length: 130 }, (_, i) => `${i + 1}. Step ${i} uses \`tool${i}\` **now**\n`),
      "\nAfter the steps.",
    ];
    const { answer, done } = await heldAnswer(f, tokens, "List the steps");

    const items = answer.locator("ol > li");
    await release(f, 1 + 10);
    await items.nth(9).getByText("Step 9 uses", { exact: false }).waitFor();
    const first = await items.first().elementHandle();
    const fifth = await items.nth(4).elementHandle();
    assert(first && fifth);

    await release(f, 115);
    await items.nth(124).getByText("Step 124 uses", { exact: false }).waitFor();
    assert(await connected(first), "the first item was not rendered again as the list grew");
    assert(await connected(fifth), "nor the fifth");
    assertEquals(await items.count(), 125);
    const texts = await items.allTextContents();
    assertEquals(texts.map((t) => t.trim()), texts.map((_, i) => `Step ${i} uses tool${i} now`));
    assertEquals(await items.nth(20).locator("code").innerText(), "tool20");
    // While it grows the list is in parts of 100 items, the second numbered on from 101.
    const parts = answer.locator("ol");
    assertEquals(await parts.count(), 2);
    assertEquals(await parts.nth(1).getAttribute("start"), "101");
    assertEquals(await answer.getAttribute("data-status"), "streaming");

    ollama.release(Infinity);
    await done.getByText("After the steps.", { exact: true }).waitFor();
    const final = done.locator("ol > li");
    assertEquals(await final.count(), 130);
    assertEquals((await final.nth(129).textContent())?.trim(), "Step 129 uses tool129 now");
    assertEquals(await done.locator("ol").count(), 1, "one list once it has ended");
    assertQuietPage(log);
  },
);

browserTest(
  "a long table grows in place: finished rows keep their elements, in order, under one header, to its end",
  async (f) => {
    const { ollama, log } = f;
    const tokens = [
      "Prices:\n\n",
      "| Item | Price |\n",
      "| ---- | ----: |\n",
      ...Array.from({ length: 130 }, (_, i) => `| item ${i} with \`sku${i}\` | ${i}.00 |\n`),
      "\nThat is all.",
    ];
    const { answer, done } = await heldAnswer(f, tokens, "Price list");

    const rows = answer.locator("table tbody tr");
    await release(f, 3 + 10);
    await rows.nth(9).getByText("item 9 with", { exact: false }).waitFor();
    const first = await rows.first().elementHandle();
    assert(first);

    await release(f, 115);
    await rows.nth(124).getByText("item 124 with", { exact: false }).waitFor();
    assert(await connected(first), "the first row was not rendered again as the table grew");
    assertEquals(await answer.locator("table").count(), 1, "one table");
    assertEquals(await answer.locator("table thead tr").count(), 1, "one header");
    assertEquals(await rows.count(), 125);
    const cells = await answer.locator("table tbody tr td:first-child").allTextContents();
    assertEquals(cells, cells.map((_, i) => `item ${i} with sku${i}`));
    assertEquals(await rows.nth(42).locator("td").nth(1).innerText(), "42.00");
    assertEquals(await answer.getAttribute("data-status"), "streaming");

    ollama.release(Infinity);
    await done.getByText("That is all.", { exact: true }).waitFor();
    assertEquals(await done.locator("table tbody tr").count(), 130);
    assertEquals(await done.locator("table").count(), 1);
    // A finished table keeps the rows it grew: nothing is rendered again but its last row.
    assert(await connected(first), "the first row stayed once the table ended");
    const lastRow = done.locator("table tbody tr").last().locator("td");
    assertEquals(await lastRow.allInnerTexts(), ["item 129 with sku129", "129.00"]);
    assertQuietPage(log);
  },
);
