/**
 * Follows the newest text while an answer streams, unless the person scrolled up to read: then
 * the page stays exactly where it is (nothing moves under their eyes) and `away` turns true, for
 * the "Jump to latest" button.
 */
import { signal } from "@preact/signals";

/** Pixels from the bottom that still count as "at the bottom". */
const BOTTOM_SLACK = 32;

export class ScrollFollower {
  /** The person is reading higher up while there is more below. */
  readonly away = signal(false);
  #stuck = true;
  #lastTop = 0;
  #scroller: HTMLElement | undefined;

  /** Starts following `log`'s growth inside `scroller`; returns the function that stops it. */
  attach(scroller: HTMLElement, log: HTMLElement): () => void {
    this.#scroller = scroller;
    if (typeof ResizeObserver === "undefined") return () => {};
    const observer = new ResizeObserver(() => {
      if (this.#stuck) scroller.scrollTop = scroller.scrollHeight;
      else this.away.value = !this.#atBottom(scroller);
    });
    observer.observe(log);
    return () => {
      observer.disconnect();
      this.#scroller = undefined;
    };
  }

  /**
   * The scroller's `scroll` handler. Only the person moving up unsticks: a scroll event that
   * arrives after the text grew again (ours, late) must not count as "scrolled away".
   */
  readonly onScroll = (): void => {
    const el = this.#scroller;
    if (!el) return;
    const top = el.scrollTop;
    if (this.#atBottom(el)) this.#stuck = true;
    else if (top < this.#lastTop - 1) this.#stuck = false;
    this.#lastTop = top;
    this.away.value = !this.#stuck;
  };

  /** Follow the newest text from now on (a new chat, a sent message). */
  stick(): void {
    this.#stuck = true;
    this.away.value = false;
  }

  /** Stop following (the page shows a message found by search). */
  release(): void {
    this.#stuck = false;
  }

  /** Scrolls to the newest text and follows it. */
  readonly toEnd = (): void => {
    this.stick();
    const el = this.#scroller;
    if (el) el.scrollTop = el.scrollHeight;
  };

  #atBottom(el: HTMLElement): boolean {
    return el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
  }
}
