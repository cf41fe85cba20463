/**
 * Markdown for answers: `marked` (GFM) + highlight.js, then DOMPurify. Model output is
 * untrusted, so everything that leaves this module has been sanitized, and the result obeys the
 * page's CSP: no scripts, no handlers, no `style` attributes, no remote images.
 *
 * Browser only for real rendering; without a DOM (server-side render) it falls back to escaped
 * plain text, so it can never hand unsanitized HTML to `dangerouslySetInnerHTML`.
 */
import { Marked, type Tokens } from "marked";
import DOMPurify, { type Config } from "dompurify";
import hljs from "highlight.js/lib/core";

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

/**
 * Loads the grammars the fences of `source` need. Resolves true when one was newly loaded, so
 * the caller renders again with highlighting.
 */
export function ensureLanguages(source: string): Promise<boolean> {
  const wanted = new Set<string>();
  for (const match of source.matchAll(/^ {0,3}(?:`{3,}|~{3,})[ \t]*([^\s`]+)/gm)) {
    const name = languageOf(match[1]);
    if (name && !hljs.getLanguage(name)) wanted.add(name);
  }
  if (wanted.size === 0) return Promise.resolve(false);
  return Promise.all([...wanted].map((name) => {
    let load = loads.get(name);
    if (!load) {
      load = LANGUAGES[name]!().then((module) => {
        hljs.registerLanguage(name, module.default);
        return true;
      }, () => false); // a failed chunk leaves the code unhighlighted, nothing worse
      loads.set(name, load);
    }
    return load;
  })).then((results) => results.some((loaded) => loaded));
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
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

/** Sanitizes an HTML string for insertion: see the module comment for the rules. */
export function sanitizeHtml(html: string): string {
  const purify = getPurifier();
  if (!purify) return escapeHtml(html);
  const body = purify.sanitize(html, { ...PURIFY_CONFIG, RETURN_DOM: true });
  for (const img of body.querySelectorAll("img")) replaceImage(img);
  for (const a of body.querySelectorAll("a")) secureLink(a);
  for (const input of body.querySelectorAll("input")) fixInput(input);
  return body.innerHTML;
}

/** Renders untrusted Markdown to sanitized HTML, ready for `dangerouslySetInnerHTML`. */
export function renderMarkdown(source: string): string {
  if (!getPurifier()) return source ? `<p>${escapeHtml(source)}</p>` : "";
  let html: string;
  try {
    html = marked.parse(source, { async: false });
  } catch {
    html = `<p>${escapeHtml(source)}</p>`;
  }
  return sanitizeHtml(html);
}
