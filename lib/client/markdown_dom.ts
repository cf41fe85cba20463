/**
 * Keeps a container's DOM in step with a streaming Markdown answer: each finished block is
 * rendered once and its nodes stay as they are (same elements, so a selection or a Copy button
 * in them survives); only the block being written is rendered again, at most once per update,
 * except a code block, a list or a table being written, which grow in place (`live_code.ts`,
 * `live_list.ts`, `live_table.ts`) and are rendered whole once they are finished.
 *
 * Blocks go into chunks of {@link CHUNK_BLOCKS} (`.md-chunk`, `content-visibility: auto` in the
 * stylesheet), so the browser's layout and paint skip the chunks out of view and the cost of a
 * frame does not grow with the answer either.
 *
 * Light on purpose (it is in the page's first bundle): the renderer arrives later
 * (`loadRenderer`), and until then the answer shows as plain text.
 */
import type { Token } from "marked";
import type { Block, BlockSplitter } from "./blocks.ts";
// Types only: the blocks that grow in place come with the renderer's chunk, not the first bundle.
import type { LiveCode } from "./live_code.ts";
import type { LiveList } from "./live_list.ts";
import type { LiveTable } from "./live_table.ts";
import { loadedRenderer, loadRenderer, type Renderer } from "./markdown.ts";

/** Finished blocks per chunk: large enough to be few, small enough to be skipped often. */
const CHUNK_BLOCKS = 32;

interface Piece {
  /** Its `tokens` are read only to render it whole (a growing list's or table's are lexed then). */
  readonly block: Block<Token>;
  nodes: Node[];
  /** Rendered without a grammar or KaTeX still loading. */
  pending: boolean;
}

export class StreamingMarkdown {
  readonly #root: HTMLElement;
  #source = "";
  #plain: HTMLElement | undefined;
  #splitter: BlockSplitter<Token> | undefined;
  #done: Piece[] = [];
  #tail: Piece | undefined;
  /** The tail, when it is a code block, a list or a table growing in place. */
  #live: Live | undefined;
  #unsubscribe: (() => void) | undefined;
  #disposed = false;
  /** Rendering this answer threw once: it stays plain text. */
  #failed = false;
  /** The chunk new blocks go into, and how many finished blocks it holds. */
  #chunk: HTMLElement | undefined;
  #chunkBlocks = 0;

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  /** Shows `source`, the whole answer so far. */
  update(source: string): void {
    this.#source = source;
    if (this.#disposed) return;
    const renderer = loadedRenderer();
    if (!renderer || this.#failed) {
      this.#showPlain(source);
      if (this.#failed) return;
      loadRenderer().then((loaded) => loaded && this.update(this.#source));
      return;
    }
    try {
      this.#render(renderer, source);
    } catch {
      // A renderer bug must not take the page down: this answer falls back to plain text.
      this.#splitter = undefined;
      this.#done = [];
      this.#tail = undefined;
      this.#live = undefined;
      this.#chunk = undefined;
      this.#chunkBlocks = 0;
      this.#root.replaceChildren();
      this.#plain = undefined;
      this.#showPlain(source);
      this.#failed = true;
    }
  }

  /** Stops listening for grammars and KaTeX; the nodes stay. */
  dispose(): void {
    this.#disposed = true;
    this.#unsubscribe?.();
  }

  #showPlain(source: string): void {
    if (!this.#plain) {
      this.#plain = this.#root.ownerDocument.createElement("p");
      this.#plain.className = "md-plain";
      this.#root.append(this.#plain);
    }
    this.#plain.textContent = source;
  }

  #render(renderer: Renderer, source: string): void {
    this.#plain?.remove();
    this.#plain = undefined;
    this.#unsubscribe ??= renderer.onAssetsLoaded(() => this.#refreshPending(renderer));
    const splitter = this.#splitter ??= renderer.createSplitter();
    const split = splitter.update(source);
    if (split.reset) {
      this.#root.replaceChildren();
      this.#done = [];
      this.#tail = undefined;
      this.#live = undefined;
      this.#chunk = undefined;
      this.#chunkBlocks = 0;
    }
    for (let i = split.done.length - split.added; i < split.done.length; i++) {
      const block = split.done[i]!;
      const tail = this.#tail;
      const live = this.#live;
      this.#tail = undefined;
      this.#live = undefined;
      const kept = live
        ? live instanceof renderer.LiveTable && live.finish(block)
        : tail?.block.source === block.source;
      if (tail && kept && !tail.pending) {
        // The block being written is finished as last rendered: its nodes stay. (A list or a
        // code block grown in place is rendered again whole: its parts were rendered apart.)
        this.#done.push({ ...tail, block, nodes: live ? [...live.nodes] : tail.nodes });
        this.#chunkBlocks++;
        continue;
      }
      if (tail) removeNodes(tail.nodes);
      this.#done.push(this.#append(renderer, block));
      this.#chunkBlocks++;
    }
    const tail = split.tail;
    if (!tail) {
      if (this.#tail) removeNodes(this.#tail.nodes);
      this.#tail = undefined;
      this.#live = undefined;
    } else if (!this.#tail || this.#tail.block.source !== tail.source) {
      if (this.#tail && this.#live?.extend(tail)) {
        this.#tail = { ...this.#tail, block: tail, nodes: [...this.#live.nodes] };
        this.#tail.pending ||= this.#live.pending;
        return;
      }
      if (this.#tail) removeNodes(this.#tail.nodes);
      this.#tail = this.#append(renderer, tail);
      this.#live = live(renderer, this.#tail);
    }
  }

  #append(renderer: Renderer, block: Block<Token>): Piece {
    const { nodes, pending } = renderer.renderBlock(block.tokens);
    const list = [...nodes.childNodes];
    this.#openChunk().append(nodes);
    return { block, nodes: list, pending };
  }

  /** The chunk to append to: a new one once the last holds enough finished blocks. */
  #openChunk(): HTMLElement {
    if (!this.#chunk || this.#chunkBlocks >= CHUNK_BLOCKS) {
      this.#chunk = this.#root.ownerDocument.createElement("div");
      this.#chunk.className = "md-chunk";
      this.#root.append(this.#chunk);
      this.#chunkBlocks = 0;
    }
    return this.#chunk;
  }

  /** A grammar or KaTeX arrived: render again the blocks that waited for it, in place. */
  #refreshPending(renderer: Renderer): void {
    if (this.#disposed) return;
    for (const piece of [...this.#done, ...(this.#tail ? [this.#tail] : [])]) {
      if (!piece.pending) continue;
      if (piece === this.#tail && this.#live instanceof renderer.LiveCode) {
        this.#live.refresh();
        piece.pending = this.#live.pending;
        continue;
      }
      const anchor = piece.nodes[0];
      if (!anchor?.parentNode) continue;
      const { nodes, pending } = renderer.renderBlock(piece.block.tokens);
      const list = [...nodes.childNodes];
      anchor.parentNode.insertBefore(nodes, anchor);
      removeNodes(piece.nodes);
      piece.nodes = list;
      piece.pending = pending;
      if (piece === this.#tail && this.#live) this.#live = live(renderer, piece);
    }
  }
}

type Live = LiveCode | LiveList | LiveTable;

/** The tail just rendered whole, taken over to grow in place if it is a code block, a list or a table. */
function live(renderer: Renderer, tail: Piece): Live | undefined {
  const { block, nodes } = tail;
  let grown: Live | undefined;
  const { fencedCode, LiveCode, LiveList, LiveTable } = renderer;
  if (block.growing?.token.type === "list") grown = LiveList.adopt(renderer, nodes, block);
  else if (block.growing?.token.type === "table") grown = LiveTable.adopt(renderer, nodes, block);
  else {
    const code = fencedCode(block.tokens);
    grown = code && LiveCode.adopt(renderer, nodes, code);
  }
  if (grown) tail.pending ||= grown.pending;
  return grown;
}

function removeNodes(nodes: readonly Node[]): void {
  for (const node of nodes) node.parentNode?.removeChild(node);
}
