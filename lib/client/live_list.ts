/**
 * The list being written, grown in place while it streams. A list is one block however long it
 * gets, and rendering it again whole on every frame costs as much as the list is long (a list
 * of a few hundred items made every frame a long task). The splitter lexes a growing list from
 * its last item on (`blocks.ts`); here the items before the last are rendered once each, as
 * they finish, into the list element already on the page, and only the last item is rendered
 * again on each update. The items go into parts of {@link PART_ITEMS} (one list element each,
 * `.md-list-part` with `content-visibility: auto` in styles.css, an `<ol>` numbered on from the
 * part before), so the browser's layout and paint work on the parts on screen, not on the whole
 * list.
 *
 * Items are rendered one at a time, so a list that turns loose later (a blank line between two
 * items) shows its earlier items tight until it ends: the finished list is rendered again whole
 * (`markdown_dom.ts`).
 */
import type { Token, Tokens } from "marked";
import type { Block } from "./blocks.ts";
import type { Renderer } from "./markdown.ts";

/** Finished items per list element while the list grows. */
export const PART_ITEMS = 100;

export class LiveList {
  readonly #renderer: Renderer;
  /** The list element the items go into now (the last part). */
  #list: HTMLElement;
  /** Finished items in it. */
  #partItems: number;
  /** Finished items in the parts before it. */
  #before = 0;
  /** The number of the first item (an ordered list's `start`). */
  readonly #start: number;
  readonly #ordered: boolean;
  /** Chars of the block's source covered by the finished items on the page. */
  #settled: number;
  /** The last item's element(s), rendered again on each update. */
  #current: Element[];
  /** An item was rendered without a grammar or KaTeX that is on its way. */
  pending = false;
  /** The block's nodes on the page: those it was rendered with, and the parts added since. */
  readonly #nodes: Node[];

  get nodes(): readonly Node[] {
    return this.#nodes;
  }

  /**
   * Takes over the list of a block just rendered whole (`nodes`, from `block.tokens`): its
   * items but the last are finished. Undefined if the block is not a list there.
   */
  static adopt(renderer: Renderer, nodes: readonly Node[], block: Block<Token>) {
    const list = block.tokens.find((t) => t.type !== "space");
    const element = nodes.find((n): n is HTMLElement =>
      n instanceof HTMLElement && (n.tagName === "UL" || n.tagName === "OL")
    );
    if (list?.type !== "list" || !element) return undefined;
    const items = (list as Tokens.List).items;
    const lis = [...element.children].filter((c) => c.tagName === "LI");
    if (lis.length !== items.length || items.length === 0) return undefined;
    let settled = block.source.indexOf(list.raw);
    if (settled < 0) return undefined;
    for (const item of items.slice(0, -1)) settled += item.raw.length;
    const ordered = (list as Tokens.List).ordered;
    return new LiveList(renderer, nodes, element, ordered, settled, lis.slice(-1));
  }

  private constructor(
    renderer: Renderer,
    nodes: readonly Node[],
    list: HTMLElement,
    ordered: boolean,
    settled: number,
    current: Element[],
  ) {
    this.#renderer = renderer;
    this.#nodes = [...nodes];
    this.#list = list;
    this.#ordered = ordered;
    this.#settled = settled;
    this.#current = current;
    this.#partItems = list.children.length - current.length;
    const start = Number(list.getAttribute("start") ?? 1);
    this.#start = ordered && Number.isInteger(start) ? start : 1;
    list.classList.add("md-list-part");
  }

  /**
   * Shows `block` if it is this list grown (the splitter's `growing` list, starting at or before the
   * items on the page); false if not (the block must be rendered again).
   */
  extend(block: Block<Token>): boolean {
    const grown = block.growing;
    if (grown?.token.type !== "list") return false;
    const list = grown.token as unknown as Tokens.List;
    if (list.ordered !== this.#ordered) return false;
    const items = list.items;
    let at = grown.at;
    let i = 0;
    while (i < items.length - 1 && at < this.#settled) at += items[i++]!.raw.length;
    if (at !== this.#settled) return false;
    for (const old of this.#current) old.remove();
    for (; i < items.length - 1; i++) {
      if (this.#partItems >= PART_ITEMS) this.#newPart();
      const lis = this.#render(list, items[i]!);
      this.#list.append(...lis);
      this.#partItems += lis.length;
      this.#settled += items[i]!.raw.length;
    }
    this.#current = this.#render(list, items[items.length - 1]!);
    this.#list.append(...this.#current);
    return true;
  }

  /** Starts the next part: a list element of the same kind after the last, numbered on. */
  #newPart(): void {
    const part = this.#list.ownerDocument.createElement(this.#list.tagName);
    part.className = "md-list-part";
    this.#before += this.#partItems;
    if (this.#ordered) part.setAttribute("start", String(this.#start + this.#before));
    this.#list.after(part);
    this.#nodes.splice(this.#nodes.indexOf(this.#list) + 1, 0, part);
    this.#list = part;
    this.#partItems = 0;
  }

  /** One item, as the `<li>` its list would have. */
  #render(list: Tokens.List, item: Tokens.ListItem): Element[] {
    const token = { ...list, raw: item.raw, items: [item] } as Tokens.List;
    const { nodes, pending } = this.#renderer.renderBlock([token]);
    this.pending ||= pending;
    const element = [...nodes.children].find((n) => n.tagName === "UL" || n.tagName === "OL");
    return element ? [...element.children].filter((c) => c.tagName === "LI") : [];
  }
}
