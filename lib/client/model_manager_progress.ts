/**
 * A pull's figures for a person, from Ollama's progress lines: bytes of all layers seen so far
 * (each line reports one layer, `digest`, with its own `completed` and `total`), the percent,
 * and the speed averaged over a few seconds so it neither jumps per line nor lags for minutes.
 */
import type { PullLine } from "./model_manager_api.ts";
import { formatBytes } from "./state.ts";

export interface PullFigures {
  /** Ollama's words for the step: `pulling manifest`, `pulling 6a0746a1ec1a`, `verifying…` */
  readonly status: string;
  readonly completed: number;
  /** 0 until a line with a size arrives. */
  readonly total: number;
  /** 0–100, whole; undefined while the size is unknown. */
  readonly percent: number | undefined;
  /** Undefined until enough time has passed to say. */
  readonly bytesPerSecond: number | undefined;
}

/** Speed is the bytes over this window… */
const WINDOW_MS = 5000;
/** …once the samples span at least this long. */
const MIN_SPAN_MS = 200;

export class PullMeter {
  readonly #layers = new Map<string, { completed: number; total: number }>();
  #samples: { at: number; bytes: number }[] = [];
  #figures: PullFigures = {
    status: "starting",
    completed: 0,
    total: 0,
    percent: undefined,
    bytesPerSecond: undefined,
  };

  /** Takes one line, received at `now` (ms), and returns the figures after it. */
  add(line: PullLine, now: number): PullFigures {
    if (typeof line.total === "number" && line.total > 0) {
      this.#layers.set(line.digest ?? "", {
        completed: Math.min(line.completed ?? 0, line.total),
        total: line.total,
      });
    }
    let completed = 0, total = 0;
    for (const layer of this.#layers.values()) {
      completed += layer.completed;
      total += layer.total;
    }
    this.#samples.push({ at: now, bytes: completed });
    while (this.#samples.length > 2 && now - this.#samples[1]!.at >= WINDOW_MS) {
      this.#samples.shift();
    }
    const first = this.#samples[0]!;
    const span = now - first.at;
    this.#figures = {
      status: line.status,
      completed,
      total,
      percent: percentOf(completed, total),
      bytesPerSecond: span >= MIN_SPAN_MS
        ? Math.max(0, (completed - first.bytes) / span * 1000)
        : this.#figures.bytesPerSecond,
    };
    return this.#figures;
  }
}

/** Rounded, but 100 only once every byte is there. */
function percentOf(completed: number, total: number): number | undefined {
  if (total <= 0) return undefined;
  return completed >= total ? 100 : Math.min(99, Math.round((completed / total) * 100));
}

/** `408 MB of 815 MB · 50% · 12.3 MB/s`, leaving out what is not known yet. */
export function describePull(figures: PullFigures): string {
  const parts: string[] = [];
  if (figures.total > 0) {
    const done = figures.completed > 0 ? formatBytes(figures.completed) : "0 B";
    parts.push(`${done} of ${formatBytes(figures.total)}`);
  }
  if (figures.percent !== undefined) parts.push(`${figures.percent}%`);
  if (figures.bytesPerSecond !== undefined) {
    parts.push(`${(figures.bytesPerSecond / 1e6).toFixed(1)} MB/s`);
  }
  return parts.join(" · ");
}
