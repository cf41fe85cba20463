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
 * A list is one block however long it grows, so while the block being written is a list of two
 * items or more, the next update lexes only from its last item on (a list's items are the list's
 * text, in order): the page grows the list in place (`live_list.ts`), and the whole list is
 * lexed again only when something else follows it. The tail's `tokens` are then computed when
 * asked for.
 *
 * Known limit: a reference-style link definition (`[x]: https://…`) is applied only to the block
 * it is in, not to links written in earlier blocks.
 */

/** The part of a lexer token the splitter needs: its type and the exact source it covers. */
export interface LexToken {
  readonly type: string;
  readonly raw: string;
}

/** A list token: its items are its text, in order (`raw`s end to end). */
export interface ListLexToken extends LexToken {
  readonly type: "list";
  readonly items: readonly LexToken[];
}

/** One top-level block: its source and the lexer's tokens for it (blank lines included). */
export interface Block<T extends LexToken> {
  readonly source: string;
  readonly tokens: readonly T[];
  /**
   * On the block being written, when it is a list still growing: a list token for its items
   * from `at` (chars into `source`) to the end, which may start past the list's first items.
   */
  readonly list?: { readonly token: T & ListLexToken; readonly at: number };
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

/** The only token of `tokens` besides blank lines, if it is a list; and where it starts. */
function onlyList<T extends LexToken>(
  tokens: readonly T[],
): { token: T & ListLexToken; at: number } | undefined {
  let found: { token: T & ListLexToken; at: number } | undefined;
  let at = 0;
  for (const token of tokens) {
    if (token.type !== "space") {
      if (found || token.type !== "list" || !("items" in token)) return undefined;
      found = { token: token as T & ListLexToken, at };
    }
    at += token.raw.length;
  }
  return found;
}

/** Where a list's last item starts in its text (the last item's `raw` may be trimmed). */
function lastItemAt(list: ListLexToken): number {
  let at = 0;
  for (let i = 0; i < list.items.length - 1; i++) at += list.items[i]!.raw.length;
  return at;
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
  /** While the block being written is a list: where its last item starts in `#text`. */
  #listResume: number | undefined;

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
      this.#listResume = undefined;
    }
    this.#text = text;
    if (this.#listResume !== undefined) {
      const grown = this.#growList(text, this.#listResume);
      if (grown) return grown;
      this.#listResume = undefined;
    }
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
    const list = onlyList(tailTokens);
    if (list && list.token.items.length >= 2) {
      this.#listResume = this.#stable + list.at + lastItemAt(list.token);
    }
    return {
      done: this.#done,
      added: this.#done.length - before,
      tail: tailSource
        ? { source: tailSource, tokens: tailTokens, ...(list ? { list } : {}) }
        : undefined,
      reset,
    };
  }

  /**
   * The update when the block being written was a growing list: lexes from its last item on.
   * Undefined when that text is not one list any more (the list ended, or changed kind): then
   * the whole block is lexed again.
   */
  #growList(text: string, from: number): Split<T> | undefined {
    const list = onlyList(this.#lex(text.slice(from)));
    if (!list || list.at !== 0) return undefined;
    this.#listResume = from + lastItemAt(list.token);
    const source = text.slice(this.#stable);
    const lex = this.#lex;
    let tokens: T[] | undefined;
    return {
      done: this.#done,
      added: 0,
      tail: {
        source,
        get tokens() {
          return tokens ??= lex(source);
        },
        list: { token: list.token, at: from - this.#stable },
      },
      reset: false,
    };
  }
}
