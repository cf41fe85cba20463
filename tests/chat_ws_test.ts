/**
 * The chat socket end to end: the real app on port 0, a fake Ollama on another, real
 * WebSocket clients. Each test asserts what the person's page would receive.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import { collectGarbage } from "./helpers/gc.ts";
import { RawWebSocket } from "./helpers/raw_ws.ts";
import { TestClient } from "./helpers/ws_client.ts";
import type { ServerFrame } from "../lib/protocol.ts";

const MODEL = "llama3.2";

Deno.test("chat - an answer streams as numbered deltas of only the new text", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.manual = true;
    ollama.reply = () => ["Hel", "lo", ", ", "world", "!"];
    const ws = await client();
    ws.send({
      type: "chat",
      requestId: "r",
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
    });
    const start = await ws.next("answer.start");
    assertEquals(start.model, MODEL);
    // A model's pace: each token comes after the last one was shown, so each is its own delta.
    for (let seq = 1; seq <= 5; seq++) {
      ollama.release(1);
      const delta = await ws.next("answer.delta");
      assertEquals([delta.seq, delta.from], [seq, undefined]);
    }
    ollama.release(Infinity);
    const end = await ws.next("answer.end");
    const { content, deltas } = ws.answerText(start.answerId);
    // Concatenated deltas are the answer exactly once: each carried only new text.
    assertEquals(content, "Hello, world!");
    assertEquals(deltas, 5);
    assertEquals(end.reason, "stop");
    assertEquals(end.seq, 5);
    assert(end.stats !== undefined);
    assertEquals(end.stats.tokens, 5);
    assert((end.stats.tokensPerSecond ?? 0) > 0, "tokens per second from eval_count/eval_duration");
    assert(end.stats.ttftMs >= 0 && end.stats.totalMs >= end.stats.ttftMs);
  });
});

Deno.test("chat - tokens faster than the eye merge into fewer deltas, every character once, in order", async () => {
  await withApp({}, async ({ ollama, app, client }) => {
    const tokens = Array.from({ length: 5000 }, (_, i) => i % 37 === 36 ? ` é${i}` : ` w${i}`);
    ollama.reply = () => tokens;
    const ws = await client();
    const { end, content, deltas } = await ws.ask(MODEL, "many at once");
    assertEquals([end.reason, end.seq], ["stop", tokens.length]);
    // answerText checked that the merged ranges (from..seq) follow each other with no gap.
    assertEquals(content, tokens.join(""));
    assert(deltas < tokens.length / 10, `${deltas} frames for ${tokens.length} instant tokens`);
    // The first token is not held back to merge with the ones after it.
    const first = ws.frames.find((f) => f.type === "answer.delta");
    assertEquals([first?.seq, first?.content], [1, tokens[0]]);

    // A reader that reads nothing until the answer has ended, then everything.
    const { socket: slow } = await RawWebSocket.connect(app.wsUrl);
    await slow.sendText(JSON.stringify({
      type: "chat",
      requestId: "slow",
      model: MODEL,
      messages: [{ role: "user", content: "many, read slowly" }],
    }));
    await ollama.waitForRequest((r) =>
      r.body !== undefined && r.finished &&
      JSON.stringify(r.body).includes("read slowly")
    );
    let text = "";
    let lastSeq = 0;
    while (true) {
      const frame = await slow.readFrame();
      assert(frame, "the slow reader's socket stayed open");
      if (frame.opcode !== 0x1) continue;
      const data = JSON.parse(new TextDecoder().decode(frame.payload)) as ServerFrame;
      if (data.type === "answer.delta") {
        assertEquals(data.from ?? data.seq, lastSeq + 1);
        lastSeq = data.seq;
        text += data.content ?? "";
      }
      if (data.type === "answer.end") {
        assertEquals([data.reason, data.seq], ["stop", tokens.length]);
        break;
      }
    }
    slow.close();
    assertEquals(text, tokens.join(""));
  });
});

Deno.test("chat - of many prompts sent at once, each answers in full, and Stop ends any of them", async () => {
  await withApp({ WS_MAX_ANSWERS_PER_CONNECTION: "20" }, async ({ ollama, client }) => {
    ollama.manual = true;
    ollama.reply = (request) => [`answer to ${request.messages.at(-1)?.content}`];
    const ws = await client();
    // Sent in one go, so the server reads them together and starts them in batches.
    for (let i = 0; i < 20; i++) {
      ws.send({
        type: "chat",
        requestId: `r${i}`,
        model: MODEL,
        messages: [{ role: "user", content: `q${i}` }],
      });
    }
    const starts = [];
    for (let i = 0; i < 20; i++) starts.push(await ws.next("answer.start"));
    // The first and the last: one surely asked Ollama already, the other perhaps not yet.
    const stopped = starts.filter((s) => s.requestId === "r0" || s.requestId === "r19");
    for (const start of stopped) ws.send({ type: "stop", answerId: start.answerId });
    const ends = new Map<string, ServerFrame & { type: "answer.end" }>();
    // Ollama holds every token back, so only the stopped answers can end now.
    for (const _ of stopped) {
      const end = await ws.next("answer.end");
      ends.set(end.answerId, end);
    }
    for (const start of stopped) {
      assertEquals([ends.get(start.answerId)?.reason, ends.get(start.answerId)?.seq], [
        "stopped",
        0,
      ]);
      const asked = ollama.requests.filter((r) =>
        r.path === "/api/chat" && JSON.stringify(r.body).includes(`"q${start.requestId.slice(1)}"`)
      );
      // Its request to Ollama, if it had left, was ended there.
      for (const request of asked) await request.waitAborted();
    }
    ollama.release(Infinity);
    while (ends.size < starts.length) {
      const end = await ws.next("answer.end");
      ends.set(end.answerId, end);
    }
    for (const start of starts) {
      if (stopped.includes(start)) continue;
      assertEquals(ends.get(start.answerId)?.reason, "stop");
      const text = ws.answerText(start.answerId).content;
      assertEquals(text, `answer to q${start.requestId.slice(1)}`);
    }
  });
});

Deno.test("chat - each prompt sends the system prompt, the turns so far and the options", async () => {
  const env = {
    SYSTEM_PROMPT: "Be brief.",
    MODEL_TEMPERATURE: "0.3",
    MODEL_TOP_P: "0.8",
    MODEL_TOP_K: "20",
    MODEL_NUM_CTX: "4096",
  };
  await withApp(env, async ({ ollama, client }) => {
    const ws = await client();
    const first = await ws.ask(MODEL, "What is 2+2?");
    await ws.ask(MODEL, "And 3+3?", [
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: first.content },
    ]);
    const chats = ollama.requests.filter((r) => r.path === "/api/chat");
    const last = chats.at(-1)!.body as Record<string, unknown>;
    assertEquals(last.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: first.content },
      { role: "user", content: "And 3+3?" },
    ]);
    assertEquals(last.options, { temperature: 0.3, top_p: 0.8, top_k: 20, num_ctx: 4096 });
    assertEquals(last.stream, true);
  });
});

Deno.test("chat - Stop ends the answer at once, keeps the partial text, and aborts Ollama", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.manual = true;
    ollama.reply = () => ["one ", "two ", "three ", "four ", "five"];
    const ws = await client();
    ws.send({
      type: "chat",
      requestId: "r1",
      model: MODEL,
      messages: [{ role: "user", content: "count" }],
    });
    const start = await ws.next("answer.start");
    ollama.release(2);
    await ws.next("answer.delta", (f) => f.seq === 2);
    try {
      // The npm client keeps only the body's reader; once the Response was collected, Stop's
      // abort reached nothing and the answer never ended (lib/abort.ts).
      await collectGarbage();
      ws.send({ type: "stop", answerId: start.answerId });
      const end = await ws.next("answer.end", undefined, 10_000);
      assertEquals(end.reason, "stopped");
      assertEquals(end.seq, 2);
      assertEquals(ws.answerText(start.answerId).content, "one two ");
      const request = await ollama.waitForRequest((r) => r.path === "/api/chat");
      await request.waitAborted();
      assertEquals(request.aborted, true);
    } finally {
      ollama.release(Infinity); // so a failure here cannot hold the app's shutdown
    }
  });
});

Deno.test("chat - Stop works while the model is still loading, before the first token", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.loadDelayMs = 60_000;
    const ws = await client();
    ws.send({
      type: "chat",
      requestId: "r1",
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
    });
    const start = await ws.next("answer.start");
    const request = await ollama.waitForRequest((r) => r.path === "/api/chat");
    ws.send({ type: "stop", answerId: start.answerId });
    const end = await ws.next("answer.end");
    assertEquals([end.reason, end.seq], ["stopped", 0]);
    await request.waitAborted();
    assertEquals(request.aborted, true);
  });
});

Deno.test("chat - closing the socket aborts the answer at Ollama", async () => {
  await withApp({}, async ({ ollama, app }) => {
    ollama.manual = true;
    const ws = await TestClient.open(app.wsUrl);
    ws.send({
      type: "chat",
      requestId: "r1",
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
    });
    await ws.next("answer.start");
    const request = await ollama.waitForRequest((r) => r.path === "/api/chat");
    await ws.close();
    await request.waitAborted();
    assertEquals(request.aborted, true);
  });
});

Deno.test("chat - a thinking model's reasoning streams apart from the answer", async () => {
  const models = [{ name: "qwen3", capabilities: ["completion", "thinking"] }];
  await withApp({}, async ({ ollama, client }) => {
    ollama.thinking = () => ["Let me ", "think."];
    ollama.reply = () => ["Four."];
    const ws = await client();
    const { thinking, content } = await ws.ask("qwen3", "2+2?");
    assertEquals(thinking, "Let me think.");
    assertEquals(content, "Four.");
  }, { models });
});

Deno.test("chat - a missing model is explained, with what to do", async () => {
  await withApp({}, async ({ client }) => {
    const ws = await client();
    const { end } = await ws.ask("no-such-model", "hi");
    assertEquals(end.reason, "error");
    assertEquals(end.error?.code, "model_not_found");
    assertMatch(end.error!.message, /no-such-model.*ollama pull no-such-model/);
  });
});

Deno.test("chat - Ollama busy (503) is explained", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.failWith = {
      status: 503,
      error: "server busy, please try again.  maximum pending requests exceeded",
    };
    const ws = await client();
    const { end } = await ws.ask(MODEL, "hi");
    assertEquals(end.error?.code, "backend_busy");
    assertMatch(end.error!.message, /busy.*try again/i);
  });
});

Deno.test("chat - Ollama unreachable is explained and the socket keeps serving", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await withApp({ OLLAMA_HOST: `127.0.0.1:${port}` }, async ({ client }) => {
    const ws = await client();
    const { end } = await ws.ask(MODEL, "hi");
    assertEquals(end.error?.code, "backend_unreachable");
    assertMatch(end.error!.message, /not reachable at http:\/\/127\.0\.0\.1:\d+.*OLLAMA_HOST/);
    ws.send({ type: "ping", t: 7 });
    assertEquals((await ws.next("pong")).t, 7);
  });
});

Deno.test("chat - a request that times out is explained", async () => {
  await withApp({ OLLAMA_TIMEOUT: "1" }, async ({ ollama, client }) => {
    ollama.hang = true;
    const ws = await client();
    const { end } = await ws.ask(MODEL, "hi");
    assertEquals(end.error?.code, "backend_timeout");
    assertMatch(end.error!.message, /1 s.*OLLAMA_TIMEOUT/);
    const request = await ollama.waitForRequest((r) => r.path === "/api/chat");
    await request.waitAborted();
  });
});

Deno.test("chat - a stream that breaks mid-answer keeps the partial answer", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.reply = () => ["a", "b", "c", "d", "e"];
    ollama.dieAfterChunks = 2;
    const ws = await client();
    const { end, content } = await ws.ask(MODEL, "hi");
    assertEquals(content, "ab");
    assertEquals(end.reason, "error");
    assertEquals(end.error?.code, "stream_broken");
    assertMatch(end.error!.message, /partial answer is kept/);
  });
});

Deno.test("chat - an error line from Ollama mid-answer ends it with Ollama's reason", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.reply = () => ["a", "b", "c"];
    ollama.errorAfterChunks = { chunks: 1, message: "model runner has unexpectedly stopped" };
    const ws = await client();
    const { end, content } = await ws.ask(MODEL, "hi");
    assertEquals(content, "a");
    assertEquals(end.error?.code, "stream_broken");
    assertMatch(end.error!.message, /model runner has unexpectedly stopped/);
  });
});

Deno.test("chat - malformed frames get typed errors and the socket keeps serving", async () => {
  await withApp({}, async ({ client }) => {
    const ws = await client();
    ws.send("{nope");
    assertEquals((await ws.next("error")).error.code, "invalid_json");
    ws.send({ type: "teleport" });
    assertEquals((await ws.next("error")).error.code, "unknown_type");
    ws.send({ type: "chat", requestId: "r5", model: MODEL });
    const missing = await ws.next("error");
    assertEquals([missing.error.code, missing.requestId], ["invalid_message", "r5"]);
    ws.send({ type: "stop", answerId: "not-streaming" });
    assertEquals((await ws.next("error")).error.code, "unknown_answer");
    ws.socket.send(new Uint8Array([1, 2, 3]));
    assertEquals((await ws.next("error")).error.code, "invalid_message");
    const { content } = await ws.ask(MODEL, "still there?");
    assertMatch(content, /still there\?/);
  });
});

Deno.test("chat - a message over the size limit closes the socket with 1009", async () => {
  await withApp({ WS_MAX_MESSAGE_BYTES: "2048" }, async ({ app, client }) => {
    const ws = await TestClient.open(app.wsUrl);
    ws.send({ type: "ping", t: 1, pad: "x".repeat(4096) });
    const closed = await ws.closed;
    assertEquals(closed.code, 1009);
    const other = await client();
    other.send({ type: "ping", t: 2 });
    assertEquals((await other.next("pong")).t, 2);
  });
});

Deno.test("chat - frames over the rate limit are refused, the ones within it served", async () => {
  await withApp({ WS_MAX_FRAMES_PER_SECOND: "5" }, async ({ client }) => {
    const ws = await client();
    for (let i = 0; i < 10; i++) ws.send({ type: "ping", t: i });
    assertEquals((await ws.next("error")).error.code, "rate_limited");
    const pongs = ws.frames.filter((f) => f.type === "pong").map((f) => f.t);
    assertEquals(pongs.slice(0, 5), [0, 1, 2, 3, 4]);
  });
});

Deno.test("chat - more answers at once than allowed on one socket are refused", async () => {
  await withApp({ WS_MAX_ANSWERS_PER_CONNECTION: "1" }, async ({ ollama, client }) => {
    ollama.manual = true;
    const ws = await client();
    ws.send({
      type: "chat",
      requestId: "a",
      model: MODEL,
      messages: [{ role: "user", content: "1" }],
    });
    await ws.next("answer.start");
    ws.send({
      type: "chat",
      requestId: "b",
      model: MODEL,
      messages: [{ role: "user", content: "2" }],
    });
    const refused = await ws.next("error");
    assertEquals([refused.error.code, refused.requestId], ["too_many_answers", "b"]);
    ollama.release(Infinity);
    await ws.next("answer.end");
  });
});

Deno.test("chat - 50 clients at once each get their own whole answer", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.tokenDelayMs = 2;
    const clients = await Promise.all(Array.from({ length: 50 }, () => client()));
    const answers = await Promise.all(clients.map((ws, i) => ws.ask(MODEL, `question ${i}`)));
    answers.forEach((answer, i) => {
      assertEquals(answer.end.reason, "stop");
      assertEquals(answer.content, `You said: "question ${i}". This is a fake answer.`);
    });
  });
});

Deno.test("chat - shutdown ends every answer with a reason and closes with 1001", async () => {
  await withApp({}, async ({ ollama, app, client }) => {
    ollama.manual = true;
    const ws = await client();
    ws.send({
      type: "chat",
      requestId: "r",
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
    });
    await ws.next("answer.start");
    await ollama.waitForRequest((r) => r.path === "/api/chat");
    await app.shutdown();
    const end = await ws.next("answer.end");
    assertEquals(end.error?.code, "shutting_down");
    assertEquals((await ws.closed).code, 1001);
  });
});
