/**
 * The one logger: one JSON line per event on stderr, so `deno task start | jq` works and tests
 * can silence it. The only module allowed to touch the console.
 */

export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops events below `level`; `"silent"` drops everything. */
export function createLogger(level: Level | "silent"): Logger {
  const threshold = level === "silent" ? Infinity : ORDER[level];
  const emit = (at: Level) => (event: string, fields?: Record<string, unknown>) => {
    if (ORDER[at] < threshold) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: at, event, ...fields });
    // deno-lint-ignore no-console
    console.error(line);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** Plain text for a person at the terminal (start-up banner, fatal configuration errors). */
export function say(text: string): void {
  // deno-lint-ignore no-console
  console.log(text);
}
