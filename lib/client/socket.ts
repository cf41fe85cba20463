/**
 * A WebSocket to `/ws` that comes back by itself: on close it retries with exponential backoff
 * and jitter (250 ms doubling up to 5 s, reset once a connection opens), and at once when the
 * browser says it is `online` again. Frames are checked with `parseServerFrame`; anything else
 * is ignored. Browser only: construct it inside an effect.
 */
import { type ClientMessage, parseServerFrame, type ServerFrame } from "../protocol.ts";

export type SocketStatus = "connecting" | "connected" | "reconnecting";

export interface SocketEvents {
  onStatus?(status: SocketStatus, retryInMs?: number): void;
  onOpen?(): void;
  onFrame?(frame: ServerFrame): void;
  onClose?(code: number, reason: string): void;
}

export interface SocketOptions {
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly random?: () => number;
  readonly WebSocket?: typeof WebSocket;
}

/** The wait before reconnect attempt `attempt` (0-based): half fixed, half random. */
export function backoffDelay(
  attempt: number,
  initialMs = 250,
  maxMs = 5000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `ws(s)://<this host>/ws`. */
export function socketUrl(loc: Pick<Location, "protocol" | "host"> = location): string {
  return (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/ws";
}

export class ChatSocket {
  #url: string;
  #events: SocketEvents;
  #options: SocketOptions;
  #ws: WebSocket | undefined;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = true;
  #onOnline = () => this.reconnectNow();

  constructor(url: string, events: SocketEvents, options: SocketOptions = {}) {
    this.#url = url;
    this.#events = events;
    this.#options = options;
  }

  get isOpen(): boolean {
    return this.#ws?.readyState === 1;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    globalThis.addEventListener?.("online", this.#onOnline);
    this.#connect("connecting");
  }

  /** Closes for good (component unmount). */
  stop(): void {
    this.#stopped = true;
    globalThis.removeEventListener?.("online", this.#onOnline);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      ws.onopen =
        ws.onclose =
        ws.onerror =
        ws.onmessage =
          null;
      ws.close(1000);
    }
  }

  /** Skips the backoff wait, e.g. when the network is back. */
  reconnectNow(): void {
    if (this.#stopped || this.isOpen || this.#ws?.readyState === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#connect("reconnecting");
  }

  /** Sends a frame; false when the socket is not open. */
  send(message: ClientMessage): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  #connect(status: SocketStatus): void {
    this.#events.onStatus?.(status);
    const Impl = this.#options.WebSocket ?? WebSocket;
    let ws: WebSocket;
    try {
      ws = new Impl(this.#url);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#events.onStatus?.("connected");
      this.#events.onOpen?.();
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      let raw: unknown;
      try {
        raw = JSON.parse(event.data);
      } catch {
        return;
      }
      const frame = parseServerFrame(raw);
      if (frame) this.#events.onFrame?.(frame);
    };
    // `error` is always followed by `close`; the retry happens there.
    ws.onerror = () => {};
    ws.onclose = (event: CloseEvent) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      this.#events.onClose?.(event.code, event.reason);
      this.#scheduleRetry();
    };
  }

  #scheduleRetry(): void {
    if (this.#stopped) return;
    const delay = backoffDelay(
      this.#attempt++,
      this.#options.initialDelayMs,
      this.#options.maxDelayMs,
      this.#options.random,
    );
    this.#events.onStatus?.("reconnecting", delay);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect("reconnecting");
    }, delay);
  }
}
