/**
 * The code block being written, kept up to date in place while it streams. Re-rendering the
 * whole block on every frame (highlighting, sanitising, building its DOM) costs as much as the
 * block is long, so a model writing a long file made each frame slower than the one before,
 * and replaced the block's Copy button under the pointer many times a second.
 *
 * Instead, the block's header and `<pre><code>` stay, and the code grows in segments: a segment
 * ends after a blank line (where most languages are back at their top level) or after
 * {@link SEGMENT_LINES} lines; each is highlighted once, when it is complete, and the lines
 * after the last one show as plain text until their segment completes. Finished segments go
 * into blocks of about {@link CHUNK_LINES} lines (`.code-seg`, `content-visibility: auto` in
 * styles.css), so the browser's layout and paint, too, work on the blocks on screen, not on the
 * whole file. The work per frame is bounded by the size of a segment and of a block, and grows
 * with the number of blocks only (a 2,000-line file has ten).
 *
 * A construct that spans a blank line (a block comment, a template string) may be coloured
 * wrongly until the block ends: the finished block is rendered again whole (`markdown_dom.ts`).
 */
import type { Token, Tokens } from "marked";
import type { Block } from "./blocks.ts";
import type { Renderer } from "./markdown.ts";

/** The most lines in a segment when no blank line ends it sooner. */
export const SEGMENT_LINES = 40;

/** Lines of finished segments per block of the page; a block is laid out and painted whole. */
export const CHUNK_LINES = 200;

/** Where the first complete segment of `text` from `from` ends, or -1 if none is complete. */
export function segmentEnd(text: string, from: number): number {
  let lineStart = from;
  for (let lines = 1; lines <= SEGMENT_LINES; lines++) {
    const newline = text.indexOf("\n", lineStart);
    if (newline < 0) return -1;
    const blank = text.slice(lineStart, newline).trim() === "";
    lineStart = newline + 1;
    if (blank || lines === SEGMENT_LINES) return lineStart;
  }
  return -1;
}

/** The fenced code token a block consists of, if that is what it is. */
export function fencedCode(tokens: readonly Token[]): Tokens.Code | undefined {
  const code = tokens.filter((t) => t.type !== "space");
  const token = code[0];
  if (code.length !== 1 || token?.type !== "code") return undefined;
  const raw = token.raw.trimStart();
  return raw.startsWith("```") || raw.startsWith("~~~") ? token as Tokens.Code : undefined;
}

export class LiveCode {
  readonly #renderer: Renderer;
  readonly #code: HTMLElement;
  readonly #info: string | undefined;
  /** The code shown. */
  #text = "";
  /** How much of it is in finished (highlighted) segments. */
  #segmented = 0;
  /** The text after the last finished segment. */
  readonly #rest: Text;
  /** The block finished segments go into, and how many lines it holds. */
  #chunk: HTMLElement | undefined;
  #chunkLines = 0;
  /** A segment was highlighted without its grammar, which is on its way. */
  pending = false;

  /**
   * Takes over the `<pre><code>` of a code block just rendered for `token` (its nodes in the
   * page); undefined if there is none.
   */
  static adopt(renderer: Renderer, nodes: readonly Node[], token: Tokens.Code) {
    for (const node of nodes) {
      if (!(node instanceof Element)) continue;
      const code = node.querySelector("pre > code");
      if (code instanceof HTMLElement) return new LiveCode(renderer, nodes, code, token);
    }
    return undefined;
  }

  /** The block's nodes on the page (the same as it was rendered with: it grows inside them). */
  readonly nodes: readonly Node[];

  private constructor(
    renderer: Renderer,
    nodes: readonly Node[],
    code: HTMLElement,
    token: Tokens.Code,
  ) {
    this.nodes = nodes;
    this.#renderer = renderer;
    this.#code = code;
    this.#info = token.lang;
    this.#rest = code.ownerDocument.createTextNode("");
    code.classList.add("code-live");
    code.replaceChildren(this.#rest);
    this.#show(token.text);
  }

  /**
   * Shows the code of `block` if it continues what is shown, in the same language; false if it
   * does not (the block must be rendered again).
   */
  extend(block: Block<Token>): boolean {
    if (block.growing) return false;
    const token = fencedCode(block.tokens);
    if (!token || token.lang !== this.#info || !token.text.startsWith(this.#text)) return false;
    this.#show(token.text);
    return true;
  }

  /**
   * The grammar a segment waited for arrived: the code so far is highlighted again inside the
   * same `<code>`, so the header and its Copy button stay (rendering the block whole again would
   * replace them under the pointer).
   */
  refresh(): void {
    this.pending = false;
    this.#segmented = 0;
    this.#chunk = undefined;
    this.#chunkLines = 0;
    this.#code.replaceChildren(this.#rest);
    this.#show(this.#text);
  }

  #show(text: string): void {
    this.#text = text;
    let end: number;
    while ((end = segmentEnd(text, this.#segmented)) > 0) {
      const { nodes, pending } = this.#renderer.highlightCode(
        text.slice(this.#segmented, end),
        this.#info,
      );
      this.pending ||= pending;
      if (!this.#chunk || this.#chunkLines >= CHUNK_LINES) {
        this.#chunk = this.#code.ownerDocument.createElement("span");
        this.#chunk.className = "code-seg";
        this.#code.insertBefore(this.#chunk, this.#rest);
        this.#chunkLines = 0;
      }
      this.#chunk.append(nodes);
      this.#chunkLines += lineCount(text, this.#segmented, end);
      this.#segmented = end;
    }
    const rest = text.slice(this.#segmented);
    if (this.#rest.data !== rest) this.#rest.data = rest;
  }
}

function lineCount(text: string, from: number, to: number): number {
  let lines = 0;
  for (let i = text.indexOf("\n", from); i >= 0 && i < to; i = text.indexOf("\n", i + 1)) lines++;
  return lines;
}
