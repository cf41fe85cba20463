/**
 * A fake Ollama for tests and benchmarks: a real HTTP server on 127.0.0.1 that speaks the native
 * API as /work/shared/ollama-protocol.md describes it, with knobs to slow, hold, break or fail
 * answers. Knobs are plain fields, read when a request starts.
 */

export interface FakeModel {
  /** e.g. `llama3.2`; stored as `llama3.2:latest`. */
  name: string;
  /** Default `1.0B`. */
  parameterSize?: string;
  /** Default `Q4_K_M`. */
  quantization?: string;
  /** Default `llama`. */
  family?: string;
  /** Bytes; default 1e9. */
  size?: number;
  /** Default `["completion"]`; `thinking` makes the model think unless sent `think:false`. */
  capabilities?: string[];
  contextLength?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Parsed JSON body, or undefined (no body or invalid JSON). */
  readonly body: unknown;
  /** The client closed the connection before the response finished. */
  aborted: boolean;
  /** The response was completely written. */
  finished: boolean;
  /** Resolves when the client aborts. */
  readonly aborted$: Promise<void>;
  /**
   * Resolves when the client aborts; rejects after `timeoutMs`, so a test fails, not hangs.
   * While it waits, the request's held line (manual mode, held pulls) is let out every 200 ms:
   * a held stream writes nothing, and Deno's server may see its client gone only when it next
   * writes (as a real Ollama would next write a token or a progress line).
   */
  waitAborted(timeoutMs?: number): Promise<void>;
}

export interface FakeOllamaOptions {
  /** Installed models, newest first; default {@link DEFAULT_MODELS}. */
  models?: FakeModel[];
  /** Models `/api/pull` can fetch; default {@link DEFAULT_REGISTRY}. */
  registry?: FakeModel[];
  /** Default `0.33.0`. */
  version?: string;
  /** The port to listen on; default 0, a free one. */
  port?: number;
}

/** What `reply` and `thinking` get; generate requests arrive as system + user messages. */
export interface ReplyRequest {
  model: string;
  messages: { role: string; content: string }[];
}

export const DEFAULT_MODELS: readonly FakeModel[] = [
  {
    name: "llama3.2",
    parameterSize: "3.2B",
    quantization: "Q4_K_M",
    family: "llama",
    size: 2019393189,
    capabilities: ["completion", "tools"],
    contextLength: 131072,
  },
  {
    name: "qwen3:0.6b",
    parameterSize: "751.63M",
    quantization: "Q4_K_M",
    family: "qwen3",
    size: 522653767,
    capabilities: ["completion", "tools", "thinking"],
    contextLength: 40960,
  },
];

export const DEFAULT_REGISTRY: readonly FakeModel[] = [
  ...DEFAULT_MODELS,
  { name: "gemma3:1b", parameterSize: "999.89M", family: "gemma3", size: 815319791 },
];

const encoder = new TextEncoder();
const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };
const NDJSON_TYPE = { "content-type": "application/x-ndjson" };
const TEXT_TYPE = { "content-type": "text/plain; charset=utf-8" };
const NS_PER_MS = 1_000_000;
/** Eval time claimed per token when nothing slows the answer, so tokens/s is a stable 50. */
const FAST_TOKEN_NS = 20 * NS_PER_MS;
const KEEP_ALIVE_MS = 5 * 60_000;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Thrown inside an answer to cut the connection instead of ending the stream cleanly. */
class StreamCut extends Error {
  constructor() {
    super("fake ollama: connection cut");
  }
}

function jsonResponse(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: JSON_TYPE });
}

function textResponse(text: string, status = 200): Response {
  return new Response(text, { status, headers: TEXT_TYPE });
}

/** A 200 whose body breaks at once: what a client sees when the server dies before a byte. */
function brokenResponse(headers: HeadersInit): Response {
  const body = new ReadableStream<Uint8Array>({ start: (c) => c.error(new StreamCut()) });
  return new Response(body, { headers });
}

function encodeLine(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value) + "\n");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Ollama's key for a name: tag defaults to `latest`, default registry dropped, any case. */
function normalizeName(name: string): string {
  const short = name.replace(/^registry\.ollama\.ai\//i, "").replace(/^library\//i, "");
  return short.slice(short.lastIndexOf("/") + 1).includes(":") ? short : `${short}:latest`;
}

const VALID_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/:]*$/;

function goType(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "boolean" ? "bool" : typeof value;
}

/** Close to Go's encoding/json texts, which is what Ollama answers for bad bodies. */
function goSyntaxError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  if (/end of (JSON|data)|Unterminated/i.test(message)) return "unexpected EOF";
  const at = /position (\d+)/.exec(message)?.[1];
  const char = at === undefined ? text.trim()[0] ?? "" : text[Number(at)] ?? "";
  return `invalid character '${char}' looking for beginning of value`;
}

function checkType(body: Record<string, unknown>, field: string, type: string, struct: string) {
  const value = body[field];
  if (value === undefined || value === null || goType(value) === type) return;
  const goName = type === "array" ? "[]api.Message" : type;
  throw new HttpError(
    400,
    `json: cannot unmarshal ${
      goType(value)
    } into Go struct field ${struct}.${field} of type ${goName}`,
  );
}

/** True for a keep_alive that unloads now; throws Go's text for an unparseable duration. */
function unloadsNow(keepAlive: unknown): boolean {
  if (typeof keepAlive === "number") return keepAlive === 0;
  if (typeof keepAlive !== "string") return false;
  if (keepAlive === "0") return true;
  if (/^\d+(\.\d+)?$/.test(keepAlive)) {
    throw new HttpError(400, `time: missing unit in duration "${keepAlive}"`);
  }
  if (!/^-?(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+$/.test(keepAlive)) {
    throw new HttpError(400, `time: invalid duration "${keepAlive}"`);
  }
  return /^-?(0+(\.0*)?[a-zµ]+)+$/.test(keepAlive);
}

/** Ollama omits zero metrics. */
function nonZero(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => v > 0));
}

/** `modified_at`/`expires_at` carry the local offset, like Go's time.Time. */
function localIso(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const abs = Math.abs(offset);
  const pad = (n: number) => String(Math.floor(n)).padStart(2, "0");
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, -1);
  return `${local}${offset < 0 ? "-" : "+"}${pad(abs / 60)}:${pad(abs % 60)}`;
}

/** A stable 64-hex-digit digest per name, so pull lines and tags agree between runs. */
function fakeDigest(seed: string): string {
  let hash = 0x811c9dc5;
  let out = "";
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${seed}#${round}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193);
    out += (hash >>> 0).toString(16).padStart(8, "0");
  }
  return out;
}

class Recorded implements RecordedRequest {
  aborted = false;
  finished = false;
  readonly aborted$: Promise<void>;
  #resolveAborted!: () => void;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly body: unknown,
    private readonly changed: () => void,
  ) {
    this.aborted$ = new Promise((resolve) => this.#resolveAborted = resolve);
  }

  waitAborted(timeoutMs = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let nudged = 0;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const state = this.finished ? "it finished instead" : "still open";
        reject(
          new Error(
            `FakeOllama: ${this.path} not aborted within ${timeoutMs} ms (${state}; ${nudged} ` +
              "held lines let out to find a closed connection)",
          ),
        );
      }, timeoutMs);
    });
    const nudge = setInterval(() => {
      const letOut = this.letOneOut;
      if (!letOut) return;
      nudged++;
      letOut();
    }, 200);
    return Promise.race([this.aborted$, late]).finally(() => {
      clearTimeout(timer);
      clearInterval(nudge);
    });
  }

  /** Set while this request's stream holds a line back: lets that line out. */
  letOneOut: (() => void) | undefined;

  markAborted(): void {
    if (this.aborted || this.finished) return;
    this.aborted = true;
    this.#resolveAborted();
    this.changed();
  }

  markFinished(): void {
    if (this.aborted || this.finished) return;
    this.finished = true;
    this.changed();
  }
}

interface Installed {
  readonly name: string;
  readonly model: FakeModel;
  readonly modifiedAt: Date;
  readonly digest: string;
}

interface Ctx {
  readonly rec: Recorded;
  body: Record<string, unknown>;
  /** Aborted when the client goes away or the fake closes. */
  readonly ac: AbortController;
  /** Set once a stream owns `ac` and will release it itself. */
  streaming: boolean;
}

type Handler = (ctx: Ctx) => Response | Promise<Response>;

interface Knobs {
  tokenDelayMs: number;
  manual: boolean;
  dieAfterChunks: number | undefined;
  errorAfterChunks: { chunks: number; message: string } | undefined;
}

/** One answer being generated; `chunk`/`final` shape lines for chat or generate. */
interface Job {
  readonly tokens: readonly { thinking: boolean; text: string }[];
  readonly streamed: boolean;
  readonly knobs: Knobs;
  chunk(token: { thinking: boolean; text: string }): Record<string, unknown>;
  final(reason: string, metrics: Record<string, number>): Record<string, unknown>;
  readonly reason: string;
  readonly started: number;
  readonly loadNs: number;
  readonly promptEvalCount: number;
  readonly after: () => void;
}

interface Watcher {
  check(): boolean;
  fail(error: Error): void;
}

export class FakeOllama {
  /** Delay before each streamed line (tokens and the done line). */
  tokenDelayMs = 0;
  /** Tokens of the answer. */
  reply: (request: ReplyRequest) => string[] = (request) => {
    const last = request.messages.findLast((m) => m.role === "user")?.content ?? "";
    return ["You ", "said: ", `"${last}".`, " This", " is", " a", " fake", " answer."];
  };
  /** Thinking tokens of a thinking model; they stream before the answer. */
  thinking: (request: ReplyRequest) => string[] = () => ["Thinking ", "about ", "it."];
  /**
   * Each line of a streamed chat/generate answer (every token and the done line; not load,
   * unload or pull lines) waits for {@link release}. Non-streamed answers are not held.
   */
  manual = false;
  /** Cut the connection (no done line) after this many token lines; 0 = right after headers. */
  dieAfterChunks: number | undefined = undefined;
  /** Send `{"error":message}` as the last line after this many token lines; 0 = HTTP 500. */
  errorAfterChunks: { chunks: number; message: string } | undefined = undefined;
  /** Answer chat, generate, show, pull and delete with this HTTP error. */
  failWith: { status: number; error: string } | undefined = undefined;
  /** Delay before each layer line of a pull; default {@link tokenDelayMs}. */
  pullDelayMs: number | undefined = undefined;
  /**
   * Each layer line of a pull (`pulling <digest>` with its byte counts) waits for
   * {@link release}, like {@link manual} does for answers, so a test can cancel mid-pull.
   */
  holdPulls = false;
  /** A pull's first line (`pulling manifest`, and so its headers) waits for {@link release}. */
  holdPullStart = false;
  /** Accept chat/generate requests and never answer (until the client aborts or close()). */
  hang = false;
  /** How long a model not in {@link loaded} takes to load before its first line. */
  loadDelayMs = 0;
  /** Models pull can fetch. */
  registry: FakeModel[];
  readonly version: string;
  /** Canonical names (`x:latest`) in memory, most recently used last. */
  readonly loaded: Set<string> = new Set();
  readonly requests: RecordedRequest[] = [];
  readonly url: string;
  readonly port: number;

  #models: Installed[] = [];
  #loadingUntil = new Map<string, number>();
  #credits = 0;
  #held: { go: () => void }[] = [];
  #watchers = new Set<Watcher>();
  #active = new Set<AbortController>();
  #server: Deno.HttpServer<Deno.NetAddr>;
  #closed = false;

  private constructor(options: FakeOllamaOptions) {
    this.version = options.version ?? "0.33.0";
    this.registry = [...(options.registry ?? DEFAULT_REGISTRY)];
    const models = options.models ?? DEFAULT_MODELS;
    const now = Date.now();
    // Older first so each addModel lands on top, leaving the list in the given order.
    models.toReversed().forEach((m, i) =>
      this.addModel(m, new Date(now - (models.length - i) * 60_000))
    );
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: options.port ?? 0,
      onListen: () => {},
      // Also receives the errors of bodies we break on purpose; the default would log them.
      onError: () => jsonResponse({ error: "internal error" }, 500),
    }, (req) => this.#handle(req));
    this.port = this.#server.addr.port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port. */
  static start(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
    return Promise.resolve(new FakeOllama(options));
  }

  /** Installs (or refreshes) a model; it becomes the newest in /api/tags. */
  addModel(model: FakeModel, modifiedAt: Date = new Date()): void {
    const name = normalizeName(model.name);
    this.#models = this.#models.filter((m) => m.name.toLowerCase() !== name.toLowerCase());
    this.#models.unshift({ name, model, modifiedAt, digest: fakeDigest(name) });
  }

  /** Lets `chunks` more held lines out, across streams; `Infinity` stops holding. */
  release(chunks = 1): void {
    this.#credits += chunks;
    while (this.#credits > 0 && this.#held.length > 0) {
      this.#credits--;
      this.#held.shift()!.go();
    }
  }

  /** Lines now held back by {@link manual}. */
  get heldChunks(): number {
    return this.#held.length;
  }

  /** Resolves with an existing or future request matching `predicate` (also on state changes). */
  waitForRequest(
    predicate: (r: RecordedRequest) => boolean,
    timeoutMs = 5000,
  ): Promise<RecordedRequest> {
    return this.#waitUntil(() => this.requests.find(predicate), timeoutMs, "a matching request");
  }

  /** Resolves once at least `count` lines wait for {@link release}. */
  waitForHeld(count = 1, timeoutMs = 5000): Promise<number> {
    const probe = () => this.#held.length >= count ? this.#held.length : undefined;
    return this.#waitUntil(probe, timeoutMs, `${count} held chunks`);
  }

  /** Stops the server, breaking any hanging or held answers; pending waits reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const ac of this.#active) ac.abort(new Error("fake ollama closed"));
    for (const w of this.#watchers) w.fail(new Error("FakeOllama closed"));
    this.#watchers.clear();
    await this.#server.shutdown();
  }

  // -- plumbing ------------------------------------------------------------------------------

  #changed(): void {
    for (const w of this.#watchers) if (w.check()) this.#watchers.delete(w);
  }

  #waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const found = probe();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const watcher: Watcher = {
        check: () => {
          const value = probe();
          if (value === undefined) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#watchers.delete(watcher);
        reject(new Error(`FakeOllama: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#watchers.add(watcher);
    });
  }

  #gate(signal: AbortSignal, rec: Recorded): Promise<void> {
    if (this.#credits > 0) {
      this.#credits--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        go: () => {
          signal.removeEventListener("abort", onAbort);
          rec.letOneOut = undefined;
          resolve();
        },
      };
      rec.letOneOut = () => {
        const at = this.#held.indexOf(waiter);
        if (at < 0) return;
        this.#held.splice(at, 1);
        waiter.go();
      };
      const onAbort = () => {
        this.#held.splice(this.#held.indexOf(waiter), 1);
        rec.letOneOut = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#held.push(waiter);
      this.#changed();
    });
  }

  #find(name: string): Installed | undefined {
    const key = normalizeName(name).toLowerCase();
    return this.#models.find((m) => m.name.toLowerCase() === key);
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const methods = this.#routes[path];
    if (!methods) return textResponse("404 page not found", 404);
    const handler = methods[req.method];
    if (!handler) return textResponse("405 method not allowed", 405);
    const hasBody = req.method === "POST" || req.method === "DELETE";
    const text = hasBody ? await req.text() : "";
    let body: unknown, parseError: string | undefined;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch (error) {
      parseError = goSyntaxError(text, error);
    }
    const rec = new Recorded(req.method, path, body, () => this.#changed());
    this.requests.push(rec);
    this.#changed();
    const ctx: Ctx = { rec, body: {}, ac: new AbortController(), streaming: false };
    this.#active.add(ctx.ac);
    // The client going away shows on the signal (deno.json opts into `no-legacy-abort`, so it
    // does not fire after a successful response), before the response and while a stream is
    // written; the stream's cancel() is the other way it shows.
    const onClientAbort = () => {
      rec.markAborted();
      ctx.ac.abort(new Error("client closed the connection"));
    };
    req.signal.addEventListener("abort", onClientAbort, { once: true });
    try {
      if (hasBody) {
        if (text === "") throw new HttpError(400, "missing request body");
        if (parseError !== undefined) throw new HttpError(400, parseError);
        if (body !== null && (typeof body !== "object" || Array.isArray(body))) {
          throw new HttpError(400, `json: cannot unmarshal ${goType(body)} into Go value`);
        }
        ctx.body = (body ?? {}) as Record<string, unknown>;
      }
      const res = await handler(ctx);
      if (!ctx.streaming) rec.markFinished();
      return req.method === "HEAD" ? new Response(null, res) : res;
    } catch (error) {
      if (error instanceof HttpError) {
        rec.markFinished();
        return jsonResponse({ error: error.message }, error.status);
      }
      if (ctx.ac.signal.aborted) return new Response(null, { status: 499 });
      throw error;
    } finally {
      if (!ctx.streaming) {
        req.signal.removeEventListener("abort", onClientAbort);
        this.#active.delete(ctx.ac);
      }
    }
  }

  /** Streams `lines` as NDJSON; headers go out with the first line, as Ollama does. */
  async #ndjson(ctx: Ctx, lines: AsyncGenerator<unknown>): Promise<Response> {
    let first: IteratorResult<unknown> | StreamCut;
    try {
      first = await lines.next();
    } catch (error) {
      if (!(error instanceof StreamCut)) throw error;
      first = error;
    }
    ctx.streaming = true;
    const settle = () => this.#active.delete(ctx.ac);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        if (first instanceof StreamCut) {
          settle();
          c.error(first);
        } else if (first.done) {
          ctx.rec.markFinished();
          settle();
          c.close();
        } else c.enqueue(encodeLine(first.value));
      },
      async pull(c) {
        try {
          const next = await lines.next();
          if (!next.done) return c.enqueue(encodeLine(next.value));
          ctx.rec.markFinished();
          settle();
          c.close();
        } catch (error) {
          settle();
          c.error(error);
        }
      },
      cancel() {
        ctx.rec.markAborted();
        ctx.ac.abort(new Error("client closed the connection"));
        settle();
      },
    });
    return new Response(body, { headers: NDJSON_TYPE });
  }

  #routes: Record<string, Record<string, Handler>> = {
    "/": { GET: () => textResponse("Ollama is running"), HEAD: () => textResponse("") },
    "/api/version": {
      GET: () => jsonResponse({ version: this.version }),
      HEAD: () => jsonResponse({ version: this.version }),
    },
    "/api/tags": { GET: () => this.#tags(), HEAD: () => this.#tags() },
    "/api/ps": { GET: () => this.#ps() },
    "/api/chat": { POST: (ctx) => this.#answer(ctx, "chat") },
    "/api/generate": { POST: (ctx) => this.#answer(ctx, "generate") },
    "/api/show": { POST: (ctx) => this.#show(ctx) },
    "/api/pull": { POST: (ctx) => this.#pull(ctx) },
    "/api/delete": { DELETE: (ctx) => this.#delete(ctx) },
  };

  // -- endpoints -----------------------------------------------------------------------------

  #details(m: Installed) {
    const family = m.model.family ?? "llama";
    return {
      parent_model: "",
      format: "gguf",
      family,
      families: [family],
      parameter_size: m.model.parameterSize ?? "1.0B",
      quantization_level: m.model.quantization ?? "Q4_K_M",
      ...(m.model.contextLength ? { context_length: m.model.contextLength } : {}),
    };
  }

  #capabilities(m: Installed): string[] {
    return m.model.capabilities ?? ["completion"];
  }

  #tags(): Response {
    return jsonResponse({
      models: this.#models.map((m) => ({
        name: m.name,
        model: m.name,
        modified_at: localIso(m.modifiedAt),
        size: m.model.size ?? 1e9,
        digest: m.digest,
        details: this.#details(m),
        capabilities: this.#capabilities(m),
      })),
    });
  }

  #ps(): Response {
    const models = [...this.loaded].toReversed().flatMap((name, i) => {
      const m = this.#find(name);
      if (!m) return [];
      const size = m.model.size ?? 1e9;
      return [{
        name: m.name,
        model: m.name,
        size,
        digest: m.digest,
        details: this.#details(m),
        expires_at: localIso(new Date(Date.now() + KEEP_ALIVE_MS - i * 1000)),
        size_vram: size,
        context_length: m.model.contextLength ?? 4096,
      }];
    });
    return jsonResponse({ models });
  }

  #failWith(): void {
    if (this.failWith) throw new HttpError(this.failWith.status, this.failWith.error);
  }

  #modelArg(ctx: Ctx, struct: string): string {
    checkType(ctx.body, "model", "string", struct);
    checkType(ctx.body, "name", "string", struct);
    return String(ctx.body.model ?? ctx.body.name ?? "");
  }

  #show(ctx: Ctx): Response {
    this.#failWith();
    const sent = this.#modelArg(ctx, "ShowRequest");
    if (sent === "") throw new HttpError(400, "model is required");
    const m = this.#find(sent);
    if (!m) throw new HttpError(404, `model '${normalizeName(sent)}' not found`);
    const details = this.#details(m);
    return jsonResponse({
      modelfile: `# Modelfile generated by "ollama show"\nFROM ${m.name}\n`,
      parameters: 'stop "<|eot_id|>"',
      template: "{{ .Prompt }}",
      details,
      model_info: {
        "general.architecture": details.family,
        "general.parameter_count": 1e9,
        [`${details.family}.context_length`]: m.model.contextLength ?? 4096,
      },
      tensors: [],
      capabilities: this.#capabilities(m),
      modified_at: localIso(m.modifiedAt),
    });
  }

  #delete(ctx: Ctx): Response {
    this.#failWith();
    const sent = this.#modelArg(ctx, "DeleteRequest");
    if (sent === "") throw new HttpError(400, "model is required");
    const m = this.#find(sent);
    if (!m) throw new HttpError(404, `model '${sent}' not found`);
    this.#models = this.#models.filter((x) => x !== m);
    this.loaded.delete(m.name);
    return new Response(null, { status: 200 });
  }

  async #pull(ctx: Ctx): Promise<Response> {
    this.#failWith();
    const sent = this.#modelArg(ctx, "PullRequest");
    if (sent === "") throw new HttpError(400, "model is required");
    const key = normalizeName(sent).toLowerCase();
    const model = this.registry.find((m) => normalizeName(m.name).toLowerCase() === key);
    const delayMs = this.pullDelayMs ?? this.tokenDelayMs;
    const hold = this.holdPulls ? () => this.#gate(ctx.ac.signal, ctx.rec) : undefined;
    const holdStart = this.holdPullStart ? () => this.#gate(ctx.ac.signal, ctx.rec) : undefined;
    const install = (m: FakeModel) => this.addModel(m);
    async function* progress(): AsyncGenerator<Record<string, unknown>> {
      if (holdStart) await holdStart();
      yield { status: "pulling manifest" };
      if (!model) return yield { error: "pull model manifest: file does not exist" };
      const layers = [[fakeDigest(key), model.size ?? 1e9], [fakeDigest(`${key}/params`), 487]];
      for (const [digest, total] of layers as [string, number][]) {
        for (const part of [0, 0.25, 0.5, 0.75, 1]) {
          if (hold) await hold();
          if (delayMs > 0) await sleep(delayMs, ctx.ac.signal);
          const completed = Math.round(total * part);
          yield {
            status: `pulling ${digest.slice(0, 12)}`,
            digest: `sha256:${digest}`,
            total,
            ...(completed > 0 ? { completed } : {}),
          };
        }
      }
      yield { status: "verifying sha256 digest" };
      yield { status: "writing manifest" };
      install(model);
      yield { status: "success" };
    }
    if (ctx.body.stream !== false) return this.#ndjson(ctx, progress());
    let last: Record<string, unknown> = {};
    for await (const line of progress()) last = line;
    if (typeof last.error === "string") throw new HttpError(500, last.error);
    return jsonResponse(last);
  }

  /** Chat and generate: validation, load/unload, then the answer streamed or whole. */
  async #answer(ctx: Ctx, kind: "chat" | "generate"): Promise<Response> {
    const started = performance.now();
    const hang = this.hang;
    const knobs: Knobs = {
      tokenDelayMs: this.tokenDelayMs,
      manual: this.manual,
      dieAfterChunks: this.dieAfterChunks,
      errorAfterChunks: this.errorAfterChunks,
    };
    this.#failWith();
    if (hang) {
      await new Promise((_, reject) => {
        ctx.ac.signal.addEventListener("abort", () => reject(ctx.ac.signal.reason), { once: true });
      });
    }
    const body = ctx.body;
    const struct = kind === "chat" ? "ChatRequest" : "GenerateRequest";
    const sent = this.#modelArg(ctx, struct);
    checkType(body, "stream", "bool", struct);
    checkType(
      body,
      kind === "chat" ? "messages" : "prompt",
      kind === "chat" ? "array" : "string",
      struct,
    );
    if (sent === "") {
      throw kind === "chat"
        ? new HttpError(400, "model is required")
        : new HttpError(404, "model '' not found");
    }
    if (!VALID_NAME.test(sent)) throw new HttpError(400, "invalid model name");
    const m = this.#find(sent);
    if (!m) throw new HttpError(404, `model '${sent}' not found`);
    const caps = this.#capabilities(m);
    if (!caps.includes("completion")) {
      throw new HttpError(400, `"${sent}" does not support ${kind}`);
    }
    const think = body.think ?? null;
    if (think !== null && think !== false && !caps.includes("thinking")) {
      throw new HttpError(400, `"${sent}" does not support thinking`);
    }
    if (Array.isArray(body.tools) && body.tools.length > 0 && !caps.includes("tools")) {
      throw new HttpError(400, `registry.ollama.ai/library/${m.name} does not support tools`);
    }
    const unload = unloadsNow(body.keep_alive);
    const messages = kind === "chat"
      ? ((body.messages ?? []) as { role?: unknown; content?: unknown }[]).map((x) => ({
        role: String(x?.role ?? ""),
        content: String(x?.content ?? ""),
      }))
      : [
        ...(typeof body.system === "string" ? [{ role: "system", content: body.system }] : []),
        ...(body.prompt ? [{ role: "user", content: String(body.prompt) }] : []),
      ];
    const base = () => ({ model: sent, created_at: new Date().toISOString() });
    const empty = kind === "chat"
      ? { message: { role: "assistant", content: "" } }
      : { response: "" };

    if (messages.length === 0 || (kind === "generate" && !body.prompt)) {
      if (unload) this.loaded.delete(m.name);
      else await this.#load(m.name, ctx.ac.signal);
      return jsonResponse({
        ...base(),
        ...empty,
        done: true,
        done_reason: unload ? "unload" : "load",
      });
    }

    const loadNs = await this.#load(m.name, ctx.ac.signal);
    const request: ReplyRequest = { model: sent, messages };
    const thoughts = caps.includes("thinking") && think !== false ? this.thinking(request) : [];
    let tokens = [
      ...thoughts.map((text) => ({ thinking: true, text })),
      ...this.reply(request).map((text) => ({ thinking: false, text })),
    ];
    const options = (body.options ?? {}) as Record<string, unknown>;
    const limit = typeof options.num_predict === "number" ? options.num_predict : -1;
    const truncated = limit >= 0 && tokens.length > limit;
    if (truncated) tokens = tokens.slice(0, limit);
    const promptEvalCount = messages.reduce((n, x) => n + 4 + Math.ceil(x.content.length / 4), 0);

    const job: Job = {
      tokens,
      streamed: body.stream !== false,
      knobs,
      reason: truncated ? "length" : "stop",
      started,
      loadNs,
      promptEvalCount,
      after: () => unload && this.loaded.delete(m.name),
      chunk: kind === "chat"
        ? (t) => ({
          ...base(),
          message: t.thinking
            ? { role: "assistant", content: "", thinking: t.text }
            : { role: "assistant", content: t.text },
          done: false,
        })
        : (t) => ({
          ...base(),
          response: t.thinking ? "" : t.text,
          ...(t.thinking ? { thinking: t.text } : {}),
          done: false,
        }),
      final: (reason, metrics) => ({
        ...base(),
        ...empty,
        done: true,
        done_reason: reason,
        ...(kind === "generate"
          ? { context: [...Array(Math.min(promptEvalCount, 64)).keys()] }
          : {}),
        ...metrics,
      }),
    };
    if (job.streamed) return this.#ndjson(ctx, this.#lines(ctx, job));
    return this.#whole(ctx, job, kind);
  }

  /** Waits out the load of a model not in memory; returns the load time in ns. */
  async #load(name: string, signal: AbortSignal): Promise<number> {
    const begin = performance.now();
    if (!this.loaded.has(name) && this.loadDelayMs > 0) {
      // Requests arriving during a load share it rather than each starting its own.
      const until = this.#loadingUntil.get(name) ?? Date.now() + this.loadDelayMs;
      this.#loadingUntil.set(name, until);
      await sleep(Math.max(0, until - Date.now()), signal);
      this.#loadingUntil.delete(name);
    }
    this.loaded.delete(name);
    this.loaded.add(name);
    return Math.max(Math.round((performance.now() - begin) * NS_PER_MS), 1_500_000);
  }

  async *#lines(ctx: Ctx, job: Job): AsyncGenerator<Record<string, unknown>> {
    const { knobs, tokens } = job;
    const firstAt = performance.now();
    for (let i = 0; i <= tokens.length; i++) {
      if (job.streamed && knobs.manual) await this.#gate(ctx.ac.signal, ctx.rec);
      if (knobs.tokenDelayMs > 0) await sleep(knobs.tokenDelayMs, ctx.ac.signal);
      if (knobs.dieAfterChunks === i) throw new StreamCut();
      if (knobs.errorAfterChunks?.chunks === i) {
        if (i === 0) throw new HttpError(500, knobs.errorAfterChunks.message);
        return yield { error: knobs.errorAfterChunks.message };
      }
      const token = tokens[i];
      if (token) yield job.chunk(token);
    }
    const slowed = knobs.tokenDelayMs > 0 || (knobs.manual && job.streamed);
    const evalNs = slowed
      ? Math.round((performance.now() - firstAt) * NS_PER_MS)
      : tokens.length * FAST_TOKEN_NS;
    const promptNs = job.promptEvalCount * NS_PER_MS;
    const elapsedNs = Math.round((performance.now() - job.started) * NS_PER_MS);
    job.after();
    yield job.final(
      job.reason,
      nonZero({
        total_duration: Math.max(elapsedNs, job.loadNs + promptNs + evalNs),
        load_duration: job.loadNs,
        prompt_eval_count: job.promptEvalCount,
        prompt_eval_duration: promptNs,
        eval_count: tokens.length,
        eval_duration: evalNs,
      }),
    );
  }

  /** `"stream":false`: text concatenated, metrics from the done line. */
  async #whole(ctx: Ctx, job: Job, kind: "chat" | "generate"): Promise<Response> {
    let content = "", thinking = "";
    let last: Record<string, unknown> = {};
    try {
      for await (const line of this.#lines(ctx, job)) {
        if (typeof line.error === "string") throw new HttpError(500, line.error);
        const message = (kind === "chat" ? line.message : line) as Record<string, string>;
        content += (kind === "chat" ? message.content : message.response) ?? "";
        thinking += message.thinking ?? "";
        last = line;
      }
    } catch (error) {
      if (error instanceof StreamCut) return brokenResponse(JSON_TYPE);
      throw error;
    }
    const extra = thinking ? { thinking } : {};
    return jsonResponse(
      kind === "chat"
        ? { ...last, message: { role: "assistant", content, ...extra } }
        : { ...last, response: content, ...extra },
    );
  }
}
