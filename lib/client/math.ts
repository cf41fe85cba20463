/**
 * Math in answers: `$…$` and `\(…\)` inline, `$$…$$` and `\[…\]` as blocks, typeset by KaTeX.
 *
 * KaTeX is large, so it loads (its own chunk) only once an answer has math; until then the TeX
 * source shows as code. It runs with `trust: false` (no `\href`, `\url`, `\htmlData`,
 * `\includegraphics`…) and MathML output only: the browser typesets MathML natively, so no KaTeX
 * CSS or fonts are needed and the CSP stays as it is. Its output is sanitised again (DOMPurify,
 * MathML profile). A formula KaTeX cannot parse shows as its own source, as escaped text, with
 * the error in the tooltip: KaTeX's own error markup carries an inline style the CSP refuses.
 */
import type { TokenizerAndRendererExtension, Tokens } from "marked";
import type DOMPurify from "dompurify";
import type { Config } from "dompurify";
import { escapeHtml } from "./markdown.ts";

export interface MathToken extends Tokens.Generic {
  readonly type: "mathBlock" | "mathInline";
  readonly raw: string;
  readonly tex: string;
  readonly display: boolean;
}

/** The class of the placeholder each formula renders to, replaced by {@link typeset}. */
export const MATH_SLOT = "math-source";

/** A generous cap: a formula this long is shown as source, not typeset. */
const MAX_TEX = 10_000;

function placeholder(token: MathToken): string {
  const tag = token.display ? "div" : "span";
  return `<${tag} class="${MATH_SLOT}${token.display ? " math-display" : ""}"><code>${
    escapeHtml(token.raw.trim())
  }</code></${tag}>${token.display ? "\n" : ""}`;
}

const BLOCK = /^ {0,3}(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n+|$)/;
/** `$$` opening a block that is not closed yet (still streaming): held as one block. */
const OPEN_BLOCK = /^ {0,3}(?:\$\$|\\\[)[^\n]*(?:\n|$)/;
const INLINE_DOLLARS = /^\$\$(?!\$)([^\n]+?)\$\$/;
// `$x$` but not `$5 and $10`: no space just inside either `$`, no digit just after the closer.
const INLINE_DOLLAR = /^\$(?![\s$])((?:\\.|[^\\\n$])+?)(?<![\s\\])\$(?!\d)/;
const INLINE_PAREN = /^\\\(([\s\S]+?)\\\)/;

function mathToken(raw: string, tex: string, display: boolean): MathToken {
  return { type: display ? "mathBlock" : "mathInline", raw, tex: tex.trim(), display };
}

/** marked extensions for the four delimiters; they render placeholders (see {@link typeset}). */
export const mathExtensions: TokenizerAndRendererExtension[] = [
  {
    name: "mathBlock",
    level: "block",
    start: (src) => src.match(/^ {0,3}(?:\$\$|\\\[)/m)?.index,
    tokenizer(src) {
      const match = BLOCK.exec(src);
      if (match) return mathToken(match[0], match[1] ?? match[2] ?? "", true);
      // Unclosed (the answer is still being written): keep it whole as one block so the
      // splitter never cuts inside it; it shows as source until the closing `$$` arrives.
      const open = OPEN_BLOCK.exec(src);
      if (!open) return undefined;
      const closer = src.startsWith("$$", open[0].indexOf("$")) ? "$$" : "\\]";
      if (src.includes(closer, open[0].length)) return undefined;
      return mathToken(src, "", true);
    },
    renderer: (token) => placeholder(token as MathToken),
  },
  {
    name: "mathInline",
    level: "inline",
    start: (src) => {
      const i = src.search(/\$|\\\(/);
      return i < 0 ? undefined : i;
    },
    tokenizer(src) {
      const match = INLINE_DOLLARS.exec(src) ?? INLINE_DOLLAR.exec(src) ?? INLINE_PAREN.exec(src);
      if (!match) return undefined;
      // `$$x$$` inside a line of text stays inline (a block there would break the paragraph).
      return mathToken(match[0], match[1]!, false);
    },
    renderer: (token) => placeholder(token as MathToken),
  },
];

type Katex = typeof import("katex").default;
let katex: Katex | undefined;
let loading: Promise<boolean> | undefined;

/** Loads KaTeX once; resolves true when it is (newly or already) there. */
export function loadKatex(): Promise<boolean> {
  loading ??= import("katex").then((module) => {
    katex = module.default;
    return true;
  }, () => {
    loading = undefined; // a failed chunk: formulas stay as source; try again next time
    return false;
  });
  return loading;
}

export function katexReady(): boolean {
  return katex !== undefined;
}

type Purifier = ReturnType<typeof DOMPurify>;

const MATH_CONFIG: Config & { RETURN_DOM_FRAGMENT: true } = {
  USE_PROFILES: { mathMl: true },
  // KaTeX wraps the formula in a span and keeps the TeX in an annotation (not displayed).
  ADD_TAGS: ["span", "semantics", "annotation"],
  ADD_ATTR: ["encoding", "class"],
  FORBID_TAGS: ["annotation-xml", "maction", "style"],
  FORBID_ATTR: ["style", "id", "href", "src", "xlink:href", "actiontype"],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

/**
 * Replaces every placeholder under `root` with typeset MathML (or the escaped source and the
 * error). Returns false when KaTeX is not loaded yet, so the caller renders again later.
 */
export function typeset(root: ParentNode, purify: Purifier): boolean {
  const slots = root.querySelectorAll(`.${MATH_SLOT}`);
  if (slots.length === 0) return true;
  if (!katex) return false;
  for (const slot of slots) {
    const source = slot.textContent ?? "";
    const display = slot.classList.contains("math-display");
    const tex = stripDelimiters(source);
    if (tex === undefined) continue; // unclosed block, still streaming: stays as source
    const doc = slot.ownerDocument;
    let replacement: Node;
    try {
      if (tex.length > MAX_TEX) throw new Error(`formula longer than ${MAX_TEX} characters`);
      const html = katex.renderToString(tex, {
        displayMode: display,
        output: "mathml",
        trust: false,
        throwOnError: true,
        strict: "ignore",
        maxSize: 20,
        maxExpand: 500,
      });
      const fragment = purify.sanitize(html, MATH_CONFIG);
      const wrapper = doc.createElement(display ? "div" : "span");
      wrapper.className = display ? "math math-display" : "math";
      wrapper.append(doc.importNode(fragment, true));
      replacement = wrapper;
    } catch (error) {
      const code = doc.createElement("code");
      code.className = "math-error";
      code.textContent = source;
      code.title = error instanceof Error ? error.message : "This formula could not be typeset";
      if (!display) replacement = code;
      else {
        const wrapper = doc.createElement("div");
        wrapper.className = "math math-display";
        wrapper.append(code);
        replacement = wrapper;
      }
    }
    slot.replaceWith(replacement);
  }
  return true;
}

/** The TeX between the delimiters of a formula's source, or undefined while unclosed. */
function stripDelimiters(source: string): string | undefined {
  const s = source.trim();
  for (const [open, close] of [["$$", "$$"], ["\\[", "\\]"], ["\\(", "\\)"], ["$", "$"]]) {
    if (s.startsWith(open!)) {
      if (s.length < open!.length + close!.length || !s.endsWith(close!)) return undefined;
      return s.slice(open!.length, s.length - close!.length).trim();
    }
  }
  return undefined;
}
