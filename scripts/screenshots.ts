/**
 * `deno task screenshots`: the README's pictures of the chat page, at 1280×800 and 390×844, in
 * the light and the dark theme, into docs/screenshots/ (PNG). The app runs in this process on a
 * free loopback port against the fake Ollama (tests/fake_ollama.ts), which streams a realistic
 * answer (a list, a table, a code block); the conversation is typed in Chromium like a person.
 */
import { chromium, type Page } from "playwright-core";
import { FakeOllama } from "../tests/fake_ollama.ts";
import { startTestApp } from "../tests/helpers/app.ts";
import { CHROMIUM_PATH } from "../tests/helpers/browser.ts";

const OUT = new URL("../docs/screenshots/", import.meta.url);

const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "mobile", width: 390, height: 844 },
] as const;

const ANSWERS: Record<string, string> = {
  "Compare green and black tea": [
    "Both come from the same plant, *Camellia sinensis*; what differs is what happens after",
    " picking:\n\n",
    "- **Green tea** is heated soon after picking, so it stays fresh and grassy.\n",
    "- **Black tea** is left to oxidise fully, which makes it darker and maltier.\n\n",
    "| | Green | Black |\n| --- | --- | --- |\n",
    "| Water | 75–80 °C | 95–100 °C |\n| Steeping | 2–3 min | 3–5 min |\n",
    "| Caffeine | ~30 mg | ~50 mg |\n\n",
    "Start with green tea if you like lighter flavours.",
  ].join(""),
  "Write a steeping timer in TypeScript": [
    "Here is a small timer that counts down and says when the tea is ready:\n\n",
    "```ts\n",
    "export async function steep(minutes: number, say: (text: string) => void) {\n",
    "  const end = Date.now() + minutes * 60_000;\n",
    "  while (Date.now() < end) {\n",
    "    const left = Math.ceil((end - Date.now()) / 1000);\n",
    "    say(`${left} s left`);\n",
    "    await new Promise((resolve) => setTimeout(resolve, 1000));\n",
    "  }\n",
    '  say("Your tea is ready.");\n',
    "}\n",
    "```\n\n",
    "Call it with `steep(3, console.log)` for a black tea.",
  ].join(""),
};

/** Splits an answer into token-sized pieces, as a model streams it. */
function tokens(text: string): string[] {
  return text.match(/\s*\S+|\s+/g) ?? [text];
}

async function chat(page: Page, prompt: string): Promise<void> {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  const done = page.locator('[data-role="assistant"][data-status="done"]');
  const before = await done.count();
  await box.fill(prompt);
  await box.press("Enter");
  await done.nth(before).waitFor();
}

async function main(): Promise<void> {
  await Deno.mkdir(OUT, { recursive: true });
  const ollama = await FakeOllama.start();
  ollama.reply = (request) => {
    const last = request.messages.findLast((m) => m.role === "user")?.content ?? "";
    return tokens(ANSWERS[last] ?? "I can help with that.");
  };
  const app = await startTestApp({ OLLAMA_HOST: ollama.url, OLLAMA_MODEL: "llama3.2" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--hide-scrollbars"],
  });
  try {
    // One conversation, typed once; every picture opens it.
    const setup = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await setup.goto(app.url);
    await setup.locator('[data-hydrated="true"]').waitFor({ state: "attached" });
    for (const prompt of Object.keys(ANSWERS)) await chat(setup, prompt);
    const path = new URL(setup.url()).pathname;
    await setup.close();

    for (const theme of ["light", "dark"] as const) {
      for (const size of SIZES) {
        const context = await browser.newContext({
          viewport: { width: size.width, height: size.height },
          deviceScaleFactor: 1,
          colorScheme: theme,
        });
        await context.addCookies([{ name: "theme", value: theme, url: app.url }]);
        const page = await context.newPage();
        await page.goto(app.url + path);
        await page.locator('[data-hydrated="true"]').waitFor({ state: "attached" });
        await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
        // Rendered and highlighted: the table, and the code's keywords in colour.
        await page.locator(".md table").waitFor({ state: "attached" });
        await page.locator(".md pre .hljs-keyword").first().waitFor({ state: "attached" });
        // The first answer's list and table at the top, the code block below.
        await page.locator(".md ul").first().evaluate((el) =>
          el.scrollIntoView({ block: "start" })
        );
        const file = new URL(`chat-${size.name}-${theme}.png`, OUT);
        await page.screenshot({ path: file.pathname });
        // deno-lint-ignore no-console
        console.log(`wrote ${file.pathname}`);
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await app.shutdown();
    await ollama.close();
  }
}

if (import.meta.main) await main();
