/**
 * The light half of answer rendering, safe for the page's first bundle: HTML escaping, and the
 * lazy load of the renderer (`markdown_render.ts`: marked, DOMPurify, highlight.js, and KaTeX
 * when an answer has math), which arrives as its own chunk after the page is up. Until it does,
 * answers show as plain text.
 */

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export type Renderer = typeof import("./markdown_render.ts");

let renderer: Renderer | undefined;
let loading: Promise<Renderer | undefined> | undefined;

/** The renderer if it has arrived. */
export function loadedRenderer(): Renderer | undefined {
  return renderer;
}

/** Loads the renderer once; resolves undefined if its chunk failed (answers stay plain text). */
export function loadRenderer(): Promise<Renderer | undefined> {
  loading ??= import("./markdown_render.ts").then((module) => {
    renderer = module;
    return module;
  }, () => {
    loading = undefined; // try again with the next answer
    return undefined;
  });
  return loading;
}

/** The accessible name and text of a code block's copy button, before and after a click. */
export const COPY_LABEL = "Copy code";
export const COPIED_LABEL = "Copied";
