/**
 * Markdown for answers, the heavy half (its own chunk, loaded by `markdown.ts`): `marked` (GFM
 * plus math) + highlight.js, then DOMPurify. Model output is untrusted, so everything that leaves
 * this module has been sanitized, and the result obeys the page's CSP: no scripts, no handlers,
 * no `style` attributes, no remote images. What we add ourselves after sanitising (the Copy
 * button, typeset math) is built as DOM nodes, never from the model's text as HTML.
 *
 * Answers render block by block (see `blocks.ts`): {@link createSplitter} splits a streaming
 * answer and {@link renderBlock} renders one block to DOM nodes.
 */
import { Marked, type Token, type Tokens } from "marked";
import DOMPurify, { type Config } from "dompurify";
import hljs from "highlight.js/lib/core";
import { BlockSplitter } from "./blocks.ts";
import { COPY_LABEL, escapeHtml } from "./markdown.ts";
import { katexReady, loadKatex, MATH_SLOT, mathExtensions, typeset } from "./math.ts";

export { escapeHtml };
// The blocks that grow in place while they stream (`markdown_dom.ts` takes them from here).
export { fencedCode, LiveCode } from "./live_code.ts";
export { LiveList } from "./live_list.ts";
export { LiveTable } from "./live_table.ts";

type LanguageModule = Promise<{ default: Parameters<typeof hljs.registerLanguage>[1] }>;

/**
 * Grammars load on demand, each its own chunk, the first time an answer has a fence in that
 * language: the page stays small and most answers need one or two at most.
 */
const LANGUAGES: Record<string, () => LanguageModule> = {
  bash: () => import("highlight.js/lib/languages/bash"),
  c: () => import("highlight.js/lib/languages/c"),
  cpp: () => import("highlight.js/lib/languages/cpp"),
  css: () => import("highlight.js/lib/languages/css"),
  diff: () => import("highlight.js/lib/languages/diff"),
  go: () => import("highlight.js/lib/languages/go"),
  java: () => import("highlight.js/lib/languages/java"),
  javascript: () => import("highlight.js/lib/languages/javascript"),
  json: () => import("highlight.js/lib/languages/json"),
  markdown: () => import("highlight.js/lib/languages/markdown"),
  python: () => import("highlight.js/lib/languages/python"),
  rust: () => import("highlight.js/lib/languages/rust"),
  sql: () => import("highlight.js/lib/languages/sql"),
  typescript: () => import("highlight.js/lib/languages/typescript"),
  xml: () => import("highlight.js/lib/languages/xml"),
  yaml: () => import("highlight.js/lib/languages/yaml"),
};

const ALIASES: Record<string, string> = {
  sh: "bash",
  shell: "bash",
  zsh: "bash",
  console: "bash",
  shellsession: "bash",
  h: "c",
  "c++": "cpp",
  cc: "cpp",
  cxx: "cpp",
  hpp: "cpp",
  hh: "cpp",
  golang: "go",
  js: "javascript",
  jsx: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  node: "javascript",
  jsonc: "json",
  json5: "json",
  md: "markdown",
  py: "python",
  python3: "python",
  rs: "rust",
  ts: "typescript",
  tsx: "typescript",
  mts: "typescript",
  html: "xml",
  xhtml: "xml",
  svg: "xml",
  htm: "xml",
  yml: "yaml",
  patch: "diff",
  postgresql: "sql",
  mysql: "sql",
  sqlite: "sql",
  plsql: "sql",
}; // deno-fmt-ignore

const loads = new Map<string, Promise<boolean>>();

/** The grammar name for a fence's info string (`ts`, `py title="x"`), if we have it. */
export function languageOf(info: string | undefined): string | undefined {
  const word = info?.trim().split(/\s+/)[0]?.toLowerCase();
  if (!word) return undefined;
  const name = ALIASES[word] ?? word;
  return Object.hasOwn(LANGUAGES, name) ? name : undefined;
}

type Listener = () => void;
const listeners = new Set<Listener>();

/**
 * Calls `listener` whenever a grammar or KaTeX arrives, so views render again the blocks that
 * were rendered without them. Returns the unsubscribe function.
 */
export function onAssetsLoaded(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of listeners) listener();
}

/** Starts loading a grammar; true if it is already there. */
function requireLanguage(name: string): boolean {
  if (hljs.getLanguage(name)) return true;
  if (!loads.has(name)) {
    loads.set(
      name,
      LANGUAGES[name]!().then((module) => {
        hljs.registerLanguage(name, module.default);
        notify();
        return true;
      }, () => false), // a failed chunk leaves the code unhighlighted, nothing worse
    );
  }
  return false;
}

function highlight(code: string, lang: string | undefined): { html: string; language?: string } {
  const name = languageOf(lang);
  if (name && hljs.getLanguage(name)) {
    try {
      return {
        html: hljs.highlight(code, { language: name, ignoreIllegals: true }).value,
        language: name,
      };
    } catch {
      // fall through to plain text
    }
  }
  return { html: escapeHtml(code) };
}

const RAW_TAG =
  /^<\/?(?:br|hr|b|i|u|s|em|strong|del|ins|mark|small|sub|sup|kbd|samp|var|code|details|summary)\s*\/?>$/i;

const marked = new Marked({
  gfm: true,
  extensions: mathExtensions,
  breaks: false,
  async: false,
  renderer: {
    // Raw HTML in an answer is shown as text, except a few bare formatting tags (`<br>`,
    // `<kbd>`, `<sub>`…) written without attributes. DOMPurify still checks the result, and
    // nothing with a handler or style ever reaches a parser under the page's CSP.
    html(token: Tokens.HTML | Tokens.Tag): string {
      const text = token.text;
      if (RAW_TAG.test(text.trim())) return text;
      return token.block
        ? `<div class="code-block"><pre><code class="hljs">${
          escapeHtml(text.replace(/\n+$/, ""))
        }\n</code></pre></div>\n`
        : escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code): string {
      const { html, language } = highlight(text.replace(/\n$/, ""), lang);
      const label = lang?.trim().split(/\s+/)[0] ?? "";
      const cls = language ? `hljs language-${escapeHtml(language)}` : "hljs";
      const header = label ? `<div class="code-lang">${escapeHtml(label)}</div>` : "";
      return `<div class="code-block">${header}<pre><code class="${cls}">${html}\n</code></pre></div>\n`;
    },
  },
});

const ALLOWED_TAGS = [
  "a",
  "abbr",
  "b",
  "blockquote",
  "br",
  "code",
  "dd",
  "del",
  "details",
  "div",
  "dl",
  "dt",
  "em",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "hr",
  "i",
  "img",
  "input",
  "ins",
  "kbd",
  "li",
  "mark",
  "ol",
  "p",
  "pre",
  "q",
  "s",
  "samp",
  "small",
  "span",
  "strong",
  "sub",
  "summary",
  "sup",
  "table",
  "tbody",
  "td",
  "tfoot",
  "th",
  "thead",
  "tr",
  "u",
  "ul",
  "var",
]; // deno-fmt-ignore

const ALLOWED_ATTR = [
  "href", "src", "alt", "title", "class", "align", "colspan", "rowspan", "start", "type",
  "checked", "disabled", "open",
]; // deno-fmt-ignore

const PURIFY_CONFIG: Config = {
  ALLOWED_TAGS,
  ALLOWED_ATTR,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  // Only http(s), mailto and scheme-less (relative) URLs; `data:` is vetted per tag below.
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
  FORBID_TAGS: ["style", "script", "iframe", "object", "embed", "form", "svg", "math"],
  FORBID_ATTR: ["style", "id", "name"],
  KEEP_CONTENT: true,
};

const LINK_REL = "noopener noreferrer nofollow";

let purifier: ReturnType<typeof DOMPurify> | undefined;

function getPurifier(): ReturnType<typeof DOMPurify> | undefined {
  if (purifier) return purifier;
  if (typeof window === "undefined" || typeof document === "undefined") return undefined;
  const instance = DOMPurify(window);
  if (!instance.isSupported) return undefined;
  purifier = instance;
  return purifier;
}

function pageOrigin(): string {
  return typeof location === "undefined" ? "null" : location.origin;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value, typeof location === "undefined" ? "http://invalid/" : location.href);
  } catch {
    return undefined;
  }
}

/** A link target the person may follow: http(s), mailto, or a same-origin path. */
function safeHref(value: string): string | undefined {
  const url = parseUrl(value.trim());
  if (!url) return undefined;
  return url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:"
    ? url.href
    : undefined;
}

/** Only same-origin images and `data:image/*` URLs may load; nothing leaks to a third party. */
function isAllowedImage(src: string): boolean {
  const trimmed = src.trim();
  if (/^data:image\/[a-z0-9.+-]+[;,]/i.test(trimmed)) return true;
  const url = parseUrl(trimmed);
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:") &&
    url.origin === pageOrigin();
}

function secureLink(a: HTMLAnchorElement): void {
  const href = a.getAttribute("href");
  const safe = href === null ? undefined : safeHref(href);
  if (href !== null && safe === undefined) a.removeAttribute("href");
  if (a.hasAttribute("href")) {
    a.setAttribute("rel", LINK_REL);
    a.setAttribute("target", "_blank");
  }
}

function replaceImage(img: HTMLImageElement): void {
  const src = img.getAttribute("src") ?? "";
  if (src && isAllowedImage(src)) return;
  const doc = img.ownerDocument;
  const alt = (img.getAttribute("alt") ?? "").trim();
  const href = src ? safeHref(src) : undefined;
  const host = href ? parseUrl(href)?.host : undefined;
  const text = `🖼 image: ${alt || host || "blocked"}`;
  let replacement: HTMLElement;
  if (href) {
    const a = doc.createElement("a");
    a.setAttribute("href", href);
    a.setAttribute("rel", LINK_REL);
    a.setAttribute("target", "_blank");
    a.setAttribute("class", "blocked-image");
    a.setAttribute("title", `Remote image, not loaded: ${href}`);
    a.textContent = text;
    replacement = a;
  } else {
    const span = doc.createElement("span");
    span.setAttribute("class", "blocked-image");
    span.textContent = text;
    replacement = span;
  }
  img.replaceWith(replacement);
}

function fixInput(input: HTMLInputElement): void {
  if ((input.getAttribute("type") ?? "").toLowerCase() !== "checkbox") {
    input.remove();
    return;
  }
  input.setAttribute("disabled", "");
}

/** Sanitizes HTML into DOM nodes of this document: see the module comment for the rules. */
function sanitizeToFragment(html: string, purify: ReturnType<typeof DOMPurify>): DocumentFragment {
  const fragment = purify.sanitize(html, {
    ...PURIFY_CONFIG,
    RETURN_DOM_FRAGMENT: true,
  }) as unknown as DocumentFragment;
  for (const img of fragment.querySelectorAll("img")) replaceImage(img);
  for (const a of fragment.querySelectorAll("a")) secureLink(a);
  for (const input of fragment.querySelectorAll("input")) fixInput(input);
  return fragment;
}

/** Sanitizes an HTML string for insertion: see the module comment for the rules. */
export function sanitizeHtml(html: string): string {
  const purify = getPurifier();
  if (!purify) return escapeHtml(html);
  const holder = document.createElement("div");
  holder.append(sanitizeToFragment(html, purify));
  return holder.innerHTML;
}

/** Gives each code block a header: its language (if named) and a Copy button. */
function addCodeHeaders(root: DocumentFragment): void {
  for (const block of root.querySelectorAll(".code-block")) {
    const doc = block.ownerDocument;
    const head = doc.createElement("div");
    head.className = "code-head";
    const lang = block.querySelector(":scope > .code-lang");
    if (lang) head.append(lang);
    else head.append(doc.createElement("span"));
    const button = doc.createElement("button");
    button.type = "button";
    button.className = "copy-code";
    button.textContent = COPY_LABEL;
    head.append(button);
    block.prepend(head);
  }
}

/** A splitter whose blocks carry marked's tokens, ready for {@link renderBlock}. */
export function createSplitter(): BlockSplitter<Token> {
  return new BlockSplitter<Token>((source) => [...marked.lexer(source)]);
}

/** The top-level tokens of `source` (for tests and tools). */
export function lexMarkdown(source: string): Token[] {
  return [...marked.lexer(source)];
}

export interface RenderedBlock {
  readonly nodes: DocumentFragment;
  /** Rendered without a grammar or KaTeX that is on its way: render again once it arrives. */
  readonly pending: boolean;
}

function needsLanguages(tokens: readonly Token[]): boolean {
  let pending = false;
  marked.walkTokens(tokens as Token[], (token) => {
    if (token.type !== "code") return;
    const name = languageOf((token as Tokens.Code).lang);
    if (name && !requireLanguage(name)) pending = true;
  });
  return pending;
}

/** Renders one block's tokens to sanitized DOM nodes of this document. */
export function renderBlock(tokens: readonly Token[]): RenderedBlock {
  const purify = getPurifier();
  if (!purify) throw new Error("renderBlock needs a DOM");
  const pendingLanguage = needsLanguages(tokens);
  let html: string;
  try {
    html = marked.parser(tokens as Token[]);
  } catch {
    html = `<p>${escapeHtml(tokens.map((t) => t.raw).join(""))}</p>`;
  }
  const nodes = sanitizeToFragment(html, purify);
  addCodeHeaders(nodes);
  let pendingMath = false;
  if (nodes.querySelector(`.${MATH_SLOT}`)) {
    if (!katexReady()) {
      pendingMath = true;
      loadKatex().then((ok) => ok && notify());
    } else typeset(nodes, purify);
  }
  return { nodes, pending: pendingLanguage || pendingMath };
}

/**
 * A piece of code in the language of a fence's info string, highlighted and sanitized, for the
 * code block being written (`live_code.ts`). `pending` when its grammar is still on its way
 * (the piece is plain text until then).
 */
export function highlightCode(code: string, info: string | undefined): RenderedBlock {
  const purify = getPurifier();
  if (!purify) throw new Error("highlightCode needs a DOM");
  const name = languageOf(info);
  const pending = name !== undefined && !requireLanguage(name);
  return { nodes: sanitizeToFragment(highlight(code, info).html, purify), pending };
}

/** Renders a whole Markdown text to sanitized HTML (not streamed; e.g. for a preview). */
export function renderMarkdown(source: string): string {
  if (!getPurifier()) return source ? `<p>${escapeHtml(source)}</p>` : "";
  const holder = document.createElement("div");
  holder.append(renderBlock(lexMarkdown(source)).nodes);
  return holder.innerHTML;
}
