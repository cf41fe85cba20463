/**
 * The conversations HTTP API over real HTTP: data is made through the running app's store for
 * the local owner, then every endpoint is called with `fetch`.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import type { TestApp } from "./helpers/app.ts";
import { LOCAL_OWNER } from "../lib/owner.ts";
import { MARK_END, MARK_START, type Store } from "../lib/store/store.ts";

const owner = LOCAL_OWNER;

/** A conversation with a question, two answers to it (the second newest) and a follow-up. */
async function branched(store: Store, title = "Tea talk") {
  const chat = await store.createConversation(owner, { title });
  const question = await store.addMessage(owner, {
    conversationId: chat.id,
    parentId: null,
    role: "user",
    content: "Green or black?",
  });
  const first = await store.addMessage(owner, {
    conversationId: chat.id,
    parentId: question.id,
    role: "assistant",
    content: "Black.",
    model: "llama3.2",
  });
  const second = await store.startAnswer(owner, {
    conversationId: chat.id,
    parentId: question.id,
    model: "qwen3:0.6b",
  });
  await store.appendAnswer(owner, second.id, { content: "Green, *surely*.", seq: 1 });
  await store.updateAnswer(owner, second.id, {
    state: "complete",
    stats: { tokens: 3, totalMs: 12 },
  });
  const followUp = await store.addMessage(owner, {
    conversationId: chat.id,
    parentId: second.id,
    role: "user",
    content: "Why?",
  });
  const stopped = await store.startAnswer(owner, {
    conversationId: chat.id,
    parentId: followUp.id,
    model: "qwen3:0.6b",
  });
  await store.appendAnswer(owner, stopped.id, { content: "Because", seq: 1 });
  await store.updateAnswer(owner, stopped.id, { state: "stopped" });
  return { chat, question, first, second, followUp, stopped };
}

function call(app: TestApp, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.url + path, init);
}

function sendJson(method: string, body: unknown): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

async function expectError(response: Response, status: number, code: string): Promise<string> {
  const body = await response.json();
  assertEquals([response.status, body.error?.code], [status, code]);
  assert(typeof body.error.message === "string" && body.error.message.length > 0);
  return body.error.message;
}

Deno.test("conversations http - list is newest first and pages with a cursor", async () => {
  await withApp({}, async ({ app }) => {
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await app.store.createConversation(owner, { title: `Chat ${i}` }));
    }
    const all = await (await call(app, "/api/conversations")).json();
    assertEquals(all.items.map((c: { title: string }) => c.title), [
      "Chat 4",
      "Chat 3",
      "Chat 2",
      "Chat 1",
      "Chat 0",
    ]);
    assertEquals(all.nextCursor, null);
    assertEquals(Object.keys(all.items[0]).sort(), ["createdAt", "id", "title", "updatedAt"]);
    assertEquals(all.items[0].id, made[4]!.id);
    assertEquals(typeof all.items[0].createdAt, "number");

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const response = await call(app, `/api/conversations?limit=2${query}`);
      assertEquals(response.status, 200);
      const page = await response.json();
      assert(page.items.length <= 2);
      seen.push(...page.items.map((c: { title: string }) => c.title));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assertEquals(seen, ["Chat 4", "Chat 3", "Chat 2", "Chat 1", "Chat 0"]);
    assertEquals(pages, 3);

    // Above the maximum is lowered to it; anything but a whole number from 1 is refused.
    assertEquals((await call(app, "/api/conversations?limit=1000")).status, 200);
    await expectError(await call(app, "/api/conversations?limit=0"), 400, "invalid_query");
    await expectError(await call(app, "/api/conversations?limit=abc"), 400, "invalid_query");
    await expectError(
      await call(app, "/api/conversations?cursor=not-a-cursor"),
      400,
      "invalid_cursor",
    );
  });
});

Deno.test("conversations http - get returns every message of every branch, oldest first", async () => {
  await withApp({}, async ({ app }) => {
    const { chat, question, first, second, followUp, stopped } = await branched(app.store);
    const response = await call(app, `/api/conversations/${chat.id}`);
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "application/json");
    const body = await response.json();
    assertEquals(body.conversation.id, chat.id);
    assertEquals(body.conversation.title, "Tea talk");
    assertEquals(
      body.messages.map((m: { id: string }) => m.id),
      [question.id, first.id, second.id, followUp.id, stopped.id],
    );
    const [q, a1, a2, , s] = body.messages;
    assertEquals(Object.keys(q).sort(), [
      "content",
      "createdAt",
      "error",
      "id",
      "lastSeq",
      "model",
      "parentId",
      "role",
      "state",
      "stats",
      "thinking",
    ]);
    assertEquals([q.parentId, q.role, q.state, q.error], [null, "user", "complete", null]);
    assertEquals([a1.parentId, a2.parentId], [question.id, question.id]);
    assertEquals([a2.content, a2.model, a2.lastSeq], ["Green, *surely*.", "qwen3:0.6b", 1]);
    assertEquals(a2.stats, { tokens: 3, totalMs: 12 });
    assertEquals([s.state, s.content], ["stopped", "Because"]);

    const failed = await app.store.startAnswer(owner, {
      conversationId: chat.id,
      parentId: followUp.id,
      model: "llama3.2",
    });
    await app.store.updateAnswer(owner, failed.id, {
      state: "error",
      errorCode: "backend_unreachable",
      errorMessage: "Ollama is not reachable.",
    });
    const again = await (await call(app, `/api/conversations/${chat.id}`)).json();
    assertEquals(again.messages.at(-1).error, {
      code: "backend_unreachable",
      message: "Ollama is not reachable.",
    });
  });
});

Deno.test("conversations http - rename trims the title and refuses an empty or long one", async () => {
  await withApp({}, async ({ app }) => {
    const chat = await app.store.createConversation(owner, { title: "Old" });
    const path = `/api/conversations/${chat.id}`;
    const response = await call(app, path, sendJson("PATCH", { title: "  New name  " }));
    assertEquals(response.status, 200);
    const renamed = await response.json();
    assertEquals([renamed.id, renamed.title], [chat.id, "New name"]);
    assertEquals((await app.store.getConversation(owner, chat.id)).title, "New name");

    await expectError(
      await call(app, path, sendJson("PATCH", { title: "   " })),
      400,
      "invalid_title",
    );
    await expectError(await call(app, path, sendJson("PATCH", {})), 400, "invalid_title");
    await expectError(
      await call(app, path, sendJson("PATCH", { title: "x".repeat(201) })),
      400,
      "invalid_title",
    );
    await expectError(await call(app, path, sendJson("PATCH", "{nope")), 400, "invalid_json");
    assertEquals((await app.store.getConversation(owner, chat.id)).title, "New name");
    const exactly = await call(app, path, sendJson("PATCH", { title: "é".repeat(200) }));
    assertEquals(exactly.status, 200);
    await exactly.body?.cancel();
  });
});

Deno.test("conversations http - delete hides a conversation, restore brings it back, purge ends it", async () => {
  await withApp({ UNDO_WINDOW: "30" }, async ({ app }) => {
    const keep = await app.store.createConversation(owner, { title: "Keep" });
    const gone = await app.store.createConversation(owner, { title: "Gone" });
    const titles = async () =>
      (await (await call(app, "/api/conversations")).json()).items.map(
        (c: { title: string }) => c.title,
      );
    assertEquals(await titles(), ["Gone", "Keep"]);

    const deleted = await call(app, `/api/conversations/${gone.id}`, { method: "DELETE" });
    assertEquals(deleted.status, 200);
    assertEquals(await deleted.json(), { deleted: true, undoWithinMs: 30_000 });
    assertEquals(await titles(), ["Keep"]);
    await expectError(await call(app, `/api/conversations/${gone.id}`), 404, "not_found");
    await expectError(
      await call(app, `/api/conversations/${gone.id}`, { method: "DELETE" }),
      404,
      "not_found",
    );

    const restored = await call(app, `/api/conversations/${gone.id}/restore`, { method: "POST" });
    assertEquals(restored.status, 200);
    assertEquals((await restored.json()).title, "Gone");
    assertEquals(await titles(), ["Gone", "Keep"]);

    await (await call(app, `/api/conversations/${gone.id}`, { method: "DELETE" })).body?.cancel();
    await app.store.purgeDeleted(Date.now() + 1, owner);
    await expectError(
      await call(app, `/api/conversations/${gone.id}/restore`, { method: "POST" }),
      404,
      "not_found",
    );
    assertEquals(keep.title, "Keep");
  });
});

Deno.test("conversations http - unknown ids and another owner's conversations are 404 everywhere", async () => {
  await withApp({}, async ({ app }) => {
    const foreign = await app.store.createConversation("someone-else", { title: "Private" });
    await app.store.addMessage("someone-else", {
      conversationId: foreign.id,
      parentId: null,
      role: "user",
      content: "secret words",
    });
    for (const id of [foreign.id, "no-such-id", "x".repeat(300), "%E0%A4%A"]) {
      const base = `/api/conversations/${id}`;
      await expectError(await call(app, base), 404, "not_found");
      await expectError(
        await call(app, base, sendJson("PATCH", { title: "Mine" })),
        404,
        "not_found",
      );
      await expectError(await call(app, base, { method: "DELETE" }), 404, "not_found");
      await expectError(await call(app, `${base}/restore`, { method: "POST" }), 404, "not_found");
      await expectError(await call(app, `${base}/export`), 404, "not_found");
      await expectError(await call(app, `${base}/export?format=markdown`), 404, "not_found");
    }
    const list = await (await call(app, "/api/conversations")).json();
    assertEquals(list.items, []);
    const search = await (await call(app, "/api/search?q=secret")).json();
    assertEquals(search.hits, []);
    // Untouched for its owner.
    const theirs = await app.store.getConversation("someone-else", foreign.id);
    assertEquals([theirs.title, theirs.deletedAt], ["Private", null]);
  });
});

Deno.test("conversations http - export as JSON and as Markdown of the visible branch", async () => {
  await withApp({}, async ({ app }) => {
    const { chat, question, stopped } = await branched(app.store, "Tea: Green or Black?");
    const jsonResponse = await call(app, `/api/conversations/${chat.id}/export?format=json`);
    assertEquals(jsonResponse.status, 200);
    assertEquals(jsonResponse.headers.get("content-type"), "application/json");
    assertEquals(
      jsonResponse.headers.get("content-disposition"),
      'attachment; filename="tea-green-or-black.json"',
    );
    const file = await jsonResponse.json();
    assertEquals([file.format, file.version], ["local-llm-chat/conversation", 1]);
    assertEquals(file.conversation.id, chat.id);
    assertEquals(file.messages.length, 5);
    assertEquals(file.messages[0].id, question.id);

    const byDefault = await call(app, `/api/conversations/${chat.id}/export`);
    assertEquals(byDefault.headers.get("content-type"), "application/json");
    await byDefault.body?.cancel();

    const md = await call(app, `/api/conversations/${chat.id}/export?format=markdown`);
    assertEquals(md.status, 200);
    assertEquals(md.headers.get("content-type"), "text/markdown; charset=utf-8");
    assertEquals(
      md.headers.get("content-disposition"),
      'attachment; filename="tea-green-or-black.md"',
    );
    assertEquals(
      await md.text(),
      [
        "# Tea: Green or Black?",
        "**You**",
        "Green or black?",
        "**Assistant** (qwen3:0.6b)",
        "Green, *surely*.",
        "**You**",
        "Why?",
        "**Assistant** (qwen3:0.6b)",
        "Because",
        "*Stopped before the end.*",
      ].join("\n\n") + "\n",
    );
    assert(stopped.id);

    await expectError(
      await call(app, `/api/conversations/${chat.id}/export?format=pdf`),
      400,
      "invalid_query",
    );
    // A title with nothing usable in a file name still gives one.
    const odd = await app.store.createConversation(owner, { title: "日本語 🍵" });
    const oddResponse = await call(app, `/api/conversations/${odd.id}/export?format=markdown`);
    assertEquals(
      oddResponse.headers.get("content-disposition"),
      'attachment; filename="conversation.md"',
    );
    assertEquals(await oddResponse.text(), "# 日本語 🍵\n");
  });
});

Deno.test("conversations http - import round trip into a fresh app, and again inserts nothing", async () => {
  let file = "";
  let original: unknown[] = [];
  let id = "";
  await withApp({}, async ({ app }) => {
    const { chat } = await branched(app.store);
    id = chat.id;
    file = await (await call(app, `/api/conversations/${chat.id}/export`)).text();
    original = (await (await call(app, `/api/conversations/${chat.id}`)).json()).messages;
  });
  await withApp({}, async ({ app }) => {
    const response = await call(app, "/api/conversations/import", sendJson("POST", file));
    assertEquals(response.status, 200);
    const result = await response.json();
    assertEquals([result.conversation.id, result.conversation.title], [id, "Tea talk"]);
    assertEquals([result.inserted, result.skipped], [5, 0]);
    const copy = (await (await call(app, `/api/conversations/${id}`)).json()).messages;
    // Same messages; `lastSeq` is not part of the file (an import's answers are complete).
    const comparable = (ms: unknown[]) =>
      ms.map((m) => {
        const { lastSeq: _, ...rest } = m as Record<string, unknown>;
        return rest;
      });
    assertEquals(comparable(copy), comparable(original));

    const again = await call(app, "/api/conversations/import", sendJson("POST", file));
    assertEquals(again.status, 200);
    const second = await again.json();
    assertEquals([second.inserted, second.skipped], [0, 5]);
    const list = await (await call(app, "/api/conversations")).json();
    assertEquals(list.items.length, 1);
  });
});

Deno.test("conversations http - an oversize or malformed import is refused and writes nothing", async () => {
  await withApp({ IMPORT_MAX_BYTES: "2048" }, async ({ app }) => {
    const count = async () => (await app.store.listConversations(owner)).items.length;
    await app.store.createConversation(owner, { title: "Existing" });

    const big = JSON.stringify({ format: "local-llm-chat/conversation", pad: "x".repeat(4096) });
    const message = await expectError(
      await call(app, "/api/conversations/import", sendJson("POST", big)),
      413,
      "import_too_large",
    );
    assertMatch(message, /2048 bytes.*IMPORT_MAX_BYTES/);

    // Without a declared length, the body is cut off while it is read.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    await expectError(
      await call(app, "/api/conversations/import", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
      }),
      413,
      "import_too_large",
    );

    await expectError(
      await call(app, "/api/conversations/import", sendJson("POST", '{"format": ')),
      400,
      "invalid_json",
    );

    // Valid JSON, but a message with a bad role: the store's message names the field.
    const bad = {
      format: "local-llm-chat/conversation",
      version: 1,
      exportedAt: new Date().toISOString(),
      conversation: {
        id: "imported-1",
        title: "Half good",
        createdAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      },
      messages: [{
        id: "m1",
        parentId: null,
        role: "wizard",
        content: "hi",
        thinking: "",
        model: null,
        state: "complete",
        error: null,
        stats: null,
        createdAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      }],
    };
    const why = await expectError(
      await call(app, "/api/conversations/import", sendJson("POST", bad)),
      400,
      "invalid_import",
    );
    assertMatch(why, /messages\[0\]\.role/);
    await expectError(
      await call(app, "/api/conversations/import", sendJson("POST", { format: "other" })),
      400,
      "invalid_import",
    );
    assertEquals(await count(), 1);
    await expectError(await call(app, "/api/conversations/imported-1"), 404, "not_found");
  });
});

Deno.test("conversations http - search highlights matches and escapes the text", async () => {
  await withApp({}, async ({ app }) => {
    const chat = await app.store.createConversation(owner, { title: "Hostile" });
    const message = await app.store.addMessage(owner, {
      conversationId: chat.id,
      parentId: null,
      role: "user",
      content: 'Look: <script>alert("x")</script> & the teapot is here',
    });
    const response = await call(app, "/api/search?q=teapot");
    assertEquals(response.status, 200);
    const { hits } = await response.json();
    assertEquals(hits.length, 1);
    const [hit] = hits;
    assertEquals(
      [hit.conversationId, hit.title, hit.messageId, hit.role],
      [chat.id, "Hostile", message.id, "user"],
    );
    assertEquals(typeof hit.createdAt, "number");
    assert(hit.snippet.includes("&lt;script&gt;"), hit.snippet);
    assert(hit.snippet.includes("<mark>teapot</mark>"), hit.snippet);
    assert(hit.snippet.includes("&amp;"), hit.snippet);
    assert(!hit.snippet.includes("<script"), hit.snippet);
    assert(!hit.snippet.includes(MARK_START) && !hit.snippet.includes(MARK_END), "no raw markers");

    // Deleted conversations are not searched.
    await app.store.deleteConversation(owner, chat.id);
    assertEquals((await (await call(app, "/api/search?q=teapot")).json()).hits, []);

    await expectError(await call(app, "/api/search?q=%20%20"), 400, "invalid_query");
    await expectError(await call(app, "/api/search"), 400, "invalid_query");
    await expectError(await call(app, "/api/search?q=tea&limit=-1"), 400, "invalid_query");
  });
});

Deno.test("conversations http - /c/<id> renders the chat shell for any id", async () => {
  await withApp({}, async ({ app }) => {
    const chat = await app.store.createConversation(owner, { title: "Page" });
    for (const id of [chat.id, "no-such-conversation"]) {
      const response = await call(app, `/c/${id}`);
      assertEquals(response.status, 200);
      assertMatch(response.headers.get("content-type") ?? "", /^text\/html/);
      const html = await response.text();
      assertMatch(html, /<h1[^>]*>Local Chat<\/h1>/);
      assertMatch(html, /<script type="module" src="\/_islands\/Chat\.js"><\/script>/);
      assert(html.includes(id), "the island's props carry the conversation id");
    }
  });
});
