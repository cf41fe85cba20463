/**
 * The model manager over HTTP, against the fake Ollama: pulling with streamed progress and
 * cancelling by going away, deleting, unloading, the name check, every failure's status, and
 * that nothing but the endpoints the app needs ever reaches Ollama.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import { collectGarbage } from "./helpers/gc.ts";
import { unusedPort } from "./helpers/ports.ts";
import type { FakeOllama } from "./fake_ollama.ts";

interface Listed {
  name: string;
  size: number;
  parameterSize: string;
  quantization: string;
  loaded: boolean;
  source: string;
}

function send(base: string, path: string, body: unknown, init: RequestInit = {}) {
  return fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });
}

async function listed(base: string): Promise<Listed[]> {
  const response = await fetch(base + "/api/models");
  assertEquals(response.status, 200);
  return (await response.json()).models;
}

/** NDJSON lines as they arrive; a line split across reads is joined first. */
async function* lines(response: Response): AsyncGenerator<Record<string, unknown>> {
  let buffer = "";
  for await (const text of response.body!.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    for (const part of parts) if (part.trim()) yield JSON.parse(part);
  }
  if (buffer.trim()) yield JSON.parse(buffer);
}

/**
 * Every line until the response ends, calling `afterFirst` once the first is in. A response
 * still open after 20 s fails the test rather than hanging the run.
 */
async function allLines(
  response: Response,
  afterFirst?: () => Promise<void>,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const read = (async () => {
    for await (const line of lines(response)) {
      out.push(line);
      if (out.length === 1) await afterFirst?.();
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the response was still open after 20 s: ${JSON.stringify(out)}`)),
      20_000,
    );
  });
  try {
    await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

function callsTo(ollama: FakeOllama, path: string) {
  return ollama.requests.filter((r) => r.path === path);
}

Deno.test("models http - a pull streams Ollama's progress, then the model is listed", async () => {
  await withApp({}, async ({ app, ollama }) => {
    assert(!(await listed(app.url)).some((m) => m.name === "gemma3:1b"));
    const response = await send(app.url, "/api/models/pull", { name: "gemma3:1b" });
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "application/x-ndjson");
    const got = await allLines(response);
    assertEquals(got[0], { status: "pulling manifest" });
    const layer = got.filter((l) => typeof l.total === "number" && l.total > 1000);
    assert(layer.length >= 3, JSON.stringify(got));
    assertMatch(String(layer[0]!.status), /^pulling [0-9a-f]{12}$/);
    assertMatch(String(layer[0]!.digest), /^sha256:[0-9a-f]{64}$/);
    assertEquals(layer[0]!.completed, undefined, "Ollama leaves completed out while it is 0");
    assertEquals(layer.at(-1)!.completed, layer.at(-1)!.total);
    assertEquals(got.at(-1), { status: "success" });
    assertEquals((callsTo(ollama, "/api/pull")[0]?.body as { name?: string }).name, "gemma3:1b");

    const gemma = (await listed(app.url)).find((m) => m.name === "gemma3:1b");
    assertEquals(
      [gemma?.size, gemma?.parameterSize, gemma?.quantization, gemma?.loaded, gemma?.source],
      [815319791, "999.89M", "Q4_K_M", false, "ollama"],
    );
  });
});

Deno.test("models http - a pull Ollama cannot do ends with an error line", async () => {
  await withApp({}, async ({ app }) => {
    const response = await send(app.url, "/api/models/pull", { name: "no-such-model" });
    assertEquals(response.status, 200);
    const got = await allLines(response);
    assertEquals(got[0], { status: "pulling manifest" });
    const error = got.at(-1)!.error as { code: string; message: string };
    assertEquals(error.code, "backend_error");
    assertMatch(
      error.message,
      /could not pull "no-such-model": pull model manifest: file does not/,
    );
    assert(!(await listed(app.url)).some((m) => m.name.startsWith("no-such-model")));
  });
});

Deno.test("models http - leaving a pull cancels it: Ollama sees the request end", async () => {
  await withApp({}, async ({ app, ollama }) => {
    ollama.holdPulls = true;
    const abort = new AbortController();
    const response = await send(app.url, "/api/models/pull", { name: "gemma3:1b" }, {
      signal: abort.signal,
    });
    // Else a browser may drain an aborted pull's rest on the kept connection instead of closing.
    assertEquals(response.headers.get("connection"), "close", "a pull's connection is not reused");
    const reader = lines(response);
    try {
      assertEquals((await reader.next()).value, { status: "pulling manifest" });
      ollama.release(2);
      const first = (await reader.next()).value!;
      assertMatch(String(first.status), /^pulling /);
      await ollama.waitForHeld(1);
      abort.abort();
      await reader.return(undefined).catch(() => {});
      const pull = await ollama.waitForRequest((r) => r.path === "/api/pull");
      await pull.waitAborted();
      assertEquals(pull.finished, false);
      assertEquals(ollama.heldChunks, 0);
    } finally {
      // Were the pull not cancelled, it would otherwise hold the app's shutdown forever.
      ollama.release(Infinity);
    }
    assert(!(await listed(app.url)).some((m) => m.name === "gemma3:1b"));
  });
});

Deno.test("models http - DELETE cancels a running pull while its client still reads", async () => {
  await withApp({}, async ({ app, ollama }) => {
    ollama.holdPulls = true;
    const response = await send(app.url, "/api/models/pull", { name: "gemma3:1b" });
    const reader = lines(response);
    try {
      assertEquals((await reader.next()).value, { status: "pulling manifest" });
      ollama.release(1);
      assertMatch(String((await reader.next()).value!.status), /^pulling /);
      await ollama.waitForHeld(1);

      const cancel = await send(app.url, "/api/models/pull", { name: "Gemma3:1b" }, {
        method: "DELETE",
      });
      assertEquals([cancel.status, await cancel.json()], [200, {
        name: "Gemma3:1b",
        cancelled: true,
      }]);
      const pull = await ollama.waitForRequest((r) => r.path === "/api/pull");
      await pull.waitAborted();
      assertEquals(pull.finished, false);
      // The reader's response ends, without a success line.
      const rest: Record<string, unknown>[] = [];
      for await (const line of reader) rest.push(line);
      assert(!rest.some((line) => line.status === "success"), JSON.stringify(rest));
    } finally {
      ollama.release(Infinity);
    }
    assert(!(await listed(app.url)).some((m) => m.name === "gemma3:1b"));

    // Nothing runs now: answered, not an error; a bad name is refused.
    const again = await send(app.url, "/api/models/pull", { name: "gemma3:1b" }, {
      method: "DELETE",
    });
    assertEquals([again.status, await again.json()], [200, {
      name: "gemma3:1b",
      cancelled: false,
    }]);
    const bad = await send(app.url, "/api/models/pull", { name: "../etc" }, { method: "DELETE" });
    assertEquals([bad.status, (await bad.json()).error.code], [400, "invalid_model_name"]);
  });
});

Deno.test("models http - leaving before Ollama's first line cancels the pull too", async () => {
  await withApp({}, async ({ app, ollama }) => {
    ollama.holdPullStart = true;
    const abort = new AbortController();
    const response = send(app.url, "/api/models/pull", { name: "gemma3:1b" }, {
      signal: abort.signal,
    }).catch((error) => error);
    try {
      await ollama.waitForHeld(1);
      abort.abort();
      assertEquals((await response as Error).name, "AbortError");
      const pull = await ollama.waitForRequest((r) => r.path === "/api/pull");
      await pull.waitAborted();
      assertEquals(pull.finished, false);
    } finally {
      // Were the pull not cancelled, it would otherwise hold the app's shutdown forever.
      ollama.release(Infinity);
    }
  });
});

Deno.test("models http - a pull Ollama stops feeding ends with an error after OLLAMA_TIMEOUT", async () => {
  await withApp({ OLLAMA_TIMEOUT: "1" }, async ({ app, ollama }) => {
    ollama.holdPulls = true;
    try {
      const response = await send(app.url, "/api/models/pull", { name: "gemma3:1b" });
      // A garbage collection while the app waits on Ollama once left the timeout's abort
      // reaching nothing (lib/abort.ts): the pull never ended.
      const got = await allLines(response, collectGarbage);
      assertEquals(got[0], { status: "pulling manifest" });
      const error = got.at(-1)!.error as { code: string; message: string };
      assertEquals(error.code, "backend_error");
      assertMatch(error.message, /could not pull "gemma3:1b": Ollama sent nothing for 1 s/);
      await (await ollama.waitForRequest((r) => r.path === "/api/pull")).waitAborted();
    } finally {
      ollama.release(Infinity);
    }
  });
});

Deno.test("models http - delete removes a model; a second delete is a 404", async () => {
  await withApp({}, async ({ app, ollama }) => {
    const del = (name: unknown) =>
      fetch(app.url + "/api/models", {
        method: "DELETE",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
    const first = await del("qwen3:0.6b");
    assertEquals([first.status, await first.json()], [200, { name: "qwen3:0.6b", deleted: true }]);
    assert(!(await listed(app.url)).some((m) => m.name === "qwen3:0.6b"));
    assertEquals((callsTo(ollama, "/api/delete")[0]?.body as { name?: string }).name, "qwen3:0.6b");
    const again = await del("qwen3:0.6b");
    const body = await again.json();
    assertEquals([again.status, body.error.code], [404, "model_not_found"]);
    assertMatch(body.error.message, /no model "qwen3:0\.6b" in Ollama/);
  });
});

Deno.test("models http - unload frees a loaded model the way Ollama documents", async () => {
  await withApp({}, async ({ app, ollama }) => {
    ollama.loaded.add("llama3.2:latest");
    assertEquals((await listed(app.url)).find((m) => m.name === "llama3.2:latest")?.loaded, true);
    const response = await send(app.url, "/api/models/unload", { name: "llama3.2:latest" });
    assertEquals([response.status, await response.json()], [200, {
      name: "llama3.2:latest",
      loaded: false,
    }]);
    assertEquals(ollama.loaded.size, 0);
    const call = callsTo(ollama, "/api/chat").at(-1)?.body as Record<string, unknown>;
    assertEquals([call.model, call.messages, call.keep_alive], ["llama3.2:latest", [], 0]);
    assertEquals((await listed(app.url)).find((m) => m.name === "llama3.2:latest")?.loaded, false);
    // Not loaded: the same answer.
    const again = await send(app.url, "/api/models/unload", { name: "llama3.2" });
    assertEquals(again.status, 200);
    await again.body?.cancel();
    const missing = await send(app.url, "/api/models/unload", { name: "nope" });
    assertEquals([missing.status, (await missing.json()).error.code], [404, "model_not_found"]);
  });
});

Deno.test("models http - bad names get a clear 400 and never reach Ollama", async () => {
  await withApp({}, async ({ app, ollama }) => {
    const before = ollama.requests.length;
    const cases: [string, string, unknown][] = [];
    for (const name of ["", "../../etc/passwd", "a b", "x".repeat(300), 42, null]) {
      cases.push(["POST", "/api/models/pull", { name }]);
      cases.push(["DELETE", "/api/models", { name }]);
      cases.push(["POST", "/api/models/unload", { name }]);
    }
    cases.push(["POST", "/api/models/pull", {}]);
    for (const [method, path, body] of cases) {
      const response = await send(app.url, path, body, { method });
      const json = await response.json();
      assertEquals([response.status, json.error.code], [400, "invalid_model_name"], path);
      assertMatch(json.error.message, /Expected a model name|at most 256/);
    }
    const notJson = await fetch(app.url + "/api/models/pull", { method: "POST", body: "name" });
    assertEquals(notJson.status, 415);
    await notJson.body?.cancel();
    assertEquals(ollama.requests.length, before);
  });
});

Deno.test("models http - Ollama down is a 503, Ollama failing a 502 or 503", async () => {
  await withApp({ OLLAMA_HOST: `127.0.0.1:${unusedPort()}` }, async ({ app }) => {
    for (
      const [method, path] of [
        ["POST", "/api/models/pull"],
        ["DELETE", "/api/models"],
        ["POST", "/api/models/unload"],
      ]
    ) {
      const response = await send(app.url, path!, { name: "llama3.2" }, { method: method! });
      const body = await response.json();
      assertEquals([response.status, body.error.code], [503, "backend_unreachable"], path);
      assertMatch(body.error.message, /not reachable/);
    }
  });
  await withApp({}, async ({ app, ollama }) => {
    ollama.failWith = { status: 503, error: "server busy, please try again." };
    const busy = await send(app.url, "/api/models/pull", { name: "gemma3:1b" });
    assertEquals([busy.status, (await busy.json()).error.code], [503, "backend_busy"]);
    ollama.failWith = { status: 500, error: "disk full" };
    const failed = await send(app.url, "/api/models/pull", { name: "gemma3:1b" });
    const body = await failed.json();
    assertEquals([failed.status, body.error.code], [502, "backend_error"]);
    assertMatch(body.error.message, /disk full/);
  });
});

Deno.test("models http - built-in models: a dropped-in file is pulled at once and deleted", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "chat-models-" });
  try {
    await Deno.mkdir(join(dataDir, "models"));
    const file = join(dataDir, "models", "Tiny-1M-Q4_0.gguf");
    await Deno.writeFile(file, new Uint8Array(1024));
    await withApp({ BUILTIN_MODELS: "on", DATA_DIR: dataDir }, async ({ app }) => {
      const tiny = (await listed(app.url)).find((m) => m.name === "builtin/tiny-1m-q4_0");
      assertEquals([tiny?.source, tiny?.size, tiny?.quantization], ["builtin", 1024, "Q4_0"]);
      const pull = await send(app.url, "/api/models/pull", { name: "builtin/tiny-1m-q4_0" });
      assertEquals(await allLines(pull), [{ status: "success" }]);
      const unknown = await send(app.url, "/api/models/pull", { name: "builtin/nothing-here" });
      assertEquals([unknown.status, (await unknown.json()).error.code], [404, "model_not_found"]);
      const unload = await send(app.url, "/api/models/unload", { name: "builtin/tiny-1m-q4_0" });
      assertEquals(unload.status, 200);
      await unload.body?.cancel();
      const del = await send(app.url, "/api/models", { name: "builtin/tiny-1m-q4_0" }, {
        method: "DELETE",
      });
      assertEquals(del.status, 200);
      await del.body?.cancel();
      assert(!(await listed(app.url)).some((m) => m.name === "builtin/tiny-1m-q4_0"));
      const gone = await Deno.stat(file).then(() => false, () => true);
      assert(gone, "the file is deleted");
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("models http - built-in names with built-in models off are a 404", async () => {
  await withApp({}, async ({ app, ollama }) => {
    const response = await send(app.url, "/api/models/pull", { name: "builtin/smollm2-135m" });
    const body = await response.json();
    assertEquals([response.status, body.error.code], [404, "model_not_found"]);
    assertMatch(body.error.message, /BUILTIN_MODELS=off/);
    assertEquals(callsTo(ollama, "/api/pull").length, 0);
  });
});

Deno.test("models http - only the endpoints the manager needs reach Ollama", async () => {
  await withApp({}, async ({ app, ollama }) => {
    for (
      const path of [
        "/api/create",
        "/api/blobs/sha256:x",
        "/api/push",
        "/api/copy",
        "/api/models/create",
        "/api/models/copy",
        "/api/models/push",
        "/api/pull",
        "/api/delete",
      ]
    ) {
      const response = await send(app.url, path, { name: "llama3.2", model: "llama3.2" });
      assertEquals(response.status, 404, path);
      await response.body?.cancel();
    }
    const get = await fetch(app.url + "/api/models/pull");
    assertEquals([get.status, get.headers.get("allow")], [405, "DELETE, POST"]);
    await get.body?.cancel();
    await allLines(await send(app.url, "/api/models/pull", { name: "gemma3:1b" }));
    await (await send(app.url, "/api/models/unload", { name: "gemma3:1b" })).body?.cancel();
    await (await send(app.url, "/api/models", { name: "gemma3:1b" }, { method: "DELETE" }))
      .body?.cancel();
    const used = new Set(ollama.requests.map((r) => r.path));
    for (const path of used) {
      assert(
        [
          "/api/chat",
          "/api/tags",
          "/api/ps",
          "/api/show",
          "/api/version",
          "/api/pull",
          "/api/delete",
        ]
          .includes(path),
        `unexpected call to ${path}`,
      );
    }
    assert(used.has("/api/pull") && used.has("/api/delete"));
  });
});
