/**
 * The built-in engine beyond the shared contract (tests/backend_contract.ts): queue places,
 * the queue limit, idle unload, model switches waiting for the answer in flight, answers cut by
 * a full context, and shutdown. A real model (SmolLM2 135M from `<DATA_DIR>/models`) answers;
 * the library is the real one, over a temporary folder of links to that file.
 */
import { join } from "node:path";
import { type ChatChunk, type ChatRequest, type GenerationOptions } from "./backend.ts";
import { BackendError } from "./backend.ts";
import { LlamaBackend, type LlamaBackendOptions } from "./llama.ts";
import { createModelLibrary } from "../models/folder.ts";
import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { modelPath } from "../../tests/helpers/builtin_model.ts";

/** Two dropped-in models ("one", "two") that are links to the same real file. */
async function withBackend(
  options: Partial<LlamaBackendOptions>,
  fn: (backend: LlamaBackend, models: { one: string; two: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "llama_test_" });
  await Deno.symlink(modelPath, join(dir, "one-135M-Q4_1.gguf"));
  await Deno.symlink(modelPath, join(dir, "two-135M-Q4_1.gguf"));
  const backend = new LlamaBackend({
    library: createModelLibrary({ dir }),
    threads: 2,
    contextSize: 1024,
    idleUnloadMs: 60_000,
    ...options,
  });
  try {
    await fn(backend, { one: "builtin/one-135m-q4_1", two: "builtin/two-135m-q4_1" });
  } finally {
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name: `llama - ${name}`,
    // llama.cpp's native threads and handles outlive a test by design (they are shared by the
    // process and released when the library is disposed), which the sanitizers count as leaks.
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });

function limited(tokens: number): GenerationOptions {
  return { temperature: 0, num_predict: tokens } as GenerationOptions;
}

interface Run {
  readonly places: number[];
  readonly chunks: ChatChunk[];
  /** Resolves with the error (or undefined) once the answer has ended. */
  readonly ended: Promise<unknown>;
  readonly firstChunk: Promise<void>;
  readonly controller: AbortController;
}

/** Starts an answer now (the request joins the queue synchronously) and records it. */
function start(backend: LlamaBackend, request: Omit<ChatRequest, "onQueue">): Run {
  const places: number[] = [];
  const chunks: ChatChunk[] = [];
  const controller = new AbortController();
  const first = Promise.withResolvers<void>();
  const iterator = backend.chat({ ...request, onQueue: (p) => places.push(p) }, controller.signal)
    [Symbol.asyncIterator]();
  const ended = (async () => {
    try {
      while (true) {
        const next = await iterator.next();
        if (next.done) return undefined;
        chunks.push(next.value);
        first.resolve();
      }
    } catch (error) {
      return error;
    } finally {
      first.resolve();
    }
  })();
  return { places, chunks, ended, firstChunk: first.promise, controller };
}

const ask = (model: string, tokens = 16) => ({
  model,
  messages: [{ role: "user" as const, content: "Tell me a long story about a fox." }],
  options: limited(tokens),
});

async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test("waiting answers hear their place and move up when one leaves", async () => {
  await withBackend({}, async (backend, { one }) => {
    await backend.load(one);
    const a = start(backend, ask(one, 24));
    await a.firstChunk;
    const b = start(backend, ask(one, 8));
    const c = start(backend, ask(one, 8));
    const d = start(backend, ask(one, 8));
    await new Promise((r) => setTimeout(r, 0));
    assertEquals([b.places, c.places, d.places], [[1], [2], [3]]);
    c.controller.abort("stopped");
    const cError = await c.ended;
    assert(cError instanceof BackendError && cError.kind === "aborted", String(cError));
    assertEquals(d.places, [3, 2], "the one behind moved up at once");
    assertEquals(await a.ended, undefined);
    assertEquals(await b.ended, undefined);
    assertEquals(await d.ended, undefined);
    assertEquals(a.places, [], "the first one never waited");
    assertEquals(b.places, [1, 0]);
    assertEquals(c.places, [2]);
    assertEquals(d.places, [3, 2, 1, 0]);
    for (const run of [a, b, d]) assert(run.chunks.at(-1)?.done, "every answer finished");
  });
});

test("beyond maxQueue an answer is refused as busy", async () => {
  await withBackend({ maxQueue: 1 }, async (backend, { one }) => {
    await backend.load(one);
    const a = start(backend, ask(one, 16));
    await a.firstChunk;
    const b = start(backend, ask(one, 4));
    const c = start(backend, ask(one, 4));
    const refused = await c.ended;
    assert(refused instanceof BackendError && refused.kind === "busy", String(refused));
    assertEquals(await a.ended, undefined);
    assertEquals(await b.ended, undefined);
  });
});

test("an idle model is unloaded after idleUnloadMs", async () => {
  await withBackend({ idleUnloadMs: 300 }, async (backend, { one }) => {
    const run = start(backend, ask(one, 4));
    assertEquals(await run.ended, undefined);
    assertEquals((await backend.loaded()).map((m) => m.name), [one]);
    await until(async () => (await backend.loaded()).length === 0, "the idle unload");
    // And it comes back on the next answer.
    assertEquals(await start(backend, ask(one, 4)).ended, undefined);
    assertEquals((await backend.loaded()).map((m) => m.name), [one]);
  });
});

test("loading another model waits for the answer in flight", async () => {
  await withBackend({}, async (backend, { one, two }) => {
    await backend.load(one);
    const a = start(backend, ask(one, 24));
    await a.firstChunk;
    const events: string[] = [];
    const answered = a.ended.then((error) => events.push(`answer ${String(error)}`));
    const loaded = backend.load(two).then(() => events.push("loaded two"));
    await Promise.all([answered, loaded]);
    assertEquals(events, ["answer undefined", "loaded two"]);
    assert(a.chunks.at(-1)?.done, "the answer finished");
    assertEquals((await backend.loaded()).map((m) => m.name), [two]);
  });
});

test("an answer that fills the context is cut with reason length", async () => {
  // 256 tokens of context, most of them taken by the prompt: the answer runs out of room.
  await withBackend({ contextSize: 256 }, async (backend, { one }) => {
    const filler = "The sea was calm and the sky was grey. ".repeat(18);
    const run = start(backend, {
      model: one,
      messages: [
        { role: "system", content: filler },
        { role: "user", content: "Write a very long story about a ship, at least 2000 words." },
      ],
      options: { temperature: 0 },
    });
    assertEquals(await run.ended, undefined);
    const done = run.chunks.at(-1);
    assert(done?.done, "no done chunk");
    assertEquals(done.reason, "length");
    const prompt = done.promptEvalCount ?? 0;
    const answer = done.evalCount ?? 0;
    assert(prompt > 150, `prompt ${prompt} tokens`);
    assert(answer > 0 && prompt + answer <= 256, `prompt ${prompt} + answer ${answer} > 256`);
  });
});

test("num_ctx gives the answer a context of that size", async () => {
  await withBackend({ contextSize: 1024 }, async (backend, { one }) => {
    const filler = "The sea was calm and the sky was grey. ".repeat(18);
    const run = start(backend, {
      model: one,
      messages: [
        { role: "system", content: filler },
        { role: "user", content: "Write a very long story about a ship, at least 2000 words." },
      ],
      options: { temperature: 0, num_ctx: 256 },
    });
    assertEquals(await run.ended, undefined);
    const done = run.chunks.at(-1);
    assert(done?.done && done.reason === "length", JSON.stringify(done));
    assert((done.promptEvalCount ?? 0) + (done.evalCount ?? 0) <= 256, JSON.stringify(done));
  });
});

test("close() ends the running and the waiting answers", async () => {
  await withBackend({}, async (backend, { one }) => {
    await backend.load(one);
    const a = start(backend, ask(one, 200));
    await a.firstChunk;
    const b = start(backend, ask(one, 8));
    await backend.close();
    const [aError, bError] = await Promise.all([a.ended, b.ended]);
    assert(aError instanceof BackendError && aError.kind === "failed", String(aError));
    assert(bError instanceof BackendError && bError.kind === "failed", String(bError));
    assertEquals(await backend.loaded(), []);
    assertEquals((await backend.health()).reachable, false);
  });
});

test("health names the engine", async () => {
  await withBackend({}, async (backend) => {
    assertEquals(await backend.health(), {
      reachable: true,
      version: "llama.cpp (node-llama-cpp 3.21.1)",
    });
  });
});
