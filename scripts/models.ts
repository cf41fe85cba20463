/**
 * The built-in engine's model files from the command line: list them, fetch them (a progress
 * bar per model on a terminal, plain lines otherwise), remove them. The folder is
 * `<DATA_DIR>/models` (`DATA_DIR` defaults to `./data`). Exit code 0 when all went well, 1 when
 * something failed, 2 on bad usage, 130 when interrupted.
 *
 * @example
 * ```sh
 * deno task models                      # list
 * deno task models fetch                # the default built-in model
 * deno task models fetch builtin/smollm2-135m
 * deno task models remove smollm2-135m
 * ```
 */

import { resolve } from "node:path";
import { BUILTIN_PREFIX, type FetchProgress, type ModelLibrary } from "../lib/models/library.ts";
import { DEFAULT_BUILTIN_MODEL, describeSource } from "../lib/models/catalogue.ts";
import { createModelLibrary } from "../lib/models/folder.ts";
import { ModelFetchError } from "../lib/models/fetch.ts";
import { formatBytes } from "./pull_models.ts";

export interface ModelsCliOptions {
  readonly library: ModelLibrary;
  readonly dir: string;
  readonly write: (text: string) => void;
  readonly isTty: boolean;
  readonly columns?: number;
  readonly signal?: AbortSignal;
}

const USAGE = `Usage: deno task models [list]
       deno task models fetch [NAME...]
       deno task models remove NAME...

Built-in model files, kept in $DATA_DIR/models (DATA_DIR defaults to ./data). fetch without a
NAME fetches ${DEFAULT_BUILTIN_MODEL}. A NAME may leave out "${BUILTIN_PREFIX}".
`;

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

/** Runs one command; returns the exit code. Fetch failures are reported, never thrown. */
export async function runModels(
  args: readonly string[],
  options: ModelsCliOptions,
): Promise<number> {
  const [command = "list", ...rest] = args;
  const names = rest.map((name) => name.startsWith(BUILTIN_PREFIX) ? name : BUILTIN_PREFIX + name);
  const { write } = options;
  if (command === "-h" || command === "--help" || command === "help") {
    write(USAGE);
    return 0;
  }
  if (command === "list" && names.length === 0) return await list(options);
  if (command === "fetch") return await fetchAll(names, options);
  if (command === "remove" && names.length > 0) {
    let code = 0;
    for (const name of names) {
      try {
        await options.library.remove(name);
        write(`removed ${name}\n`);
      } catch (error) {
        write(`${name}: ${error instanceof Error ? error.message : error}\n`);
        code = 1;
      }
    }
    return code;
  }
  write(USAGE);
  return 2;
}

async function list({ library, dir, write }: ModelsCliOptions): Promise<number> {
  const models = await library.list();
  write(`Models folder: ${dir}\n`);
  const rows = models.map((m) => [
    m.name,
    m.title,
    formatBytes(m.size),
    m.path ? "downloaded" : "not downloaded",
    m.path ?? "",
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), 4));
  for (const row of rows) {
    write(`${row.map((cell, i) => i < 4 ? cell.padEnd(widths[i]!) : cell).join("  ").trimEnd()}\n`);
  }
  if (models.length === 0) write("(none)\n");
  return 0;
}

async function fetchAll(names: string[], options: ModelsCliOptions): Promise<number> {
  const { write, signal } = options;
  const known = new Set((await options.library.list()).map((m) => m.name));
  let failed = 0;
  for (const name of names.length > 0 ? names : [DEFAULT_BUILTIN_MODEL]) {
    if (signal?.aborted) {
      write(`${name}  not fetched: interrupted\n`);
      failed++;
      continue;
    }
    if (!known.has(name)) {
      write(`${name}  failed: unknown model (see deno task models)\n`);
      failed++;
      continue;
    }
    if (!await fetchOne(name, options)) failed++;
  }
  if (signal?.aborted) return 130;
  return failed > 0 ? 1 : 0;
}

async function fetchOne(name: string, options: ModelsCliOptions): Promise<boolean> {
  const { write, isTty } = options;
  const columns = Math.max(40, options.columns ?? 80);
  const started = performance.now();
  let last: FetchProgress | undefined;
  let lastDraw = 0;
  let lastKey = "";
  const line = (p: FetchProgress, withBar: boolean) => {
    if (p.total === 0) return `${name}  ${p.status} via ${p.source}`;
    const fraction = p.completed / p.total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = withBar ? `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ` : "";
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    return `${name}  ${bar}${percent}  ${formatBytes(p.completed)}/${formatBytes(p.total)}  ` +
      p.status;
  };
  const fit = (text: string) => text.length < columns ? text : `${text.slice(0, columns - 2)}…`;
  const clear = isTty ? "\r\x1b[2K" : "";
  const onProgress = (p: FetchProgress) => {
    last = p;
    if (isTty) {
      const now = performance.now();
      if (now - lastDraw < REDRAW_MS && p.status === "downloading" && p.total > 0) return;
      lastDraw = now;
      const full = line(p, true);
      write(`${clear}${fit(full.length < columns ? full : line(p, false))}`);
      return;
    }
    // Plain output is for logs: a line per status or source, and one per tenth; the closing
    // line says "done" better.
    if (p.status === "done") return;
    const key = `${p.status} ${p.source} ${
      p.total > 0 ? Math.floor(p.completed * 10 / p.total) : -1
    }`;
    if (key === lastKey) return;
    lastKey = key;
    write(`${line(p, false)}\n`);
  };
  try {
    const path = await options.library.ensure(name, {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const how = last ? `fetched from ${last.source} in ${seconds} s` : "already present";
    write(`${clear}${name}  ${how}: ${path}\n`);
    return true;
  } catch (error) {
    if (options.signal?.aborted) {
      write(`${clear}${name}  failed: interrupted\n`);
    } else if (error instanceof ModelFetchError) {
      write(`${clear}${name}  failed: every source failed\n`);
      for (const failure of error.failures) {
        write(`  ${describeSource(failure.source)}: ${failure.reason}\n`);
      }
    } else {
      write(`${clear}${name}  failed: ${error instanceof Error ? error.message : error}\n`);
    }
    return false;
  }
}

function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function main(): Promise<number> {
  const dir = resolve(Deno.env.get("DATA_DIR")?.trim() || "./data", "models");
  const isTty = Deno.stdout.isTerminal();
  let columns = 80;
  try {
    if (isTty) columns = Deno.consoleSize().columns;
  } catch {
    // No console size (some CI pseudo-terminals): 80 columns is a safe guess.
  }
  // A source that fails is worth a line even when a later one succeeds.
  const library = createModelLibrary({
    dir,
    fetchOptions: {
      onSourceFailed: (source, reason) => {
        writeStdout(`${isTty ? "\r\x1b[2K" : ""}  ${describeSource(source)} failed: ${reason}\n`);
      },
    },
  });

  const controller = new AbortController();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    return await runModels(Deno.args, {
      library,
      dir,
      write: writeStdout,
      isTty,
      columns,
      signal: controller.signal,
    });
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main());
}
