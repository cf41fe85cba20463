/**
 * Per-conversation settings reach the model: a real app, real sockets, and the fake Ollama's
 * record of what it was actually asked (system prompt and options).
 */
import { LOCAL_OWNER } from "../lib/owner.ts";
import { assertEquals } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import type { TestClient } from "./helpers/ws_client.ts";
import type { FakeOllama } from "./fake_ollama.ts";

const MODEL = "llama3.2";
/** The fake's second installed model. */
const OTHER = "qwen3:0.6b";

async function send(
  ws: TestClient,
  content: string,
  where: { conversationId?: string; parentId?: string | null; model?: string } = {},
) {
  const requestId = crypto.randomUUID();
  ws.send({ type: "send", requestId, model: MODEL, content, ...where });
  const start = await ws.next("answer.start", (f) => f.requestId === requestId);
  const end = await ws.next("answer.end", (f) => f.answerId === start.answerId);
  return { start, end };
}

interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  options?: Record<string, number>;
}

function lastChat(ollama: FakeOllama): ChatBody {
  return ollama.requests.filter((r) => r.path === "/api/chat").at(-1)!.body as ChatBody;
}

const ENV = {
  SYSTEM_PROMPT: "You are a helpful assistant.",
  MODEL_TEMPERATURE: "0.8",
  MODEL_NUM_PREDICT: "256",
};

Deno.test("settings ws - a conversation's system prompt and options override the defaults", async () => {
  await withApp(ENV, async ({ app, ollama, client }) => {
    ollama.reply = () => ["Arr."];
    const ws = await client();
    const first = await send(ws, "Hello");
    const conversationId = first.start.conversationId!;
    // Nothing chosen yet: the configured defaults.
    assertEquals(lastChat(ollama).messages[0], {
      role: "system",
      content: "You are a helpful assistant.",
    });
    assertEquals(lastChat(ollama).options, { temperature: 0.8, num_predict: 256 });

    await app.store.setSettings(LOCAL_OWNER, conversationId, {
      systemPrompt: "Speak like a pirate.",
      temperature: 0.2,
      topP: 0.5,
      topK: 7,
      numCtx: 8192,
    });
    const second = await send(ws, "Where is the tea?", {
      conversationId,
      parentId: first.start.answerId,
    });
    assertEquals(second.end.reason, "stop");
    const body = lastChat(ollama);
    assertEquals(body.messages.map((m) => `${m.role}: ${m.content}`), [
      "system: Speak like a pirate.",
      "user: Hello",
      "assistant: Arr.",
      "user: Where is the tea?",
    ]);
    assertEquals(body.options, {
      temperature: 0.2,
      top_p: 0.5,
      top_k: 7,
      num_ctx: 8192,
      num_predict: 256,
    });

    // Regenerating follows them too.
    const requestId = crypto.randomUUID();
    ws.send({
      type: "regenerate",
      requestId,
      model: MODEL,
      userMessageId: second.start.userMessageId,
    });
    const again = await ws.next("answer.start", (f) => f.requestId === requestId);
    await ws.next("answer.end", (f) => f.answerId === again.answerId);
    assertEquals(lastChat(ollama).messages[0]!.content, "Speak like a pirate.");
    assertEquals(lastChat(ollama).options?.top_k, 7);

    // An empty system prompt is a choice too: none is sent.
    await app.store.setSettings(LOCAL_OWNER, conversationId, { systemPrompt: "" });
    await send(ws, "And now?", { conversationId, parentId: second.start.answerId });
    assertEquals(lastChat(ollama).messages[0]!.role, "user");
    assertEquals(lastChat(ollama).options, { temperature: 0.8, num_predict: 256 });
  });
});

Deno.test("settings ws - a chat created with settings gets them on its first answer and its title from the prompt", async () => {
  await withApp(ENV, async ({ app, ollama, client }) => {
    ollama.reply = () => ["Roses are red."];
    const created = await fetch(`${app.url}/api/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ settings: { systemPrompt: "Rhyme.", temperature: 1.5 } }),
    });
    const { conversation } = await created.json();
    const ws = await client();
    const { start, end } = await send(ws, "A poem about tea, please", {
      conversationId: conversation.id,
      parentId: null,
    });
    assertEquals(end.reason, "stop");
    assertEquals(start.title, "A poem about tea, please");
    assertEquals(
      (await app.store.getConversation(LOCAL_OWNER, conversation.id)).title,
      "A poem about tea, please",
    );
    const body = lastChat(ollama);
    assertEquals(body.messages[0], { role: "system", content: "Rhyme." });
    assertEquals(body.options?.temperature, 1.5);
    // The model the prompt was sent with is remembered with the other settings.
    assertEquals(await app.store.getSettings(LOCAL_OWNER, conversation.id), {
      model: MODEL,
      systemPrompt: "Rhyme.",
      temperature: 1.5,
    });
  });
});

Deno.test("settings ws - the model of the last prompt becomes the conversation's model", async () => {
  await withApp(ENV, async ({ app, ollama, client }) => {
    ollama.reply = () => ["Hi."];
    const ws = await client();
    const { start } = await send(ws, "Hello");
    const id = start.conversationId!;
    assertEquals(await app.store.getSettings(LOCAL_OWNER, id), { model: MODEL });
    await send(ws, "Again", { conversationId: id, parentId: start.answerId, model: OTHER });
    assertEquals(lastChat(ollama).model, OTHER);
    assertEquals((await app.store.getSettings(LOCAL_OWNER, id)).model, OTHER);
  });
});

Deno.test("settings ws - continuing a stopped answer follows the conversation's settings", async () => {
  await withApp(ENV, async ({ app, ollama, client }) => {
    ollama.manual = true;
    ollama.reply = () => ["Once ", "upon ", "a ", "time."];
    const ws = await client();
    ws.send({ type: "send", requestId: "r", model: MODEL, content: "A story" });
    const start = await ws.next("answer.start");
    ollama.release(1);
    await ws.next("answer.delta");
    ws.send({ type: "stop", answerId: start.answerId });
    assertEquals((await ws.next("answer.end")).reason, "stopped");

    await app.store.setSettings(LOCAL_OWNER, start.conversationId!, {
      systemPrompt: "Tell it slowly.",
      topK: 3,
    });
    ollama.manual = false;
    ws.send({ type: "continue", requestId: "c", answerId: start.answerId });
    const again = await ws.next("answer.start", (f) => f.requestId === "c");
    await ws.next("answer.end", (f) => f.answerId === again.answerId);
    const body = lastChat(ollama);
    assertEquals(body.messages[0], { role: "system", content: "Tell it slowly." });
    assertEquals(body.messages.at(-1)?.role, "assistant", "the partial answer goes last");
    assertEquals(body.options?.top_k, 3);
    assertEquals(body.model, MODEL);
  });
});
