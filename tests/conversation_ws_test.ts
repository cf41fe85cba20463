/**
 * Stored conversations over the socket: the server keeps the tree, sends the model the visible
 * branch, stores answers as they stream, and lets any socket resume one without gap or
 * duplicate. Real app, real SQLite, real sockets; the fake Ollama records what the model got.
 */
import { openStore } from "../lib/store/open.ts";
import { LOCAL_OWNER } from "../lib/owner.ts";
import type { AnswerStartFrame } from "../lib/protocol.ts";
import { spawnApp } from "./helpers/app.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import { TestClient } from "./helpers/ws_client.ts";
import { FakeOllama } from "./fake_ollama.ts";

const MODEL = "llama3.2";

async function send(
  ws: TestClient,
  content: string,
  where: { conversationId?: string; parentId?: string | null } = {},
) {
  const requestId = crypto.randomUUID();
  ws.send({ type: "send", requestId, model: MODEL, content, ...where });
  const start = await ws.next("answer.start", (f) => f.requestId === requestId);
  const end = await ws.next("answer.end", (f) => f.answerId === start.answerId);
  return { start, end, ...ws.answerText(start.answerId) };
}

/** The messages (role, content) the fake Ollama got in its last chat request. */
function lastPrompt(ollama: FakeOllama) {
  const body = ollama.requests.filter((r) => r.path === "/api/chat").at(-1)!.body as {
    messages: { role: string; content: string }[];
  };
  return body.messages.map((m) => `${m.role}: ${m.content}`);
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("conversations - a first prompt starts a stored conversation titled after it", async () => {
  await withApp({ SYSTEM_PROMPT: "Be brief." }, async ({ app, ollama, client }) => {
    ollama.reply = () => ["Green ", "tea."];
    const ws = await client();
    const { start, end, content } = await send(ws, "Green or black tea?\nThanks");
    assertEquals(start.title, "Green or black tea?");
    assert(start.conversationId && start.userMessageId);
    assertEquals([end.reason, content], ["stop", "Green tea."]);
    const messages = await app.store.listMessages(LOCAL_OWNER, start.conversationId!);
    assertEquals(
      messages.map((m) => [m.role, m.content, m.state, m.parentId]),
      [
        ["user", "Green or black tea?\nThanks", "complete", null],
        ["assistant", "Green tea.", "complete", start.userMessageId],
      ],
    );
    assertEquals(messages[1]!.id, start.answerId);
    assertEquals(messages[1]!.lastSeq, 2);
    assertEquals(lastPrompt(ollama), ["system: Be brief.", "user: Green or black tea?\nThanks"]);
  });
});

Deno.test("conversations - the model gets the visible branch: follow-ups, edits, regenerations", async () => {
  await withApp({ SYSTEM_PROMPT: "" }, async ({ app, ollama, client }) => {
    const ws = await client();
    ollama.reply = () => ["A1"];
    const first = await send(ws, "Q1");
    const conversationId = first.start.conversationId!;
    ollama.reply = () => ["A2"];
    const second = await send(ws, "Q2", { conversationId, parentId: first.start.answerId });
    assertEquals(lastPrompt(ollama), ["user: Q1", "assistant: A1", "user: Q2"]);
    // Editing Q2 is a new version of it under the same parent: the old Q2 is not sent.
    ollama.reply = () => ["A2b"];
    await send(ws, "Q2 edited", { conversationId, parentId: first.start.answerId });
    assertEquals(lastPrompt(ollama), ["user: Q1", "assistant: A1", "user: Q2 edited"]);
    // Editing Q1 leaves the whole first branch out.
    ollama.reply = () => ["A1b"];
    await send(ws, "Q1 edited", { conversationId, parentId: null });
    assertEquals(lastPrompt(ollama), ["user: Q1 edited"]);
    // Regenerating Q2 answers again with the branch up to Q2.
    ollama.reply = () => ["A2c"];
    const requestId = crypto.randomUUID();
    ws.send({
      type: "regenerate",
      requestId,
      model: MODEL,
      userMessageId: second.start.userMessageId,
    });
    const start = await ws.next("answer.start", (f) => f.requestId === requestId);
    await ws.next("answer.end", (f) => f.answerId === start.answerId);
    assertEquals(lastPrompt(ollama), ["user: Q1", "assistant: A1", "user: Q2"]);
    const versions = await app.store.children(
      LOCAL_OWNER,
      conversationId,
      second.start.userMessageId!,
    );
    assertEquals(versions.map((m) => m.content), ["A2", "A2c"]);
    const roots = await app.store.children(LOCAL_OWNER, conversationId, null);
    assertEquals(roots.map((m) => m.content), ["Q1", "Q1 edited"]);
  });
});

Deno.test("conversations - a second socket resumes an answer with no gap and no duplicate", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.manual = true;
    ollama.reply = () => ["one ", "two ", "three ", "four ", "five"];
    const tab1 = await client();
    tab1.send({ type: "send", requestId: "r", model: MODEL, content: "count" });
    const start = await tab1.next("answer.start");
    ollama.release(3);
    await tab1.next("answer.delta", (f) => f.seq === 3);
    // The second tab loaded the page when it showed the first delta only.
    const tab2 = await client();
    tab2.send({ type: "resume", answerId: start.answerId, seq: 1 });
    const resumed = await tab2.next("answer.start");
    assertEquals([resumed.answerId, resumed.seq], [start.answerId, 1]);
    const caughtUp = await tab2.next("answer.delta");
    assertEquals([caughtUp.from, caughtUp.seq, caughtUp.content], [2, 3, "two three "]);
    ollama.release(Infinity);
    const [end1, end2] = await Promise.all([tab1.next("answer.end"), tab2.next("answer.end")]);
    assertEquals([end1.seq, end2.seq], [5, 5]);
    const tab2Text = "one " +
      tab2.frames.filter((f) => f.type === "answer.delta").map((f) => f.content).join("");
    assertEquals(tab2Text, "one two three four five");
    assertEquals(tab1.answerText(start.answerId).content, "one two three four five");
  });
});

Deno.test("conversations - closing the tab mid-answer: the answer goes on and is stored", async () => {
  await withApp({ FLUSH_INTERVAL_MS: "50" }, async ({ app, ollama }) => {
    ollama.manual = true;
    ollama.reply = () => ["a", "b", "c", "d"];
    const ws = await TestClient.open(app.wsUrl);
    ws.send({ type: "send", requestId: "r", model: MODEL, content: "go on without me" });
    const start = await ws.next("answer.start");
    ollama.release(2);
    await ws.next("answer.delta", (f) => f.seq === 2);
    // Flushed while streaming: a crash now would keep "ab".
    const flushed = await until(async () => {
      const m = await app.store.getMessage(LOCAL_OWNER, start.answerId);
      return m.lastSeq === 2 ? m : undefined;
    }, "the first flush");
    assertEquals([flushed.content, flushed.state], ["ab", "streaming"]);
    await ws.close();
    ollama.release(Infinity);
    const done = await until(async () => {
      const m = await app.store.getMessage(LOCAL_OWNER, start.answerId);
      return m.state === "complete" ? m : undefined;
    }, "the answer to complete");
    assertEquals(done.content, "abcd");
    const request = ollama.requests.find((r) => r.path === "/api/chat")!;
    assertEquals(request.aborted, false);
  });
});

Deno.test("conversations - any socket watching an answer can stop it", async () => {
  await withApp({}, async ({ ollama, client }) => {
    ollama.manual = true;
    const tab1 = await client();
    tab1.send({ type: "send", requestId: "r", model: MODEL, content: "hi" });
    const start = await tab1.next("answer.start");
    ollama.release(1);
    await tab1.next("answer.delta");
    const tab2 = await client();
    tab2.send({ type: "resume", answerId: start.answerId, seq: 1 });
    await tab2.next("answer.start");
    tab2.send({ type: "stop", answerId: start.answerId });
    assertEquals((await tab1.next("answer.end")).reason, "stopped");
    assertEquals((await tab2.next("answer.end")).reason, "stopped");
  });
});

Deno.test("conversations - long conversations leave out the oldest turns, and say how many", async () => {
  await withApp(
    { MODEL_NUM_CTX: "512", MODEL_NUM_PREDICT: "128", SYSTEM_PROMPT: "S" },
    async ({ ollama, client }) => {
      const ws = await client();
      ollama.reply = () => ["ok"];
      let parentId: string | undefined;
      let conversationId: string | undefined;
      let start: AnswerStartFrame | undefined;
      for (let i = 0; i < 6; i++) {
        const turn = await send(ws, `turn ${i} ` + "word ".repeat(60), {
          ...(conversationId ? { conversationId, parentId: parentId! } : {}),
        });
        conversationId = turn.start.conversationId!;
        parentId = turn.start.answerId;
        start = turn.start;
      }
      assert((start!.omittedTurns ?? 0) > 0, "some turns were left out");
      const sent = lastPrompt(ollama);
      assertEquals(sent[0], "system: S");
      assert(sent.at(-1)!.startsWith("user: turn 5"), "the latest prompt is kept");
      assert(
        !sent.some((line) => line.startsWith("user: turn 0")),
        "the oldest prompt is left out",
      );
      assertEquals(sent.length - 1 + start!.omittedTurns!, 11);
    },
  );
});

Deno.test("conversations - unknown or foreign ids are not found, and the socket keeps serving", async () => {
  await withApp({}, async ({ app, client }) => {
    const foreign = await app.store.createConversation("someone-else", { title: "theirs" });
    const ws = await client();
    for (const conversationId of ["no-such-conversation", foreign.id]) {
      ws.send({
        type: "send",
        requestId: "x",
        model: MODEL,
        content: "hi",
        conversationId,
        parentId: null,
      });
      const error = await ws.next("error");
      assertEquals([error.error.code, error.requestId], ["not_found", "x"]);
    }
    ws.send({ type: "regenerate", requestId: "y", model: MODEL, userMessageId: "nope" });
    assertEquals((await ws.next("error")).error.code, "not_found");
    ws.send({ type: "resume", answerId: "nope", seq: 0 });
    assertEquals((await ws.next("error")).error.code, "unknown_answer");
    const { content } = await send(ws, "still here?");
    assert(content.includes("still here?"));
  });
});

Deno.test("conversations - kill -9 mid-answer: after a restart the partial answer is kept, marked, and can be continued", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "chat-kill-" });
  const ollama = await FakeOllama.start();
  try {
    ollama.manual = true;
    ollama.reply = () => ["The ", "partial ", "answer", " goes", " on."];
    const env = { OLLAMA_HOST: ollama.url, DATA_DIR: dataDir, FLUSH_INTERVAL_MS: "50" };
    const first = await spawnApp(env);
    const ws = await TestClient.open(first.url.replace("http", "ws") + "/ws");
    ws.send({ type: "send", requestId: "r", model: MODEL, content: "tell me" });
    const start = await ws.next("answer.start");
    ollama.release(3);
    await ws.next("answer.delta", (f) => f.seq === 3);
    // Let one flush happen, then the process dies with no chance to clean up.
    const store = await openStore({ dataDir });
    await until(async () => {
      const m = await store.getMessage(LOCAL_OWNER, start.answerId);
      return m.lastSeq === 3 ? m : undefined;
    }, "a flush");
    await store.close();
    await first.stop("SIGKILL");
    await ws.closed;

    const second = await spawnApp(env);
    try {
      const response = await fetch(`${second.url}/api/conversations/${start.conversationId}`);
      const body = await response.json();
      const answer = body.messages.find((m: { id: string }) => m.id === start.answerId);
      assertEquals([answer.state, answer.content, answer.lastSeq], [
        "interrupted",
        "The partial answer",
        3,
      ]);
      // Continue carries on in the same message, from where it stopped.
      ollama.manual = false;
      ollama.reply = () => [" and", " ends."];
      const again = await TestClient.open(second.url.replace("http", "ws") + "/ws");
      again.send({ type: "continue", requestId: "c", answerId: start.answerId });
      const resumed = await again.next("answer.start");
      assertEquals(resumed.seq, 3);
      const end = await again.next("answer.end");
      assertEquals(end.seq, 5);
      assertEquals(lastPrompt(ollama).slice(-2), [
        "user: tell me",
        "assistant: The partial answer",
      ]);
      await again.close();
      const after = await (await fetch(`${second.url}/api/conversations/${start.conversationId}`))
        .json();
      const continued = after.messages.find((m: { id: string }) => m.id === start.answerId);
      assertEquals([continued.state, continued.content], [
        "complete",
        "The partial answer and ends.",
      ]);
    } finally {
      await second.stop();
    }
  } finally {
    ollama.release(Infinity);
    await ollama.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
