/**
 * Splits a streaming Markdown answer into top-level blocks, incrementally, so the page renders
 * each finished block once and re-renders only the block being written.
 *
 * The split uses the Markdown lexer itself (passed in), so a block boundary is exactly where the
 * lexer would end a top-level token in the whole text: never inside a fenced code block, a
 * `$$…$$` math block, a list whose items are separated by blank lines, or a table. A block is
 * finished once another non-blank block follows it: text appended later cannot change it any
 * more. Only the text after the last finished block is lexed again on each update, so the work
 * per update depends on the length of the block being written, not of the answer (the one pass
 * over the whole text is a prefix comparison, at memory speed).
 *
 * Known limit: a reference-style link definition (`[x]: https://…`) is applied only to the block
 * it is in, not to links written in earlier blocks.
 */

/** The part of a lexer token the splitter needs: its type and the exact source it covers. */
export interface LexToken {
  readonly type: string;
  readonly raw: string;
}

/** One top-level block: its source and the lexer's tokens for it (blank lines included). */
export interface Block<T extends LexToken> {
  readonly source: string;
  readonly tokens: readonly T[];
}

export interface Split<T extends LexToken> {
  /** Every finished block, in order; earlier entries never change until a reset. */
  readonly done: readonly Block<T>[];
  /** How many of `done` were not finished at the previous update. */
  readonly added: number;
  /** The block being written (the last one), if there is text after the finished blocks. */
  readonly tail: Block<T> | undefined;
  /** The text was not a continuation of the previous one: everything was split again. */
  readonly reset: boolean;
}

/** The index of the last token at or before `from` that is not blank lines, or -1. */
function lastBlock(tokens: readonly LexToken[], from: number): number {
  let i = from;
  while (i >= 0 && tokens[i]!.type === "space") i--;
  return i;
}

/** Line endings as the lexer sees them, so offsets into the text match the tokens' `raw`. */
export function normalizeNewlines(text: string): string {
  return text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
}

export class BlockSplitter<T extends LexToken> {
  readonly #lex: (source: string) => T[];
  #text = "";
  /** Where the finished blocks end in `#text`. */
  #stable = 0;
  #done: Block<T>[] = [];

  constructor(lex: (source: string) => T[]) {
    this.#lex = lex;
  }

  /** Splits `text` (the whole answer so far), reusing the finished blocks of the last call. */
  update(rawText: string): Split<T> {
    const text = normalizeNewlines(rawText);
    // Answers only grow while they stream; anything else (a regenerated or edited answer)
    // starts over.
    const reset = !(text.length >= this.#text.length && text.startsWith(this.#text));
    if (reset) {
      this.#stable = 0;
      this.#done = [];
    }
    this.#text = text;
    const before = this.#done.length;
    const rest = text.slice(this.#stable);
    const tokens = rest ? this.#lex(rest) : [];
    // The last token that is not blank lines is the block being written; everything before
    // it is finished.
    let last = lastBlock(tokens, tokens.length - 1);
    // A last line still being written may be misread (`2` before it becomes `2. two`, an item
    // of the list above): a token only finishes the one before it from its first whole line.
    if (last > 0 && !tokens[last]!.raw.includes("\n")) last = lastBlock(tokens, last - 1);
    let start = 0;
    for (let i = 0; i < last; i++) {
      // Blank lines join the block before them.
      if (tokens[i + 1]!.type === "space" && i + 1 < last) continue;
      const group = tokens.slice(start, i + 1);
      const source = group.map((t) => t.raw).join("");
      this.#done.push({ source, tokens: group });
      this.#stable += source.length;
      start = i + 1;
    }
    const tailTokens = tokens.slice(start);
    const tailSource = text.slice(this.#stable);
    return {
      done: this.#done,
      added: this.#done.length - before,
      tail: tailSource ? { source: tailSource, tokens: tailTokens } : undefined,
      reset,
    };
  }
}
