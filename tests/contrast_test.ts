/**
 * WCAG AA contrast of the page's text in both themes, measured in Chromium: for each key piece
 * of text, its computed colour against the background it is actually painted on (ancestors'
 * backgrounds composited, translucent ones blended), at least 4.5:1 (3:1 for large text).
 */
import type { Page } from "playwright-core";
import { assertEquals } from "./helpers/assert.ts";
import { type BrowserSession, withBrowser } from "./helpers/browser.ts";
import { withApp } from "./helpers/fixture.ts";

/** The text a person must be able to read, by selector. */
const TEXT = [
  ".title",
  ".model-label",
  ".status-text",
  ".empty-title",
  ".empty-hint",
  ".example",
  ".composer-input",
  ".composer-hint",
  ".btn-send",
  ".search-input",
  ".conversation-link",
  ".sidebar-foot .btn",
  ".theme-switch label",
  ".user-text",
  ".md p",
  ".meta .stats",
  ".meta .icon-button",
  ".msg-tools .icon-button",
  ".badge",
  ".answer-error p",
];

interface Measured {
  readonly selector: string;
  readonly ratio: number;
  readonly large: boolean;
  readonly color: string;
  readonly background: string;
}

/** Runs in the page: contrast of the first visible element of each selector. */
function measure(page: Page, selectors: readonly string[]): Promise<Measured[]> {
  return page.evaluate((selectors) => {
    type RGBA = [number, number, number, number];
    const probe = document.createElement("canvas").getContext("2d")!;
    // The canvas normalises any CSS colour (rgb(), color(srgb …), color-mix results) to rgba.
    const parse = (css: string): RGBA => {
      probe.clearRect(0, 0, 1, 1);
      probe.fillStyle = "rgba(0,0,0,0)";
      probe.fillStyle = css;
      probe.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
      return [r!, g!, b!, a! / 255];
    };
    const over = (top: RGBA, bottom: RGBA): RGBA => {
      const a = top[3] + bottom[3] * (1 - top[3]);
      if (a === 0) return [0, 0, 0, 0];
      const mix = (i: number) => (top[i]! * top[3] + bottom[i]! * bottom[3] * (1 - top[3])) / a;
      return [mix(0), mix(1), mix(2), a];
    };
    const backgroundOf = (el: Element): RGBA => {
      const layers: RGBA[] = [];
      for (let node: Element | null = el; node; node = node.parentElement) {
        layers.push(parse(getComputedStyle(node).backgroundColor));
      }
      let color: RGBA = [255, 255, 255, 1]; // the canvas under the page
      const rootBg = parse(getComputedStyle(document.documentElement).backgroundColor);
      if (rootBg[3] > 0) color = over(rootBg, color);
      for (const layer of layers.reverse()) color = over(layer, color);
      return color;
    };
    const luminance = ([r, g, b]: RGBA) => {
      const lin = (c: number) => {
        const s = c / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const results: Measured[] = [];
    for (const selector of selectors) {
      const el = [...document.querySelectorAll(selector)].find((e) =>
        (e as HTMLElement).offsetParent !== null || getComputedStyle(e).position === "fixed"
      );
      if (!el) continue;
      const style = getComputedStyle(el);
      const bg = backgroundOf(el);
      const fg = over(parse(style.color), bg);
      const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const size = parseFloat(style.fontSize);
      const bold = Number(style.fontWeight) >= 700;
      results.push({
        selector,
        ratio: Math.round(((l1! + 0.05) / (l2! + 0.05)) * 100) / 100,
        large: size >= 24 || (bold && size >= 18.66),
        color: style.color,
        background: `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})`,
      });
    }
    return results;
  }, selectors);
}

for (const theme of ["light", "dark"] as const) {
  Deno.test({
    name: `contrast - every key text meets WCAG AA in the ${theme} theme`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: (t) =>
      withApp({}, async ({ app, ollama }) => {
        ollama.reply = () => ["Some **bold** text.\n\n", "More text."];
        await withBrowser(t, app.url, async ({ page, open, context, origin }: BrowserSession) => {
          await context.addCookies([{ name: "theme", value: theme, url: origin }]);
          const seen = new Map<string, Measured>();
          const collect = async () => {
            for (const m of await measure(page, TEXT)) seen.set(m.selector, m);
          };
          await open();
          await page.getByRole("status").getByText("connected", { exact: true }).waitFor();
          assertEquals(await page.locator("html").getAttribute("data-theme"), theme);
          await collect();
          // A conversation: prompts, a finished answer with its figures, a stopped one.
          const box = page.getByRole("textbox", { name: "Message", exact: true });
          await box.fill("Hello");
          await box.press("Enter");
          await page.locator('[data-role="assistant"][data-status="done"]').waitFor();
          ollama.errorAfterChunks = { chunks: 1, message: "the model broke" };
          await box.fill("Again");
          await box.press("Enter");
          await page.locator('[data-role="assistant"][data-status="error"]').waitFor();
          await collect();
          ollama.errorAfterChunks = undefined;
          ollama.manual = true;
          await page.getByRole("button", { name: "Retry" }).click();
          await ollama.waitForHeld(1);
          await page.getByRole("button", { name: "Stop" }).click();
          await page.getByTestId("stopped").waitFor();
          ollama.manual = false;
          ollama.release(Infinity);
          await page.getByRole("navigation", { name: "Conversations" }).getByRole("link")
            .first().waitFor();
          await collect();

          const missing = TEXT.filter((s) => !seen.has(s));
          assertEquals(missing, [], "every selector was on screen at some point");
          const failing = [...seen.values()].filter((m) => m.ratio < (m.large ? 3 : 4.5));
          assertEquals(failing, [], `below AA in the ${theme} theme`);
        });
      }),
  });
}
