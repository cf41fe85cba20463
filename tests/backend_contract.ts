/**
 * What every {@link Backend} must do, as one suite each backend runs (see
 * backend_contract_test.ts): listing, loading, streaming with figures, Stop, unknown models,
 * two answers at once, and answers cut for length.
 *
 * Answers are limited with Ollama's `num_predict` option, which the fake Ollama honours and the
 * built-in engine takes as its token limit, so the suite stays quick on a real model.
 */
import {
  type Backend,
  BackendError,
  type ChatChunk,
  type ChatRequest,
  type GenerationOptions,
} from "../lib/backends/backend.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

export interface ContractSubject {
  readonly backend: Backend;
  /** An installed model the backend can answer with. */
  readonly model: string;
  /**
   * True when the backend answers one request at a time and tells the waiting ones their place
   * (`onQueue`); false when it answers requests side by side.
   */
  readonly queues: boolean;
  teardown(): Promise<void>;
}

export interface ContractOptions {
  /** Passed to every `Deno.test` (e.g. sanitizers a native library forces off). */
  readonly testOptions?: Omit<Deno.TestDefinition, "name" | "fn">;
}

/** Deterministic answers (greedy sampling) of at most `tokens` tokens. */
function limited(tokens: number): GenerationOptions {
  return { temperature: 0, num_predict: tokens };
}

const STORY = "Tell me a long story about a cat who learns to sail. Use many paragraphs.";

interface Collected {
  readonly parts: (ChatChunk & { done: false })[];
  readonly done: (ChatChunk & { done: true }) | undefined;
  readonly text: string;
  readonly error: unknown;
}

async function collect(
  backend: Backend,
  request: ChatRequest,
  signal: AbortSignal = new AbortController().signal,
  onChunk?: (chunk: ChatChunk, index: number) => void,
): Promise<Collected> {
  const parts: (ChatChunk & { done: false })[] = [];
  let done: (ChatChunk & { done: true }) | undefined;
  let text = "";
  let error: unknown;
  try {
    for await (const chunk of backend.chat(request, signal)) {
      assert(done === undefined, "no chunk may follow the done chunk");
      text += chunk.content;
      if (chunk.done) done = chunk;
      else parts.push(chunk);
      onChunk?.(chunk, parts.length - 1);
    }
  } catch (e) {
    error = e;
  }
  return { parts, done, text, error };
}

function assertKind(error: unknown, kind: BackendError["kind"]): void {
  assert(error instanceof BackendError, `expected a BackendError, got ${String(error)}`);
  assertEquals(error.kind, kind, `expected kind ${kind}: ${error.message}`);
}

function assertFinished(result: Collected, label: string): void {
  assertEquals(result.error, undefined, `${label}: ${String(result.error)}`);
  assert(result.done, `${label}: no done chunk`);
  assert(result.parts.length >= 2, `${label}: ${result.parts.length} chunks, want several`);
  assert(result.text.trim() !== "", `${label}: empty answer`);
}

export function backendContract(
  name: string,
  setup: () => Promise<ContractSubject>,
  options: ContractOptions = {},
): void {
  const test = (title: string, fn: (subject: ContractSubject) => Promise<void>) =>
    Deno.test({
      name: `contract ${name} - ${title}`,
      ...options.testOptions,
      async fn() {
        const subject = await setup();
        try {
          await fn(subject);
        } finally {
          await subject.teardown();
        }
      },
    });

  test("list includes the model", async ({ backend, model }) => {
    const models = await backend.list();
    const found = models.find((m) => m.name === model);
    assert(found, `${model} not in ${models.map((m) => m.name).join(", ")}`);
    assert(found.available, "the model is listed as not available");
    assert(found.size > 0, "the model has no size");
    assert(found.capabilities.includes("completion"), "the model cannot complete");
  });

  test("load then loaded() shows it", async ({ backend, model }) => {
    await backend.load(model);
    const loaded = await backend.loaded();
    const found = loaded.find((m) => m.name === model);
    assert(found, `${model} not in loaded(): ${JSON.stringify(loaded)}`);
    assert(found.size > 0, "a loaded model has a size");
  });

  test("streams several chunks then one done with figures", async ({ backend, model }) => {
    const result = await collect(backend, {
      model,
      messages: [
        { role: "system", content: "You are a storyteller." },
        { role: "user", content: STORY },
      ],
      options: limited(24),
    });
    assertFinished(result, "answer");
    assert(result.parts.every((p) => p.content !== "" || p.thinking !== ""), "empty chunk");
    const done = result.done!;
    assert((done.evalCount ?? 0) > 0, `evalCount ${done.evalCount}`);
    assert((done.evalDurationNs ?? 0) > 0, `evalDurationNs ${done.evalDurationNs}`);
    assert((done.promptEvalCount ?? 0) > 0, `promptEvalCount ${done.promptEvalCount}`);
    assert(done.reason === "stop" || done.reason === "length", `reason ${done.reason}`);
  });

  test("Stop mid-answer ends the stream as aborted", async ({ backend, model }) => {
    const controller = new AbortController();
    let afterStop = 0;
    const result = await collect(
      backend,
      { model, messages: [{ role: "user", content: STORY }], options: limited(200) },
      controller.signal,
      () => {
        if (controller.signal.aborted) afterStop++;
        else controller.abort("stopped");
      },
    );
    assertKind(result.error, "aborted");
    assertEquals(afterStop, 0, "chunks arrived after Stop");
    assertEquals(result.done, undefined);
    // The backend is free again: a new answer goes through.
    const again = await collect(backend, {
      model,
      messages: [{ role: "user", content: "Say hello." }],
      options: limited(8),
    });
    assertEquals(again.error, undefined, String(again.error));
    assert(again.done, "the answer after Stop did not finish");
  });

  test("Stop before the first chunk ends it as aborted", async ({ backend, model }) => {
    const controller = new AbortController();
    controller.abort("stopped");
    const result = await collect(
      backend,
      { model, messages: [{ role: "user", content: STORY }], options: limited(8) },
      controller.signal,
    );
    assertKind(result.error, "aborted");
    assertEquals(result.parts.length, 0);
  });

  test("an unknown model is not_found", async ({ backend, model }) => {
    const missing = `${model}-missing`;
    const result = await collect(backend, {
      model: missing,
      messages: [{ role: "user", content: "Hi" }],
      options: limited(4),
    });
    assertKind(result.error, "not_found");
    let loadError: unknown;
    await backend.load(missing).catch((e) => loadError = e);
    assertKind(loadError, "not_found");
  });

  test("two prompts at once both finish", async ({ backend, model, queues }) => {
    const places: number[][] = [[], []];
    const ask = (i: number, content: string) =>
      collect(backend, {
        model,
        messages: [{ role: "user", content }],
        options: limited(16),
        onQueue: (position) => places[i]!.push(position),
      });
    const [a, b] = await Promise.all([
      ask(0, "Tell me a story about a dog."),
      ask(1, "Tell me a story about a bird."),
    ]);
    assertFinished(a, "first");
    assertFinished(b, "second");
    if (queues) {
      // One answered at once, the other waited as next in line and was told when it started.
      const waited = places.filter((p) => p.length > 0);
      assertEquals(waited.length, 1, `queue places ${JSON.stringify(places)}`);
      assertEquals(waited[0], [1, 0]);
    } else {
      assertEquals(places, [[], []], "a backend that answers side by side does not queue");
    }
  });

  test("a long answer is cut with reason length", async ({ backend, model }) => {
    const result = await collect(backend, {
      model,
      messages: [{ role: "user", content: STORY }],
      options: limited(3),
    });
    assertEquals(result.error, undefined, String(result.error));
    assert(result.done, "no done chunk");
    assertEquals(result.done.reason, "length");
    assert(result.text !== "", "the cut answer kept no text");
    assert((result.done.evalCount ?? 0) <= 3, `evalCount ${result.done.evalCount} over limit`);
  });
}
