import assert from "node:assert/strict";
import { type ChatResponse, Ollama } from "ollama";
import { FakeOllama, type FakeOllamaOptions } from "./fake_ollama.ts";

async function withFake(
  fn: (fake: FakeOllama, client: Ollama) => Promise<void>,
  options?: FakeOllamaOptions,
): Promise<void> {
  const fake = await FakeOllama.start(options);
  try {
    await fn(fake, new Ollama({ host: fake.url }));
  } finally {
    await fake.close();
  }
}

function post(fake: FakeOllama, path: string, body: unknown, init: RequestInit = {}) {
  return fetch(fake.url + path, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

async function lines(res: Response): Promise<Record<string, unknown>[]> {
  return (await res.text()).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

async function errorOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

const hi = [{ role: "user", content: "hi there" }];

Deno.test("fake ollama - streamed chat over fetch follows the wire format", async () => {
  await withFake(async (fake) => {
    const res = await post(fake, "/api/chat", { model: "LLAMA3.2", messages: hi });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-ndjson");
    const all = await lines(res);
    const done = all.at(-1)!;
    assert.equal(all.length, 9);
    assert.ok(all.slice(0, -1).every((l) => l.done === false && l.model === "LLAMA3.2"));
    const text = all.map((l) => (l.message as { content: string }).content).join("");
    assert.equal(text, 'You said: "hi there". This is a fake answer.');
    assert.equal(done.done, true);
    assert.equal(done.done_reason, "stop");
    assert.equal(done.eval_count, 8);
    assert.equal(done.eval_duration, 8 * 20_000_000);
    for (const key of ["total_duration", "load_duration", "prompt_eval_count"]) {
      assert.ok(Number.isInteger(done[key]) && (done[key] as number) > 0, key);
    }
    assert.match(String(done.created_at), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.ok(fake.loaded.has("llama3.2:latest"));
    const rec = await fake.waitForRequest((r) => r.path === "/api/chat");
    assert.deepEqual(rec.body, { model: "LLAMA3.2", messages: hi });
    assert.equal(rec.finished, true);
    assert.equal(rec.aborted, false);
  });
});

Deno.test("fake ollama - chat through the npm client, streamed and not", async () => {
  await withFake(async (fake, client) => {
    fake.reply = () => ["a", "b", "c"];
    let text = "";
    for await (const part of await client.chat({ model: "llama3.2", messages: hi, stream: true })) {
      text += part.message.content;
      if (part.done) assert.equal(part.eval_count, 3);
    }
    assert.equal(text, "abc");
    const whole = await client.chat({ model: "llama3.2", messages: hi });
    assert.equal(whole.message.content, "abc");
    assert.equal(whole.done_reason, "stop");
    assert.equal(whole.eval_count, 3);
    const capped = await client.chat({
      model: "llama3.2",
      messages: hi,
      options: { num_predict: 2 },
    });
    assert.equal(capped.message.content, "ab");
    assert.equal(capped.done_reason, "length");
  });
});

Deno.test("fake ollama - generate streams response and ends with context", async () => {
  await withFake(async (fake, client) => {
    const all = await lines(await post(fake, "/api/generate", { model: "llama3.2", prompt: "yo" }));
    assert.equal(all.map((l) => l.response).join(""), 'You said: "yo". This is a fake answer.');
    assert.ok(Array.isArray(all.at(-1)!.context));
    const whole = await client.generate({ model: "qwen3:0.6b", prompt: "yo" });
    assert.equal(whole.thinking, "Thinking about it.");
    assert.equal(whole.response, 'You said: "yo". This is a fake answer.');
  });
});

Deno.test("fake ollama - thinking models think first unless told not to", async () => {
  await withFake(async (fake, client) => {
    const all = await lines(await post(fake, "/api/chat", { model: "qwen3:0.6b", messages: hi }));
    const messages = all.map((l) => l.message as { content: string; thinking?: string });
    assert.deepEqual(messages.slice(0, 3).map((m) => [m.thinking, m.content]), [
      ["Thinking ", ""],
      ["about ", ""],
      ["it.", ""],
    ]);
    assert.equal(all.at(-1)!.eval_count, 11);
    const plain = await client.chat({ model: "qwen3:0.6b", messages: hi, think: false });
    assert.equal(plain.message.thinking, undefined);
    const whole = await client.chat({ model: "qwen3:0.6b", messages: hi });
    assert.equal(whole.message.thinking, "Thinking about it.");
    const err = await errorOf(client.chat({ model: "llama3.2", messages: hi, think: true }));
    assert.equal(err.name, "ResponseError");
    assert.equal(err.status_code, 400);
    assert.equal(err.error, '"llama3.2" does not support thinking');
  });
});

Deno.test("fake ollama - load, unload and ps", async () => {
  await withFake(async (fake, client) => {
    fake.loadDelayMs = 30;
    const t0 = performance.now();
    const load = await (await post(fake, "/api/chat", { model: "llama3.2", messages: [] })).json();
    assert.ok(performance.now() - t0 >= 25);
    assert.equal(load.done_reason, "load");
    assert.deepEqual(load.message, { role: "assistant", content: "" });
    const ps = await client.ps();
    assert.deepEqual(ps.models.map((m) => m.name), ["llama3.2:latest"]);
    assert.equal(ps.models[0]!.details.parameter_size, "3.2B");
    const unload = await client.chat({ model: "llama3.2", messages: [], keep_alive: 0 });
    assert.equal(unload.done_reason, "unload");
    assert.deepEqual((await client.ps()).models, []);
    const gen = await client.generate({ model: "qwen3:0.6b", prompt: "" });
    assert.equal(gen.done_reason, "load");
    assert.deepEqual([...fake.loaded], ["qwen3:0.6b"]);
  });
});

Deno.test("fake ollama - tags, show, version and root", async () => {
  await withFake(async (fake, client) => {
    const tags = await client.list();
    assert.deepEqual(tags.models.map((m) => m.name), ["llama3.2:latest", "qwen3:0.6b"]);
    assert.equal(tags.models[0]!.details.quantization_level, "Q4_K_M");
    assert.match(String(tags.models[0]!.modified_at), /[+-]\d\d:\d\d$/);
    const show = await client.show({ model: "qwen3:0.6b" });
    assert.ok(show.capabilities.includes("thinking"));
    assert.equal(
      (show.model_info as unknown as Record<string, number>)["qwen3.context_length"],
      40960,
    );
    const missing = await errorOf(client.show({ model: "nope" }));
    assert.equal(missing.status_code, 404);
    assert.equal(missing.error, "model 'nope:latest' not found");
    assert.deepEqual(await client.version(), { version: "0.33.0" });
    const root = await fetch(fake.url);
    assert.equal(root.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await root.text(), "Ollama is running");
    const head = await fetch(fake.url + "/api/version", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  }, {
    models: [{ name: "llama3.2" }, {
      name: "qwen3:0.6b",
      capabilities: ["thinking"],
      family: "qwen3",
      contextLength: 40960,
    }],
  });
});

Deno.test("fake ollama - pull streams progress and installs the model", async () => {
  await withFake(async (fake, client) => {
    const statuses: string[] = [];
    for await (const p of await client.pull({ model: "gemma3:1b", stream: true })) {
      statuses.push(p.status);
      if (p.status.startsWith("pulling ") && p.status !== "pulling manifest") {
        assert.ok(p.total > 0 && p.digest.startsWith("sha256:"));
      }
    }
    assert.equal(statuses[0], "pulling manifest");
    assert.match(statuses[1]!, /^pulling [0-9a-f]{12}$/);
    assert.deepEqual(statuses.slice(-3), [
      "verifying sha256 digest",
      "writing manifest",
      "success",
    ]);
    assert.equal((await client.list()).models[0]!.name, "gemma3:1b");

    const err = await errorOf((async () => {
      for await (const _ of await client.pull({ model: "nope", stream: true })) { /* drain */ }
    })());
    assert.equal(err.message, "pull model manifest: file does not exist");
    const whole = await post(fake, "/api/pull", { model: "nope", stream: false });
    assert.equal(whole.status, 500);
    assert.deepEqual(await whole.json(), { error: "pull model manifest: file does not exist" });
  });
});

Deno.test("fake ollama - delete removes a model", async () => {
  await withFake(async (_fake, client) => {
    assert.deepEqual(await client.delete({ model: "llama3.2" }), { status: "success" });
    assert.deepEqual((await client.list()).models.map((m) => m.name), ["qwen3:0.6b"]);
    const err = await errorOf(client.delete({ model: "llama3.2" }));
    assert.equal(err.status_code, 404);
    assert.equal(err.error, "model 'llama3.2' not found");
  });
});

Deno.test("fake ollama - HTTP errors: 404, 405, 400, 503", async () => {
  await withFake(async (fake, client) => {
    const notFound = await fetch(fake.url + "/api/nothing");
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await notFound.text(), "404 page not found");
    const wrong = await fetch(fake.url + "/api/chat");
    assert.equal(wrong.status, 405);
    assert.equal(await wrong.text(), "405 method not allowed");
    const cases: [string, number, string][] = [
      ["", 400, "missing request body"],
      ["{}", 400, "model is required"],
      ["{nope", 400, "invalid character 'n' looking for beginning of value"],
      ['{"model":"xyz","messages":[]}', 404, "model 'xyz' not found"],
      ['{"model":"llama3.2","keep_alive":"300"}', 400, 'time: missing unit in duration "300"'],
    ];
    for (const [body, status, error] of cases) {
      const res = await post(fake, "/api/chat", body);
      assert.equal(res.status, status, body);
      assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
      assert.deepEqual(await res.json(), { error }, body);
    }
    const busy = "server busy, please try again.  maximum pending requests exceeded";
    fake.failWith = { status: 503, error: busy };
    const err = await errorOf(client.chat({ model: "llama3.2", messages: hi }));
    assert.equal(err.status_code, 503);
    assert.equal(err.error, busy);
  });
});

Deno.test("fake ollama - manual mode holds each line until release", async () => {
  await withFake(async (fake, client) => {
    fake.manual = true;
    fake.reply = () => ["one", "two"];
    const pending = client.chat({ model: "llama3.2", messages: hi, stream: true });
    assert.equal(await fake.waitForHeld(1), 1);
    fake.release();
    const it = (await pending)[Symbol.asyncIterator]();
    const next = async () => (await it.next()).value as ChatResponse | undefined;
    assert.equal((await next())?.message.content, "one");
    await fake.waitForHeld(1);
    fake.release(2);
    assert.equal((await next())?.message.content, "two");
    assert.equal((await next())?.done, true);
    assert.equal((await it.next()).done, true);
  });
});

Deno.test("fake ollama - dieAfterChunks breaks the stream", async () => {
  await withFake(async (fake, client) => {
    fake.dieAfterChunks = 2;
    const seen: string[] = [];
    const err = await errorOf((async () => {
      for await (const p of await client.chat({ model: "llama3.2", messages: hi, stream: true })) {
        seen.push(p.message.content);
      }
    })());
    assert.deepEqual(seen, ["You ", "said: "]);
    assert.notEqual(err.message, "Did not receive done or success response in stream.");
    const res = await post(fake, "/api/chat", { model: "llama3.2", messages: hi });
    await assert.rejects(res.text());
    assert.ok(fake.requests.every((r) => !r.finished && !r.aborted));
  });
});

Deno.test("fake ollama - errorAfterChunks ends the stream with an error line", async () => {
  await withFake(async (fake, client) => {
    fake.errorAfterChunks = { chunks: 3, message: "model runner has unexpectedly stopped" };
    const all = await lines(await post(fake, "/api/chat", { model: "llama3.2", messages: hi }));
    assert.equal(all.length, 4);
    assert.deepEqual(all[3], { error: "model runner has unexpectedly stopped" });
    const err = await errorOf((async () => {
      for await (const _ of await client.chat({ model: "llama3.2", messages: hi, stream: true })) {
        /* drain */
      }
    })());
    assert.equal(err.message, "model runner has unexpectedly stopped");
    fake.errorAfterChunks = { chunks: 0, message: "boom" };
    const early = await post(fake, "/api/chat", { model: "llama3.2", messages: hi });
    assert.equal(early.status, 500);
    assert.deepEqual(await early.json(), { error: "boom" });
  });
});

Deno.test("fake ollama - client aborts are recorded", async () => {
  await withFake(async (fake, client) => {
    fake.manual = true;
    fake.release(2);
    const stream = await client.chat({ model: "llama3.2", messages: hi, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    await fake.waitForHeld();
    stream.abort();
    await assert.rejects(it.next());
    const rec = await fake.waitForRequest((r) => r.path === "/api/chat");
    await rec.waitAborted();
    assert.equal(rec.finished, false);
    assert.equal(fake.heldChunks, 0);

    fake.manual = false;
    fake.hang = true;
    const ac = new AbortController();
    const hung = post(fake, "/api/generate", { model: "llama3.2", prompt: "x" }, {
      signal: ac.signal,
    });
    const hangRec = await fake.waitForRequest((r) => r.path === "/api/generate");
    ac.abort();
    await assert.rejects(hung);
    await hangRec.waitAborted();
    assert.equal(hangRec.aborted, true);
  });
});

Deno.test("fake ollama - close ends hanging and held requests", async () => {
  const fake = await FakeOllama.start();
  fake.hang = true;
  const hung = post(fake, "/api/chat", { model: "llama3.2", messages: hi }).then((r) => r.text());
  await fake.waitForRequest((r) => r.path === "/api/chat");
  fake.hang = false;
  fake.manual = true;
  fake.release(1);
  const held = await post(fake, "/api/chat", { model: "llama3.2", messages: hi });
  await fake.waitForHeld();
  const rest = held.text();
  await fake.close();
  await hung.catch(() => {});
  await assert.rejects(rest);
});

Deno.test("fake ollama - 1000 concurrent streams without token delay", async () => {
  await withFake(async (fake) => {
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const res = await post(fake, "/api/chat", {
          model: "llama3.2",
          messages: [{ role: "user", content: `q${i}` }],
        });
        return (await lines(res)).length;
      }),
    );
    assert.ok(answers.every((n) => n === 9));
    assert.ok(performance.now() - t0 < 15_000);
  });
});

Deno.test("fake ollama - tokenDelayMs paces lines and loadDelayMs delays the first", async () => {
  await withFake(async (fake, client) => {
    fake.tokenDelayMs = 10;
    fake.loadDelayMs = 40;
    fake.reply = () => ["a", "b", "c"];
    const t0 = performance.now();
    const stream = await client.chat({ model: "llama3.2", messages: hi, stream: true });
    assert.ok(performance.now() - t0 >= 45);
    const parts = [];
    for await (const part of stream) parts.push(part);
    const done = parts.at(-1)!;
    assert.ok(performance.now() - t0 >= 75);
    assert.ok(done.load_duration >= 35_000_000);
    assert.ok(done.eval_duration >= 25_000_000);
  });
});
