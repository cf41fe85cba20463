/**
 * What the page's HTTP responses carry for the browser: the theme from the cookie in the
 * server-rendered HTML (no flash), preloads, and gzipped island bundles.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";

Deno.test("page http - the theme cookie is rendered into <html>; anything else is system", async () => {
  await withApp({}, async ({ app }) => {
    const page = (cookie?: string) =>
      fetch(`${app.url}/c/some-id`, cookie ? { headers: { cookie } } : {}).then((r) => r.text());
    const dark = await page("theme=dark");
    assertMatch(dark, /<html lang="en" data-theme="dark">/);
    assertMatch(dark, /<meta name="color-scheme" content="dark"\/?>/);
    assertMatch(await page(), /<html lang="en" data-theme="system">/);
    const hostile = await page('theme="><script>alert(1)</script>');
    assertMatch(hostile, /data-theme="system"/);
    assert(!hostile.includes("<script>alert"), "the cookie's text never reaches the page");
    // The conversation's JSON starts downloading while the page parses.
    assertMatch(
      dark,
      /<link rel="preload" as="fetch" crossorigin="anonymous" href="\/api\/conversations\/some-id"\/?>/,
    );
    // So do its settings, which the island waits for beside it.
    assertMatch(
      dark,
      /<link rel="preload" as="fetch" crossorigin="anonymous" href="\/api\/conversations\/some-id\/settings"\/?>/,
    );
  });
});

Deno.test("page http - island bundles are gzipped for clients that accept it", async () => {
  await withApp({}, async ({ app }) => {
    const html = await (await fetch(`${app.url}/`)).text();
    const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((m) =>
      m[1]
    );
    assert(preloads.length > 0, "the island's shared chunks are announced");
    // Deno's fetch asks for gzip and undoes it; the headers tell what travelled.
    const zipped = await fetch(`${app.url}/_islands/Chat.js`, {
      headers: { "accept-encoding": "gzip" },
    });
    assertEquals(zipped.headers.get("content-encoding"), "gzip");
    assertEquals(zipped.headers.get("vary"), "accept-encoding");
    const text = await zipped.text();
    const plain = await fetch(`${app.url}/_islands/Chat.js`, {
      headers: { "accept-encoding": "identity" },
    });
    assertEquals(plain.headers.get("content-encoding"), null);
    assertEquals(await plain.text(), text, "the same script either way");
  });
});
