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
 * A list or a table is one block however long it grows, so while the block being written is a
 * list of two items or more (a table of two rows or more), the next update lexes only from its
 * last item on (a list's items are its text, in order; a table's rows are its lines after the
 * header and delimiter lines, which are put back in front): the page grows it in place
 * (`live_list.ts`, `live_table.ts`), and the whole block is lexed again only when something
 * else follows it. The tail's `tokens` are then computed when asked for.
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

/** A table token: a header line, a delimiter line, then one line per row. */
export interface TableLexToken extends LexToken {
  readonly type: "table";
  readonly rows: readonly unknown[];
}

export type GrowingLexToken = ListLexToken | TableLexToken;

/** One top-level block: its source and the lexer's tokens for it (blank lines included). */
export interface Block<T extends LexToken> {
  readonly source: string;
  readonly tokens: readonly T[];
  /**
   * On the block being written, when it is a list or a table: its token for its items (rows)
   * from `at` (chars into `source`) to the end, which may start past the first ones. A table's
   * token was lexed with its header and delimiter lines put back in front of those rows.
   */
  readonly growing?: { readonly token: T & GrowingLexToken; readonly at: number };
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

function isGrowing(token: LexToken): token is GrowingLexToken {
  return (token.type === "list" && "items" in token) || (token.type === "table" && "rows" in token);
}

/** The only token of `tokens` besides blank lines, if it is a list or a table; and its offset. */
function onlyGrowing<T extends LexToken>(
  tokens: readonly T[],
): { token: T & GrowingLexToken; at: number } | undefined {
  let found: { token: T & GrowingLexToken; at: number } | undefined;
  let at = 0;
  for (const token of tokens) {
    if (token.type !== "space") {
      if (found || !isGrowing(token)) return undefined;
      found = { token, at };
    }
    at += token.raw.length;
  }
  return found;
}

/**
 * Where the last item (row) of a list (table) starts in its `raw`: where the next update lexes
 * from. The first item (row) for one of them.
 */
export function lastPartAt(token: GrowingLexToken): number {
  if (token.type === "list") {
    let at = 0;
    for (let i = 0; i < token.items.length - 1; i++) at += token.items[i]!.raw.length;
    return at;
  }
  if (token.rows.length < 2) return tableHeader(token.raw).length;
  const raw = token.raw.endsWith("\n") ? token.raw.slice(0, -1) : token.raw;
  return raw.lastIndexOf("\n") + 1;
}

/** A table's header and delimiter lines, which its later rows are lexed under. */
export function tableHeader(raw: string): string {
  const second = raw.indexOf("\n", raw.indexOf("\n") + 1);
  return second < 0 ? raw : raw.slice(0, second + 1);
}

/** Whether the text of `tokens[last]` could still turn out to be part of the block before it. */
function mayJoin(tokens: readonly LexToken[], last: number): boolean {
  const before = lastBlock(tokens, last - 1);
  const token = tokens[before];
  if (!token) return true;
  if (token.type === "code" && /^ {0,3}(`{3,}|~{3,})/.test(token.raw)) return false;
  return !(token.type === "table" && tokens[before + 1]?.type === "space");
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
  /**
   * While the block being written is a list or a table: where its last item (row) starts in
   * `#text`, and for a table its header lines.
   */
  #growth: { readonly from: number; readonly header: string | undefined } | undefined;

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
      this.#growth = undefined;
    }
    this.#text = text;
    if (this.#growth !== undefined) {
      const grown = this.#grow(text, this.#growth);
      if (grown) return grown;
      this.#growth = undefined;
    }
    const before = this.#done.length;
    const rest = text.slice(this.#stable);
    const tokens = rest ? this.#lex(rest) : [];
    // The last token that is not blank lines is the block being written; everything before
    // it is finished.
    let last = lastBlock(tokens, tokens.length - 1);
    // A last line still being written may be misread (`2` before it becomes `2. two`, an item
    // of the list above): a token only finishes the one before it from its first whole line,
    // unless nothing can join that one any more (a closed fence, a table after a blank line):
    // then the sentence after a long code block or table does not keep it the block being
    // written, rendered again whole on every update, until its first line ends.
    if (last > 0 && !tokens[last]!.raw.includes("\n") && mayJoin(tokens, last)) {
      last = lastBlock(tokens, last - 1);
    }
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
    const growing = onlyGrowing(tailTokens);
    if (growing) {
      const { token, at } = growing;
      const header = token.type === "table" ? tableHeader(token.raw) : undefined;
      this.#growth = { from: this.#stable + at + lastPartAt(token), header };
    }
    return {
      done: this.#done,
      added: this.#done.length - before,
      tail: tailSource
        ? { source: tailSource, tokens: tailTokens, ...(growing ? { growing } : {}) }
        : undefined,
      reset,
    };
  }

  /**
   * The update when the block being written was a list or a table: lexes from its last item
   * (row) on. Undefined when that text is not one such block any more (it ended, or changed
   * kind): then the whole block is lexed again.
   */
  #grow(text: string, growth: { from: number; header: string | undefined }): Split<T> | undefined {
    const header = growth.header ?? "";
    const grown = onlyGrowing(this.#lex(header + text.slice(growth.from)));
    if (
      !grown || grown.at !== 0 || (grown.token.type === "table") !== (growth.header !== undefined)
    ) {
      return undefined;
    }
    this.#growth = { ...growth, from: growth.from + lastPartAt(grown.token) - header.length };
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
        growing: { token: grown.token, at: growth.from - this.#stable },
      },
      reset: false,
    };
  }
}
