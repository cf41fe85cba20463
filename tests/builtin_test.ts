/**
 * The built-in engine through the whole app: the real app on port 0, real WebSocket clients and
 * the real SmolLM2 135M model (tests/helpers/builtin_model.ts fetches it once into DATA_DIR).
 * Ollama is either nowhere (a closed loopback port) or the fake one, the only stand-in.
 *
 * The tests that run llama.cpp turn Deno's op and resource sanitizers off: llama.cpp's native
 * threads and handles are shared by the process and outlive one test by design (they go when
 * the library is disposed), which the sanitizers would count as leaks.
 */
import { join } from "node:path";
import { FakeOllama } from "./fake_ollama.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { startTestApp, type TestApp } from "./helpers/app.ts";
import { dataDir, modelName, modelPath } from "./helpers/builtin_model.ts";
import { withApp } from "./helpers/fixture.ts";
import { TestClient } from "./helpers/ws_client.ts";
import type { AnswerEndFrame, ServerFrame } from "../lib/protocol.ts";
import { unusedPort } from "./helpers/ports.ts";

type Env = Record<string, string>;

/** The catalogue's size of SmolLM2-135M-Instruct.Q4_1.gguf. */
const MODEL_BYTES = 98_362_432;
const MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf";

/**
 * How long a test waits for one real answer before calling it stuck: the first loads the model,
 * and two busy cores made a 48-token answer take over 30 s (the clients' default bound).
 */
const ANSWER_TIMEOUT_MS = 120_000;

/** Built-in models on, over the helper's models folder, and no Ollama anywhere. */
function noOllama(env: Env = {}): Env {
  return {
    OLLAMA_HOST: `127.0.0.1:${unusedPort()}`,
    BUILTIN_MODELS: "on",
    DATA_DIR: dataDir,
    // Same prompt, same answer: the tests don't depend on the sampler's luck.
    MODEL_TEMPERATURE: "0",
    ...env,
  };
}

function builtinTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `builtin - ${name}`,
    // llama.cpp's native handles and threads outlive the test (see the top of the file).
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** The app plus clients that are all closed, and the app shut down, whatever happens. */
async function withBuiltinApp(
  env: Env,
  test: (app: TestApp, client: () => Promise<TestClient>) => Promise<void>,
): Promise<void> {
  const app = await startTestApp(env);
  const clients: TestClient[] = [];
  try {
    await test(app, async () => {
      const client = await TestClient.open(app.wsUrl);
      clients.push(client);
      return client;
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await app.shutdown();
  }
}

interface ModelEntry {
  name: string;
  size: number;
  source: string;
  available: boolean;
  loaded: boolean;
  parameterSize: string;
  quantization: string;
}

interface ModelsBody {
  models: ModelEntry[];
  defaultModel: string;
}

interface HealthBody {
  status: string;
  app: { defaultModel: string };
  ollama: { url: string; reachable: boolean; reason?: string };
  builtin: { enabled: boolean; serving?: boolean; version?: string };
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { headers: { accept: "application/json" } });
  return { status: response.status, body: await response.json() as T };
}

/** The `defaultModel` a brand-new connection is greeted with (no probe is forced by it). */
async function helloDefault(app: TestApp): Promise<string> {
  const client = await TestClient.open(app.wsUrl);
  try {
    const hello = client.frames.find((f) => f.type === "hello");
    assert(hello?.type === "hello", "the first frame is hello");
    return hello.defaultModel;
  } finally {
    await client.close();
  }
}

/** Polls `probe` every 100 ms until it returns true, for at most `ms`; says what it saw last. */
async function eventually(
  what: string,
  ms: number,
  probe: () => Promise<{ ok: boolean; seen: unknown }>,
): Promise<void> {
  const deadline = performance.now() + ms;
  let seen: unknown;
  while (performance.now() < deadline) {
    const result = await probe();
    if (result.ok) return;
    seen = result.seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${ms} ms; last seen ${JSON.stringify(seen)}`);
}

function assertRealText(content: string, what: string): void {
  assertMatch(content, /[A-Za-z]{2,}/, `${what} is real text: ${JSON.stringify(content)}`);
}

/** The answer's frames on one client, with the time each arrived. */
function timeline(client: TestClient): { frame: ServerFrame; at: number }[] {
  const seen: { frame: ServerFrame; at: number }[] = [];
  client.socket.addEventListener("message", (event) => {
    seen.push({ frame: JSON.parse(event.data as string) as ServerFrame, at: performance.now() });
  });
  return seen;
}

// ---------------------------------------------------------------------------------------------

builtinTest("with no Ollama the app serves the built-in model end to end", async () => {
  // The helper fetched the model; the app must find it in its own models folder.
  assertEquals(modelPath, join(dataDir, "models", MODEL_FILE));
  await withBuiltinApp(noOllama({ MODEL_NUM_PREDICT: "48" }), async (app, client) => {
    const health = await getJson<HealthBody>(`${app.url}/health`);
    assertEquals(health.status, 200, `/health: ${JSON.stringify(health.body)}`);
    assertEquals(health.body.ollama.reachable, false);
    assertEquals(health.body.builtin.enabled, true);
    assertEquals(health.body.builtin.serving, true);
    assertEquals(health.body.status, "degraded");
    assertEquals(health.body.app.defaultModel, modelName);

    const models = await getJson<ModelsBody>(`${app.url}/api/models`);
    assertEquals(models.status, 200, `/api/models: ${JSON.stringify(models.body)}`);
    assertEquals(models.body.defaultModel, modelName);
    assertEquals(models.body.models.map((m) => m.name), [modelName]);
    const [entry] = models.body.models;
    assertEquals(
      {
        source: entry!.source,
        size: entry!.size,
        available: entry!.available,
        parameterSize: entry!.parameterSize,
        quantization: entry!.quantization,
      },
      {
        source: "builtin",
        size: MODEL_BYTES,
        available: true,
        parameterSize: "135M",
        quantization: "Q4_1",
      },
    );

    const ws = await client();
    const hello = ws.frames[0];
    assert(hello?.type === "hello");
    assertEquals(hello.defaultModel, modelName, "the hello offers the built-in model");

    const { start, end, content, deltas, lastSeq } = await ws.ask(
      hello.defaultModel,
      "Name three colours of the rainbow.",
      [],
      ANSWER_TIMEOUT_MS,
    );
    assertEquals(start.model, modelName);
    assert(deltas >= 3, `the answer streamed in several deltas, got ${deltas}`);
    assertRealText(content, "the answer");
    assert(
      end.reason === "stop" || end.reason === "length",
      `the answer ends normally: ${JSON.stringify(end)}`,
    );
    // Tokens closer than DELTA_MERGE_MS share a frame (`from`..`seq`), so frames may be fewer.
    assertEquals(end.seq, lastSeq, "answer.end carries the last delta's seq");
    const stats = end.stats;
    assert(stats, "the end has stats");
    assert((stats.tokens ?? 0) > 0, `tokens counted: ${JSON.stringify(stats)}`);
    assert((stats.tokens ?? 0) <= 48, `MODEL_NUM_PREDICT=48 caps the answer: ${stats.tokens}`);
    if (end.reason === "length") assertEquals(stats.tokens, 48);
    assert((stats.tokensPerSecond ?? 0) > 0, `a speed: ${JSON.stringify(stats)}`);
    assert(stats.ttftMs >= 0 && stats.totalMs >= stats.ttftMs, JSON.stringify(stats));
  });
});

builtinTest("Stop mid-answer ends it as stopped at once and keeps the partial text", async () => {
  await withBuiltinApp(noOllama({ MODEL_NUM_PREDICT: "400" }), async (_app, client) => {
    const ws = await client();
    const requestId = crypto.randomUUID();
    ws.send({
      type: "chat",
      requestId,
      model: modelName,
      messages: [{ role: "user", content: "Write a long essay about the history of bread." }],
    });
    const start = await ws.next("answer.start", (f) => f.requestId === requestId);
    // Two deltas in: the answer is streaming.
    await ws.next("answer.delta", (f) => f.answerId === start.answerId);
    await ws.next("answer.delta", (f) => f.answerId === start.answerId);
    ws.send({ type: "stop", answerId: start.answerId });
    const end = await ws.next("answer.end", (f) => f.answerId === start.answerId);
    assertEquals(end.reason, "stopped", `the answer ended as stopped: ${JSON.stringify(end)}`);
    const partial = ws.answerText(start.answerId);
    assert(partial.deltas >= 2, "the deltas before the stop were kept");
    assertEquals(end.seq, partial.lastSeq, "nothing was sent but what the end accounts for");
    assertRealText(partial.content, "the partial answer");
    assert(
      (end.stats?.tokens ?? 0) === 0 || (end.stats?.tokens ?? 0) < 400,
      "not the whole answer",
    );

    // The engine is free again: the next prompt is answered.
    const next = await ws.ask(modelName, "Say hello.", [], ANSWER_TIMEOUT_MS);
    assert(next.end.reason === "stop" || next.end.reason === "length", JSON.stringify(next.end));
    assertRealText(next.content, "the next answer");
    assert(
      !ws.frames.some((f) =>
        f.type === "answer.delta" && f.answerId === start.answerId &&
        f.seq > end.seq
      ),
      "no delta of the stopped answer came after its end",
    );
  });
});

builtinTest(
  "two prompts at once: one waits in line (answer.queued 1), both are answered",
  async () => {
    await withBuiltinApp(noOllama({ MODEL_NUM_PREDICT: "32" }), async (_app, client) => {
      const [a, b] = [await client(), await client()];
      const lines = [timeline(a), timeline(b)];
      const [answerA, answerB] = await Promise.all([
        a.ask(modelName, "What is bread made of?", [], ANSWER_TIMEOUT_MS),
        b.ask(modelName, "What is cheese made of?", [], ANSWER_TIMEOUT_MS),
      ]);
      const answers = [answerA, answerB];
      for (const [i, answer] of answers.entries()) {
        assert(
          answer.end.reason === "stop" || answer.end.reason === "length",
          `answer ${i} ends normally: ${JSON.stringify(answer.end)}`,
        );
        assertRealText(answer.content, `answer ${i}`);
        assert(answer.deltas >= 2, `answer ${i} streamed`);
      }
      const queuedOf = (client: TestClient, answerId: string) =>
        client.frames.filter((f) => f.type === "answer.queued" && f.answerId === answerId);
      const queued = [queuedOf(a, answerA.start.answerId), queuedOf(b, answerB.start.answerId)];
      const waited = queued.findIndex((frames) => frames.length > 0);
      assert(waited >= 0, "one of the two answers was told it waits");
      assertEquals(queued[1 - waited], [], "the answer served first was never queued");
      assertEquals(
        queued[waited]!.map((f) => f.type === "answer.queued" && f.position),
        [1],
        "the waiting answer is next in line",
      );

      // In line means in line: it is queued before its first word, which comes after the other
      // answer's last one (one sequence, answers take turns).
      const waiter = lines[waited]!;
      const waiterId = answers[waited]!.start.answerId;
      const firstOfWaiter = waiter.findIndex((e) =>
        e.frame.type === "answer.delta" && e.frame.answerId === waiterId
      );
      const queuedAt = waiter.findIndex((e) => e.frame.type === "answer.queued");
      assert(queuedAt >= 0 && queuedAt < firstOfWaiter, "queued before the first delta");
      const other = lines[1 - waited]!;
      const lastOfOther = other.findLast((e) => e.frame.type === "answer.delta")!;
      assert(
        waiter[firstOfWaiter]!.at >= lastOfOther.at,
        "the waiting answer began after the first one had finished streaming",
      );
    });
  },
);

builtinTest("Ollama appearing and going away is noticed without a restart", async () => {
  const port = unusedPort();
  await withBuiltinApp(
    noOllama({ OLLAMA_HOST: `127.0.0.1:${port}`, OLLAMA_PROBE_INTERVAL: "1" }),
    async (app) => {
      const before = await getJson<ModelsBody>(`${app.url}/api/models`);
      assertEquals(before.body.defaultModel, modelName);
      assertEquals(before.body.models.map((m) => m.name), [modelName]);
      assertEquals(await helloDefault(app), modelName);

      const ollama = await FakeOllama.start({ port });
      try {
        // Only the periodic probe updates what a new connection is greeted with (the HTTP
        // routes check Ollama themselves), so this waits on the probe alone.
        await eventually("the probe noticed Ollama", 4000, async () => {
          const seen = await helloDefault(app);
          return { ok: seen === "llama3.2", seen };
        });
        const models = await getJson<ModelsBody>(`${app.url}/api/models`);
        assertEquals(models.body.defaultModel, "llama3.2");
        assertEquals(
          models.body.models.map((m) => [m.name, m.source]),
          [["llama3.2:latest", "ollama"], ["qwen3:0.6b", "ollama"], [modelName, "builtin"]],
          "Ollama's models first, then the built-in ones",
        );
        const health = await getJson<HealthBody>(`${app.url}/health`);
        assertEquals([health.status, health.body.status], [200, "ok"]);
        assertEquals(health.body.ollama.reachable, true);
        assertEquals(health.body.app.defaultModel, "llama3.2");
      } finally {
        await ollama.close();
      }

      await eventually("the probe noticed Ollama leave", 4000, async () => {
        const seen = await helloDefault(app);
        return { ok: seen === modelName, seen };
      });
      const after = await getJson<ModelsBody>(`${app.url}/api/models`);
      assertEquals(after.status, 200);
      assertEquals(after.body.defaultModel, modelName);
      assertEquals(after.body.models.map((m) => [m.name, m.source]), [[modelName, "builtin"]]);
      const health = await getJson<HealthBody>(`${app.url}/health`);
      assertEquals([health.status, health.body.status], [200, "degraded"]);
      assertEquals(health.body.ollama.reachable, false);
    },
  );
});

Deno.test("builtin - BUILTIN_MODELS=off lists none, refuses them, and /health needs Ollama", async () => {
  await withApp({ BUILTIN_MODELS: "off" }, async ({ app, client }) => {
    const models = await getJson<ModelsBody>(`${app.url}/api/models`);
    assertEquals(models.status, 200);
    assertEquals(models.body.models.map((m) => [m.name, m.source]), [
      ["llama3.2:latest", "ollama"],
      ["qwen3:0.6b", "ollama"],
    ]);
    assertEquals(models.body.defaultModel, "llama3.2");
    const health = await getJson<HealthBody>(`${app.url}/health`);
    assertEquals(health.status, 200);
    assertEquals(health.body.builtin, { enabled: false });

    const ws = await client();
    const { end } = await ws.ask(modelName, "Hello?");
    assertEquals(end.reason, "error");
    assertEquals((end as AnswerEndFrame).error?.code, "model_not_found");
    assertMatch(end.error?.message ?? "", /BUILTIN_MODELS=off/);
  });

  const app = await startTestApp({
    OLLAMA_HOST: `127.0.0.1:${unusedPort()}`,
    BUILTIN_MODELS: "off",
    DATA_DIR: dataDir,
  });
  try {
    const health = await getJson<HealthBody>(`${app.url}/health`);
    assertEquals(health.status, 503, `/health: ${JSON.stringify(health.body)}`);
    assertEquals(health.body.status, "unavailable");
    assertEquals(health.body.ollama.reachable, false);
    assertEquals(health.body.builtin, { enabled: false });
    assertEquals(health.body.app.defaultModel, "llama3.2", "no built-in fallback");
    const models = await fetch(`${app.url}/api/models`);
    assertEquals(models.status, 503, "no model server: the list fails instead of being empty");
    await models.body?.cancel();
    assertEquals(await helloDefault(app), "llama3.2");
  } finally {
    await app.shutdown();
  }
});

builtinTest(
  "loading a model that is not downloaded streams its progress, then it is ready",
  async () => {
    const fresh = await Deno.makeTempDir({ prefix: "builtin_load_" });
    try {
      await withBuiltinApp(noOllama({ DATA_DIR: fresh }), async (app) => {
        const listed = await getJson<ModelsBody>(`${app.url}/api/models`);
        assertEquals(
          listed.body.models.map((m) => [m.name, m.available]),
          [[modelName, false]],
          "listed, not downloaded yet",
        );

        const response = await fetch(`${app.url}/api/models/load`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/x-ndjson" },
          body: JSON.stringify({ model: modelName }),
        });
        assertEquals(response.status, 200);
        assertEquals(response.headers.get("content-type"), "application/x-ndjson");
        const text = await response.text();
        const lines = text.trimEnd().split("\n").map((line) => JSON.parse(line));
        const last = lines.at(-1);
        assertEquals(
          last,
          { model: modelName, loaded: true },
          `the last line: ${text.slice(-500)}`,
        );
        const progress = lines.slice(0, -1).map((line) => {
          assert(line.progress, `every other line is progress: ${JSON.stringify(line)}`);
          return line.progress as { status: string; completed?: number; total?: number };
        });

        // Phases in order: downloading, verifying, loading.
        const order = progress.map((p) => p.status).filter((s, i, all) => s !== all[i - 1]);
        assertEquals(order, ["downloading", "verifying", "loading"], JSON.stringify(order));
        const sized = progress.filter((p) => p.status === "downloading" && (p.total ?? 0) > 0);
        assert(sized.length >= 2, `the download reports bytes as it goes: ${sized.length} lines`);
        for (const p of sized) assertEquals(p.total, MODEL_BYTES);
        const done = sized.map((p) => p.completed ?? -1);
        assert(done.every((n, i) => n >= (done[i - 1] ?? 0)), `bytes only grow: ${done}`);
        assert(done[0]! < MODEL_BYTES, "the first report comes before the end");
        assertEquals(done.at(-1), MODEL_BYTES, "the last report is the whole file");

        const models = join(fresh, "models");
        assertEquals((await Deno.stat(join(models, MODEL_FILE))).size, MODEL_BYTES);
        const leftovers: string[] = [];
        for await (const entry of Deno.readDir(models)) {
          if (entry.name.endsWith(".part") || entry.name.startsWith(".pip-")) {
            leftovers.push(entry.name);
          }
        }
        assertEquals(leftovers, [], "no partial download or pip folder is left behind");

        const after = await getJson<ModelsBody>(`${app.url}/api/models`);
        assertEquals(
          after.body.models.map((m) => [m.name, m.available, m.loaded]),
          [[modelName, true, true]],
          "downloaded and in memory",
        );
      });
    } finally {
      await Deno.remove(fresh, { recursive: true });
    }
  },
);
