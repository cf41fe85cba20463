/**
 * Pulls models into Ollama, one after another, with a progress bar per model; the successor of
 * the proof of concept's `pull-all-models.sh`.
 *
 * Models come from the arguments, else `PULL_MODELS` (comma-separated), else `OLLAMA_MODEL`
 * (default `llama3.2`); Ollama is found through `OLLAMA_HOST`. Exit code 0 when every pull
 * succeeded, 1 when one failed, 2 on bad usage, 130 when interrupted.
 *
 * @example
 * ```sh
 * deno task pull-models llama3.2 qwen2.5:0.5b
 * ```
 */

import { Ollama } from "ollama";
import { ollamaUrl } from "../lib/config.ts";

export interface PullOptions {
  /** Ollama's base URL, e.g. `http://127.0.0.1:11434`. */
  host: string;
  models: string[];
  write: (text: string) => void;
  /** Redraws one line per model in place; otherwise writes a plain line per change. */
  isTty: boolean;
  signal?: AbortSignal;
  /** Terminal width: a redrawn line must not wrap, or `\r` would only clear its last row. */
  columns?: number;
}

export interface PullResult {
  model: string;
  ok: boolean;
  error?: string;
}

const DEFAULT_MODEL = "llama3.2";
const BAR_WIDTH = 24;
/** The TTY line is redrawn at most this often; Ollama reports every ~60 ms per layer. */
const REDRAW_MS = 100;
/** Speed is averaged over this window so it neither jumps per chunk nor lags for minutes. */
const SPEED_WINDOW_MS = 5000;

/** Pulls each model in turn; never throws for a failed pull, it reports it in the result. */
export async function pullModels(options: PullOptions): Promise<PullResult[]> {
  const results: PullResult[] = [];
  for (const model of options.models) {
    if (options.signal?.aborted) {
      results.push({ model, ok: false, error: "not pulled: interrupted" });
      continue;
    }
    results.push(await pullOne(model, options));
  }
  return results;
}

async function pullOne(model: string, options: PullOptions): Promise<PullResult> {
  const { write, isTty, signal } = options;
  const columns = Math.max(40, options.columns ?? 80);
  // The client only lets a stream be aborted once its headers have arrived; a fetch that also
  // honours our signal cancels a pull at any point, waiting for Ollama or reading its lines.
  const client = new Ollama({
    host: options.host,
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        signal: signal && init?.signal
          ? AbortSignal.any([signal, init.signal])
          : signal ?? init?.signal ?? null,
      }),
  });
  const progress = new Progress();
  let lastStatus = "";
  let lastDecile = -1;
  let lastDraw = 0;

  // A narrow terminal loses the bar before it loses the figures.
  const ttyLine = (status: string) => {
    const line = progress.line(model, status, true);
    return fit(line.length < columns ? line : progress.line(model, status, false), columns);
  };
  const draw = (status: string) => {
    const now = performance.now();
    const changed = status !== lastStatus;
    lastStatus = status;
    if (isTty) {
      if (!changed && now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      write(`\r\x1b[2K${ttyLine(status)}`);
      return;
    }
    const decile = progress.total > 0 ? Math.floor(progress.fraction() * 10) : -1;
    if (!changed && decile <= lastDecile) return;
    lastDecile = Math.max(lastDecile, decile);
    write(`${progress.line(model, status, false)}\n`);
  };
  // Ends the model's line: the TTY line is overwritten a last time and kept.
  const finish = (text: string) => {
    write(isTty ? `\r\x1b[2K${fit(text, columns)}\n` : `${text}\n`);
  };

  try {
    draw("connecting");
    const stream = await client.pull({ model, stream: true });
    for await (const part of stream) {
      progress.update(part.digest, part.total, part.completed);
      // The final line is written once, below, whichever way the stream ends.
      if (part.status !== "success") draw(part.status);
    }
    progress.done = true;
    finish(isTty ? ttyLine("success") : progress.line(model, "success", false));
    return { model, ok: true };
  } catch (error) {
    const message = signal?.aborted ? "interrupted" : describe(error, options.host);
    finish(`${model}  failed: ${message}`);
    return { model, ok: false, error: message };
  }
}

function describe(error: unknown, host: string): string {
  if (error instanceof TypeError) {
    // "fetch failed" alone does not say whether the name, the port or TLS is wrong.
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `cannot reach Ollama at ${host}: ${error.message}${cause}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Bytes over every layer seen so far; a model's total grows as Ollama announces layers. */
class Progress {
  #layers = new Map<string, { total: number; completed: number }>();
  #samples: { at: number; bytes: number }[] = [];
  total = 0;
  completed = 0;
  /** Set on success, so a model whose layers were all present already still reads 100%. */
  done = false;

  update(digest: string | undefined, total: number | undefined, completed: number | undefined) {
    if (!digest || !total) return;
    this.#layers.set(digest, { total, completed: Math.min(completed ?? 0, total) });
    this.total = 0;
    this.completed = 0;
    for (const layer of this.#layers.values()) {
      this.total += layer.total;
      this.completed += layer.completed;
    }
    const at = performance.now();
    this.#samples.push({ at, bytes: this.completed });
    while (this.#samples.length > 2 && at - this.#samples[0]!.at > SPEED_WINDOW_MS) {
      this.#samples.shift();
    }
  }

  fraction(): number {
    if (this.done) return 1;
    return this.total > 0 ? this.completed / this.total : 0;
  }

  /** Bytes per second over the window; 0 until there are two samples apart in time. */
  speed(): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < 200) return 0;
    return Math.max(0, (last.bytes - first.bytes) / ((last.at - first.at) / 1000));
  }

  line(model: string, status: string, withBar: boolean): string {
    const fraction = this.fraction();
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = withBar ? `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ` : "";
    const speed = this.speed();
    const bytes = this.total > 0
      ? `  ${formatBytes(this.completed)}/${formatBytes(this.total)}` +
        (speed > 0 ? `  ${formatBytes(speed)}/s` : "")
      : "";
    return `${model}  ${bar}${percent}${bytes}  ${status}`;
  }
}

export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function fit(text: string, columns: number): string {
  return text.length < columns ? text : `${text.slice(0, columns - 2)}…`;
}

/** Which models to pull: arguments first, then `PULL_MODELS`, then `OLLAMA_MODEL`. */
export function modelsToPull(args: string[], env: (name: string) => string | undefined): string[] {
  const split = (value: string | undefined) =>
    (value ?? "").split(",").map((model) => model.trim()).filter((model) => model !== "");
  const models = args.length > 0
    ? args.flatMap(split)
    : split(env("PULL_MODELS")).length > 0
    ? split(env("PULL_MODELS"))
    : split(env("OLLAMA_MODEL") ?? DEFAULT_MODEL);
  return [...new Set(models.length > 0 ? models : [DEFAULT_MODEL])];
}

function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function main(): Promise<number> {
  const args = Deno.args;
  if (args.includes("-h") || args.includes("--help")) {
    writeStdout(
      "Usage: deno task pull-models [MODEL...]\n\n" +
        "Pulls each MODEL into Ollama; without one, the comma-separated PULL_MODELS,\n" +
        `else OLLAMA_MODEL (default ${DEFAULT_MODEL}). Ollama is reached at OLLAMA_HOST.\n`,
    );
    return 0;
  }
  let host: string;
  try {
    host = ollamaUrl(Deno.env.get("OLLAMA_HOST") ?? "");
  } catch (error) {
    writeStdout(`${error instanceof Error ? error.message : error}\n`);
    return 2;
  }
  const models = modelsToPull(args, (name) => Deno.env.get(name));
  const isTty = Deno.stdout.isTerminal();
  let columns = 80;
  try {
    if (isTty) columns = Deno.consoleSize().columns;
  } catch {
    // No console size (e.g. some CI pseudo-terminals): 80 columns is a safe guess.
  }

  const controller = new AbortController();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    // A second Ctrl+C means the user does not want to wait for the clean stop.
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);

  writeStdout(`Pulling ${models.join(", ")} into Ollama at ${host}\n`);
  const results = await pullModels({
    host,
    models,
    write: writeStdout,
    isTty,
    signal: controller.signal,
    columns,
  });
  for (const signal of signals) Deno.removeSignalListener(signal, onSignal);

  const failed = results.filter((result) => !result.ok);
  writeStdout(`\nPulled ${results.length - failed.length} of ${results.length} model(s).\n`);
  for (const result of failed) writeStdout(`  failed: ${result.model}: ${result.error}\n`);
  if (controller.signal.aborted) return 130;
  return failed.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}
