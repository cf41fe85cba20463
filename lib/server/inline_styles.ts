/**
 * Stylesheets inlined into the page. A cold visit to `/` otherwise waits, before its first paint,
 * for a second request through the browser's network stack: in Chromium's trace that request
 * was most of the gap to the static baseline page (the server answers it in about a millisecond;
 * the wait is the browser's, under load). The CSS (7.5 KB gzipped) comes with the HTML instead,
 * and the page's CSP allows exactly that text by its hash, so no other inline style is allowed.
 * `/styles.css` is still served for anything that links it.
 */
import type { Asset } from "./islands.ts";

export interface InlinedStyles {
  readonly html: string;
  /** CSP hash sources (`'sha256-…'`) of the inlined stylesheets, in order. */
  readonly hashes: readonly string[];
}

interface Inlinable {
  readonly css: string;
  readonly hash: string;
}

const prepared = new WeakMap<Asset, Promise<Inlinable | null>>();

function prepare(asset: Asset): Promise<Inlinable | null> {
  let found = prepared.get(asset);
  if (!found) {
    found = (async () => {
      const css = new TextDecoder("utf-8", { fatal: true }).decode(asset.body);
      // A stylesheet that could close its own element is left as a link.
      if (/<\/style/i.test(css)) return null;
      const digest = new Uint8Array(
        await crypto.subtle.digest("SHA-256", asset.body as BufferSource),
      );
      return { css, hash: `'sha256-${btoa(String.fromCharCode(...digest))}'` };
    })();
    prepared.set(asset, found);
  }
  return found;
}

const LINK = /<link rel="stylesheet" href="(\/[^"?#]+\.css)"\s*\/?>/g;

/**
 * Replaces each `<link rel="stylesheet" href="/x.css">` whose file is among `files` with a
 * `<style>` holding its text; links to anything else stay.
 */
export async function inlineStylesheets(
  html: string,
  files: ReadonlyMap<string, Asset>,
): Promise<InlinedStyles> {
  const links = [...html.matchAll(LINK)];
  if (links.length === 0) return { html, hashes: [] };
  const styles = await Promise.all(links.map(([, href]) => {
    const asset = files.get(href!);
    return asset && asset.contentType.startsWith("text/css") ? prepare(asset) : null;
  }));
  const hashes: string[] = [];
  let i = 0;
  const out = html.replace(LINK, (link) => {
    const style = styles[i++];
    if (!style) return link;
    hashes.push(style.hash);
    return `<style>${style.css}</style>`;
  });
  return { html: out, hashes };
}
