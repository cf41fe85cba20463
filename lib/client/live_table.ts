/**
 * The table being written, grown in place while it streams, as `live_list.ts` grows a list: the
 * splitter lexes a growing table from its last row on (under its header lines, `blocks.ts`);
 * here the rows before the last are rendered once each, as they finish, into the table already
 * on the page, and only the last row is rendered again on each update. The rows go into bodies
 * of {@link PART_ROWS} (`<tbody>` each). A row renders the same alone as in its table, so once
 * the table ends it stays as it is, its last row rendered once more (`finish`).
 */
import type { Token, Tokens } from "marked";
import type { Block } from "./blocks.ts";
import type { Renderer } from "./markdown.ts";

/** Finished rows per `<tbody>` while the table grows. */
export const PART_ROWS = 100;

/** The length of the line at `at` in `text`, its newline included. */
function lineLength(text: string, at: number): number {
  const newline = text.indexOf("\n", at);
  return newline < 0 ? text.length - at : newline + 1 - at;
}

export class LiveTable {
  readonly #renderer: Renderer;
  readonly #table: HTMLTableElement;
  /** The body the rows go into now, and how many finished rows it holds. */
  #body: HTMLTableSectionElement;
  #bodyRows: number;
  /** Chars of the block's source covered by the finished rows on the page, and how many. */
  #settled: number;
  #settledRows: number;
  /** The last row's element, rendered again on each update. */
  #current: Element[];
  /** A row was rendered without KaTeX, which is on its way. */
  pending = false;
  readonly nodes: readonly Node[];

  /**
   * Takes over the table of a block just rendered whole (`nodes`, from `block.tokens`): its
   * rows but the last are finished. Undefined if the block is not a table with rows there.
   */
  static adopt(renderer: Renderer, nodes: readonly Node[], block: Block<Token>) {
    const token = block.tokens.find((t) => t.type !== "space");
    const table = nodes.find((n): n is HTMLTableElement => n instanceof HTMLTableElement);
    const body = table?.tBodies[0];
    if (token?.type !== "table" || !table || !body) return undefined;
    const rows = [...body.rows];
    if (rows.length === 0 || rows.length !== (token as Tokens.Table).rows.length) return undefined;
    const start = block.source.indexOf(token.raw);
    if (start < 0) return undefined;
    const raw = token.raw.endsWith("\n") ? token.raw.slice(0, -1) : token.raw;
    const settled = start + raw.lastIndexOf("\n") + 1;
    return new LiveTable(renderer, nodes, table, body, settled, rows.slice(-1));
  }

  private constructor(
    renderer: Renderer,
    nodes: readonly Node[],
    table: HTMLTableElement,
    body: HTMLTableSectionElement,
    settled: number,
    current: Element[],
  ) {
    this.#renderer = renderer;
    this.nodes = nodes;
    this.#table = table;
    this.#body = body;
    this.#bodyRows = body.rows.length - current.length;
    this.#settledRows = this.#bodyRows;
    this.#settled = settled;
    this.#current = current;
  }

  /**
   * Shows `block` if it is this table grown (the splitter's `growing` table, its rows starting
   * at or before those on the page); false if not (the block must be rendered again).
   */
  extend(block: Block<Token>): boolean {
    const grown = block.growing;
    if (grown?.token.type !== "table") return false;
    const table = grown.token as unknown as Tokens.Table;
    const rows = table.rows;
    let at = grown.at;
    let i = 0;
    while (i < rows.length - 1 && at < this.#settled) {
      at += lineLength(block.source, at);
      i++;
    }
    if (at !== this.#settled || rows.length === 0) return false;
    for (const old of this.#current) old.remove();
    for (; i < rows.length - 1; i++) {
      if (this.#bodyRows >= PART_ROWS) this.#newBody();
      const tr = this.#render(table, rows[i]!);
      this.#body.append(...tr);
      this.#bodyRows += tr.length;
      this.#settledRows++;
      this.#settled += lineLength(block.source, this.#settled);
    }
    this.#current = this.#render(table, rows[rows.length - 1]!);
    this.#body.append(...this.#current);
    return true;
  }

  /**
   * Keeps the table on the page for `block`, the same table finished: the rows after the
   * finished ones (the last shown, which may have grown, and any that came with the end) are
   * rendered in its place. False if `block` is not the table shown (fewer rows).
   */
  finish(block: Block<Token>): boolean {
    const token = block.tokens.find((t) => t.type !== "space");
    if (token?.type !== "table" || this.#current.length !== 1) return false;
    const table = token as Tokens.Table;
    if (table.rows.length <= this.#settledRows) return false;
    const rest = table.rows.slice(this.#settledRows).flatMap((row) => this.#render(table, row));
    this.#current[0]!.replaceWith(...rest);
    this.#current = rest;
    return true;
  }

  #newBody(): void {
    this.#body = this.#table.ownerDocument.createElement("tbody");
    this.#table.append(this.#body);
    this.#bodyRows = 0;
  }

  /** One row, as the `<tr>` its table would have. */
  #render(table: Tokens.Table, row: Tokens.TableCell[]): Element[] {
    const token = { ...table, rows: [row] } as Tokens.Table;
    const { nodes, pending } = this.#renderer.renderBlock([token]);
    this.pending ||= pending;
    const tr = nodes.querySelector("tbody > tr");
    return tr ? [tr] : [];
  }
}
