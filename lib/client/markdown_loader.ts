/**
 * The Markdown renderer (markdown.ts: marked, DOMPurify, highlight.js; five sixths of the
 * island's code) loaded when first needed instead of with the page, so a new chat paints and
 * hydrates with a sixth of the bytes. Same two functions as markdown.ts:
 *
 * - `renderMarkdown` returns the escaped plain text (paragraphs kept) until the renderer is
 *   in, then the real thing;
 * - `ensureLanguages` first waits for the renderer and resolves `true` when it just arrived, so
 *   a component re-renders with it (as it already does when a grammar arrives).
 *
 * {@link preloadMarkdown} starts the download early (the person started typing).
 */
type Renderer = typeof import("./markdown.ts");

let renderer: Renderer | undefined;
let loading: Promise<Renderer> | undefined;

/** Starts loading the renderer (once); resolves with it. */
export function preloadMarkdown(): Promise<Renderer> {
  if (!loading) {
    loading = import("./markdown.ts").then((module) => (renderer = module));
    // A failed download may be retried by the next call.
    loading.catch(() => (loading = undefined));
  }
  return loading;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * Sources shown as plain text before the renderer came: a component whose check runs after it
 * arrived must still be told to render again. Only filled during the first download.
 */
const shownPlain = new Set<string>();

export function renderMarkdown(source: string): string {
  if (renderer) return renderer.renderMarkdown(source);
  shownPlain.add(source);
  return source.split(/\n{2,}/).map((p) => `<p class="md-plain">${escape(p)}</p>`).join("");
}

export async function ensureLanguages(source: string): Promise<boolean> {
  const module = renderer ?? await preloadMarkdown();
  const loaded = await module.ensureLanguages(source);
  return loaded || shownPlain.has(source);
}
