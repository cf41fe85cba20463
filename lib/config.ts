/**
 * Configuration: the environment (and `.env`, through Deno's `--env-file`) read once into a
 * frozen object. Every variable is listed, with its default and meaning, in `.env.example`.
 * An invalid value stops start-up with a {@link ConfigError} naming the variable and the value.
 *
 * @example
 * ```ts
 * const config = parseConfig({ PORT: "0", OLLAMA_HOST: "localhost:11434" });
 * config.ollamaUrl; // "http://localhost:11434"
 * ```
 */
import type { GenerationOptions } from "./backends/backend.ts";
import type { SettingsLimits } from "./settings.ts";

export interface Limits {
  /** Largest WebSocket message accepted, in bytes; a bigger one closes the socket with 1009. */
  readonly maxMessageBytes: number;
  /** Open sockets in total; more are refused with 503 before the upgrade. */
  readonly maxConnections: number;
  /** Open sockets per client address; more are refused with 429 before the upgrade. */
  readonly maxConnectionsPerClient: number;
  /** Answers streaming at once on one socket. */
  readonly maxAnswersPerConnection: number;
  /** Frames a socket may send per second (a bucket of this size, refilled each second). */
  readonly maxFramesPerSecond: number;
  /** Unsent bytes queued for one socket before its deltas are merged instead of queued. */
  readonly sendBufferBytes: number;
  /** Milliseconds a socket may stay over `sendBufferBytes` before it is closed with 1013. */
  readonly slowReaderTimeoutMs: number;
  /** Seconds between the server's pings; a peer that misses a pong for as long is dropped. */
  readonly idleTimeoutSeconds: number;
  /** Largest JSON body accepted by the HTTP API, in bytes. */
  readonly maxBodyBytes: number;
}

/** The built-in engine (llama.cpp); absent when `BUILTIN_MODELS=off`. */
export interface BuiltinConfig {
  /** The built-in model selected when Ollama is unreachable. */
  readonly defaultModel: string;
  /** Inference threads; 0 means one per core. */
  readonly threads: number;
  /** Context window, in tokens, for built-in models. */
  readonly contextSize: number;
  /** Milliseconds a loaded built-in model may sit unused before it is unloaded. */
  readonly idleUnloadMs: number;
  /** Answers that may wait for the built-in engine at once; more are refused as busy. */
  readonly maxQueue: number;
}

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Ollama's base URL, normalised from `OLLAMA_HOST`. */
  readonly ollamaUrl: string;
  readonly defaultModel: string;
  /** Milliseconds to wait for Ollama before giving up: for a reply, and between chunks. */
  readonly ollamaTimeoutMs: number;
  readonly systemPrompt: string;
  readonly generation: GenerationOptions;
  /** Origins, beside the app's own, whose pages may open the WebSocket and call the API. */
  readonly allowedOrigins: readonly string[];
  /** Host names served beside loopback ones and IP literals; `["*"]` accepts any. */
  readonly allowedHosts: readonly string[];
  readonly limits: Limits;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** Where the app keeps its files (built-in models under `models/`, the SQLite database). */
  readonly dataDir: string;
  /** PostgreSQL for conversations; the SQLite file in `dataDir` when absent. */
  readonly databaseUrl: string | undefined;
  /** Milliseconds between writes of a streaming answer to the database. */
  readonly flushIntervalMs: number;
  /** Milliseconds a deleted conversation can be restored before it is removed for good. */
  readonly undoWindowMs: number;
  /** Largest import accepted, in bytes. */
  readonly maxImportBytes: number;
  readonly builtin: BuiltinConfig | undefined;
  /** Limits of per-conversation settings and presets (docs/settings.md). */
  readonly settings: SettingsLimits;
  /** Milliseconds between checks of whether Ollama has appeared or gone away. */
  readonly ollamaProbeMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(variable: string, value: string, expected: string) {
    super(`${variable}=${JSON.stringify(value)} is invalid: expected ${expected}.`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the process environment once. */
export function loadConfig(): Config {
  return parseConfig(Deno.env.toObject());
}

/** Resolves a configuration from an environment record; throws {@link ConfigError}. */
export function parseConfig(env: Env): Config {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      throw new ConfigError(name, raw, `a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const num = (name: string, min: number, max: number): number | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new ConfigError(name, raw, `a number from ${min} to ${max}`);
    }
    return value;
  };
  const optionalInt = (name: string, min: number, max: number): number | undefined =>
    read(name) === undefined ? undefined : int(name, 0, min, max);
  const list = (name: string): string[] =>
    (read(name) ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");

  const logLevel = read("LOG_LEVEL") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", logLevel, "one of debug, info, warn, error");
  }
  const allowedOrigins = list("ALLOWED_ORIGINS");
  for (const origin of allowedOrigins) {
    if (origin !== "*" && !isOrigin(origin)) {
      throw new ConfigError("ALLOWED_ORIGINS", origin, "origins such as https://chat.example.org");
    }
  }
  const hostVariable = read("HOST") !== undefined ? "HOST" : "FASTAPI_HOST";
  const portVariable = read("PORT") !== undefined ? "PORT" : "FASTAPI_PORT";
  const host = read(hostVariable) ?? "127.0.0.1";
  if (!/^[\w.:\-\[\]]+$/.test(host)) throw new ConfigError(hostVariable, host, "a host name or IP");

  const generation: { -readonly [K in keyof GenerationOptions]: GenerationOptions[K] } = {};
  const temperature = num("MODEL_TEMPERATURE", 0, 2);
  const topP = num("MODEL_TOP_P", 0, 1);
  const topK = optionalInt("MODEL_TOP_K", 1, 1000);
  const numCtx = optionalInt("MODEL_NUM_CTX", 256, 1_048_576);
  const numPredict = optionalInt("MODEL_NUM_PREDICT", 1, 1_048_576);
  if (temperature !== undefined) generation.temperature = temperature;
  if (topP !== undefined) generation.top_p = topP;
  if (topK !== undefined) generation.top_k = topK;
  if (numCtx !== undefined) generation.num_ctx = numCtx;
  if (numPredict !== undefined) generation.num_predict = numPredict;

  const builtinSwitch = (read("BUILTIN_MODELS") ?? "on").toLowerCase();
  if (!["on", "off"].includes(builtinSwitch)) {
    throw new ConfigError("BUILTIN_MODELS", builtinSwitch, "on or off");
  }
  const builtinModel = read("BUILTIN_MODEL") ?? "builtin/smollm2-135m";
  if (!builtinModel.startsWith("builtin/")) {
    throw new ConfigError("BUILTIN_MODEL", builtinModel, "a built-in model name, builtin/…");
  }
  const builtin: BuiltinConfig | undefined = builtinSwitch === "off" ? undefined : Object.freeze({
    defaultModel: builtinModel,
    threads: int("LLAMA_THREADS", 0, 0, 256),
    contextSize: int("LLAMA_CONTEXT_SIZE", 4096, 256, 1_048_576),
    idleUnloadMs: int("LLAMA_IDLE_UNLOAD", 300, 1, 86_400 * 7) * 1000,
    maxQueue: int("LLAMA_MAX_QUEUE", 32, 1, 100_000),
  });

  return Object.freeze({
    host: host.replace(/^\[(.*)\]$/, "$1"),
    port: int(portVariable, 8000, 0, 65535),
    ollamaUrl: ollamaUrl(read("OLLAMA_HOST") ?? ""),
    defaultModel: read("OLLAMA_MODEL") ?? "llama3.2",
    ollamaTimeoutMs: int("OLLAMA_TIMEOUT", 120, 1, 86_400) * 1000,
    systemPrompt: env.SYSTEM_PROMPT ?? "You are a helpful assistant.",
    generation: Object.freeze(generation),
    allowedOrigins: Object.freeze(allowedOrigins.map((o) => o === "*" ? o : new URL(o).origin)),
    allowedHosts: Object.freeze(list("ALLOWED_HOSTS").map((h) => h.toLowerCase())),
    limits: Object.freeze({
      maxMessageBytes: int("WS_MAX_MESSAGE_BYTES", 1_048_576, 1024, 64 * 1_048_576),
      maxConnections: int("WS_MAX_CONNECTIONS", 2048, 1, 1_000_000),
      maxConnectionsPerClient: int("WS_MAX_CONNECTIONS_PER_CLIENT", 64, 1, 1_000_000),
      maxAnswersPerConnection: int("WS_MAX_ANSWERS_PER_CONNECTION", 4, 1, 1000),
      maxFramesPerSecond: int("WS_MAX_FRAMES_PER_SECOND", 50, 1, 1_000_000),
      sendBufferBytes: int("WS_SEND_BUFFER_BYTES", 1_048_576, 1024, 1024 * 1_048_576),
      slowReaderTimeoutMs: int("WS_SLOW_READER_TIMEOUT", 30, 1, 86_400) * 1000,
      idleTimeoutSeconds: int("WS_IDLE_TIMEOUT", 30, 1, 86_400),
      maxBodyBytes: int("HTTP_MAX_BODY_BYTES", 65_536, 256, 64 * 1_048_576),
    }),
    logLevel: logLevel as Config["logLevel"],
    dataDir: read("DATA_DIR") ?? "./data",
    databaseUrl: databaseUrl(read("DATABASE_URL")),
    flushIntervalMs: int("FLUSH_INTERVAL_MS", 1000, 10, 60_000),
    undoWindowMs: int("UNDO_WINDOW", 10, 1, 86_400) * 1000,
    maxImportBytes: int("IMPORT_MAX_BYTES", 10_485_760, 1024, 1024 * 1_048_576),
    builtin,
    settings: Object.freeze({
      maxNumCtx: int("SETTINGS_MAX_NUM_CTX", 131_072, 256, 16_777_216),
      maxSystemPrompt: int("SETTINGS_MAX_SYSTEM_PROMPT", 20_000, 0, 10_000_000),
      maxPresets: int("SETTINGS_MAX_PRESETS", 100, 0, 100_000),
    }),
    ollamaProbeMs: int("OLLAMA_PROBE_INTERVAL", 10, 1, 86_400) * 1000,
  });
}

function databaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    throw new ConfigError("DATABASE_URL", raw, "postgres://user:password@host:port/database");
  }
  return raw;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.origin !== "null" && url.origin === value.replace(/\/$/, "");
  } catch {
    return false;
  }
}

/**
 * Normalises `OLLAMA_HOST` the way Ollama itself reads it: `""` is `127.0.0.1:11434`,
 * `:1234` a port on loopback, a bare host gets port 11434, `http://h` port 80 and `https://h`
 * 443, a path is kept; `0.0.0.0` and `::` (listen-everywhere addresses) mean loopback.
 */
export function ollamaUrl(raw: string): string {
  let value = raw.trim();
  let scheme = "http";
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  const explicitScheme = match !== null;
  if (match) {
    scheme = match[1]!.toLowerCase();
    value = value.slice(match[0].length);
    if (scheme !== "http" && scheme !== "https") {
      throw new ConfigError("OLLAMA_HOST", raw, "http:// or https://, or host:port");
    }
  }
  const slash = value.indexOf("/");
  const path = slash === -1 ? "" : value.slice(slash).replace(/\/+$/, "");
  const authority = slash === -1 ? value : value.slice(0, slash);
  const parts = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
  if (!parts) throw new ConfigError("OLLAMA_HOST", raw, "http://host:port, host:port or :port");
  let hostname = parts[1] ?? "";
  const defaultPort = explicitScheme ? (scheme === "https" ? 443 : 80) : 11434;
  const port = parts[2] ? Number(parts[2]) : defaultPort;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError("OLLAMA_HOST", raw, "a port from 1 to 65535");
  }
  if (hostname === "" || hostname === "0.0.0.0") hostname = "127.0.0.1";
  if (hostname === "[::]") hostname = "[::1]";
  if (!hostname.startsWith("[") && hostname.includes(":")) hostname = `[${hostname}]`;
  try {
    const url = new URL(`${scheme}://${hostname}:${port}${path}`);
    return `${url.protocol}//${url.host}${path}`;
  } catch {
    throw new ConfigError("OLLAMA_HOST", raw, "http://host:port, host:port or :port");
  }
}
