/**
 * Deleting a message over HTTP, and undoing it: a real app on a loopback port, data made
 * through its store for the local owner, every call with `fetch`.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import type { TestApp } from "./helpers/app.ts";
import { LOCAL_OWNER } from "../lib/owner.ts";
import type { Store } from "../lib/store/store.ts";

const owner = LOCAL_OWNER;

/** A question with two answers (versions), and a follow-up under the second. */
async function talk(store: Store) {
  const chat = await store.createConversation(owner, { title: "Tea" });
  const add = (parentId: string | null, role: "user" | "assistant", content: string) =>
    store.addMessage(owner, { conversationId: chat.id, parentId, role, content });
  const question = await add(null, "user", "Green or black?");
  const first = await add(question.id, "assistant", "Black.");
  const second = await add(question.id, "assistant", "Green.");
  const followUp = await add(second.id, "user", "Why?");
  return { chat, question, first, second, followUp };
}

async function ids(app: TestApp, conversationId: string): Promise<string[]> {
  const body = await (await fetch(`${app.url}/api/conversations/${conversationId}`)).json();
  return body.messages.map((m: { id: string }) => m.id);
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  const body = await response.json();
  assertEquals([response.status, body.error?.code], [status, code]);
  assert(typeof body.error.message === "string" && body.error.message.length > 0);
}

Deno.test("message http - delete takes the subtree, keeps the other version, restore undoes it", async () => {
  await withApp({ UNDO_WINDOW: "30" }, async ({ app }) => {
    const { chat, question, first, second, followUp } = await talk(app.store);
    const base = `${app.url}/api/conversations/${chat.id}/messages`;

    const deleted = await fetch(`${base}/${second.id}`, { method: "DELETE" });
    assertEquals(deleted.status, 200);
    assertEquals(await deleted.json(), {
      deleted: [second.id, followUp.id],
      undoWithinMs: 30_000,
    });
    assertEquals(await ids(app, chat.id), [question.id, first.id]);

    const restored = await fetch(`${base}/${second.id}/restore`, { method: "POST" });
    assertEquals([restored.status, await restored.json()], [200, { restored: 2 }]);
    assertEquals(await ids(app, chat.id), [question.id, first.id, second.id, followUp.id]);

    // One undo per delete.
    await expectError(
      await fetch(`${base}/${second.id}/restore`, { method: "POST" }),
      404,
      "undo_expired",
    );
  });
});

Deno.test("message http - unknown, foreign, streaming and mismatched messages are refused", async () => {
  await withApp({}, async ({ app }) => {
    const { chat, question } = await talk(app.store);
    const other = await talk(app.store);
    const base = `${app.url}/api/conversations/${chat.id}/messages`;
    await expectError(await fetch(`${base}/no-such`, { method: "DELETE" }), 404, "not_found");
    // A message of another conversation, named under this one.
    await expectError(
      await fetch(`${base}/${other.question.id}`, { method: "DELETE" }),
      404,
      "not_found",
    );
    const foreign = await app.store.createConversation("someone-else", {});
    const secret = await app.store.addMessage("someone-else", {
      conversationId: foreign.id,
      parentId: null,
      role: "user",
      content: "secret",
    });
    await expectError(
      await fetch(`${app.url}/api/conversations/${foreign.id}/messages/${secret.id}`, {
        method: "DELETE",
      }),
      404,
      "not_found",
    );
    const live = await app.store.startAnswer(owner, {
      conversationId: chat.id,
      parentId: question.id,
      model: "m",
    });
    await expectError(await fetch(`${base}/${question.id}`, { method: "DELETE" }), 409, "conflict");
    await expectError(
      await fetch(`${base}/${live.id}`, { method: "GET" }),
      405,
      "method_not_allowed",
    );
    assertEquals((await ids(app, chat.id)).length, 5);
    await expectError(
      await fetch(`${base}/${question.id}/restore`, { method: "POST" }),
      404,
      "undo_expired",
    );
  });
});
