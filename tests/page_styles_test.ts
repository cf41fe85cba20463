/**
 * The page carries its stylesheet inline (lib/server/inline_styles.ts): the HTML holds the CSS,
 * the CSP allows exactly that text by hash and nothing else inline, the page is gzipped, and in
 * Chromium the styles apply with no CSP report while an injected `<style>` stays inert.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withBrowser } from "./helpers/browser.ts";
import { withApp } from "./helpers/fixture.ts";

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
}

Deno.test("page styles - the stylesheet comes inside the HTML, allowed by its hash alone", async () => {
  await withApp({}, async ({ app }) => {
    const response = await fetch(app.url + "/", { headers: { "accept-encoding": "gzip" } });
    assertEquals(response.headers.get("content-encoding"), "gzip");
    const html = await response.text();
    assert(!/<link rel="stylesheet"/.test(html), "no stylesheet request before the first paint");
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    assertEquals(styles.length, 1);
    const file = await Deno.readTextFile(new URL("../static/styles.css", import.meta.url));
    assertEquals(styles[0], file);
    const csp = response.headers.get("content-security-policy") ?? "";
    assertMatch(csp, /(^|; )script-src 'self'(;|$)/);
    assertEquals(/style-src ([^;]*)/.exec(csp)?.[1], `'self' ${await sha256(file)}`);
    assert(!csp.includes("unsafe-inline"), csp);
    // Other responses keep the plain policy; the file itself is still served.
    const css = await fetch(app.url + "/styles.css");
    await css.body?.cancel();
    assertMatch(css.headers.get("content-security-policy") ?? "", /style-src 'self';/);
  });
});

Deno.test({
  name: "page styles - Chromium applies the inline sheet and refuses any other inline style",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: (t) =>
    withApp({}, ({ app }) =>
      withBrowser(t, app.url, async ({ page, open, log }) => {
        await page.addInitScript(() => {
          const w = globalThis as unknown as { violations: string[] };
          w.violations = [];
          document.addEventListener("securitypolicyviolation", (e) => {
            w.violations.push(`${e.violatedDirective} ${e.blockedURI}`);
          });
        });
        const violations = () =>
          page.evaluate(() => (globalThis as unknown as { violations: string[] }).violations);
        await open("/");
        const send = page.getByRole("button", { name: "Send" });
        // The stylesheet's rules hold: the composer's button is not the browser's default one.
        assertEquals(await send.evaluate((b) => getComputedStyle(b).cursor), "pointer");
        assertEquals(await violations(), [], "the inline sheet is allowed");
        assertEquals(log.consoleErrors, []);
        const applied = await page.evaluate(async () => {
          const style = document.createElement("style");
          style.textContent = "body { visibility: hidden; }";
          document.head.append(style);
          await new Promise((resolve) => requestAnimationFrame(resolve));
          return getComputedStyle(document.body).visibility;
        });
        assertEquals(applied, "visible", "an injected <style> does not apply");
        await page.waitForFunction(() =>
          (globalThis as unknown as { violations: string[] }).violations
            .some((v) => v.startsWith("style-src"))
        );
        log.consoleErrors.length = 0; // the refused style above reports itself on the console
      })),
});
