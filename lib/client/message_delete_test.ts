import { assertEquals } from "../../tests/helpers/assert.ts";
import type { ApiResult } from "./api.ts";
import { createMessageDeleter, type MessageDeleteApi } from "./message_delete.ts";
import {
  createChatController,
  createChatState,
  MESSAGE_WINDOW,
  type StoredMessage,
} from "./state.ts";

function stored(id: string, parentId: string | null, role: "user" | "assistant"): StoredMessage {
  return { id, parentId, role, content: id, state: "complete", lastSeq: 0 };
}

/** q1 → (a1, a2 versions) → q2 under a2 → a3. */
function setup(api: Partial<MessageDeleteApi> = {}) {
  const state = createChatState("m");
  const controller = createChatController(state, {
    send: () => true,
    isOpen: () => true,
    schedule: (fn) => fn(),
    newId: () => crypto.randomUUID(),
    now: () => 0,
  });
  controller.load({
    conversation: { id: "c1", title: "Tea", createdAt: 1, updatedAt: 1 },
    messages: [
      stored("q1", null, "user"),
      stored("a1", "q1", "assistant"),
      stored("a2", "q1", "assistant"),
      stored("q2", "a2", "user"),
      stored("a3", "q2", "assistant"),
    ],
  });
  const calls: string[] = [];
  const alerts: string[] = [];
  const reloads: string[] = [];
  const ok = <T>(value: T): Promise<ApiResult<T>> => Promise.resolve({ ok: true, value });
  const deleter = createMessageDeleter(state, {
    remove: api.remove ?? ((c, m) => (calls.push(`delete ${c}/${m}`), ok({ undoWithinMs: 50 }))),
    restore: api.restore ?? ((c, m) => (calls.push(`restore ${c}/${m}`), ok({ restored: 2 }))),
  }, { alert: (m) => alerts.push(m), reload: (id) => reloads.push(id) });
  const ids = () => state.visible.value.map((m) => m.id);
  const byId = (id: string) => state.messages.value.find((m) => m.id === id)!;
  return { state, deleter, calls, alerts, reloads, ids, byId };
}

Deno.test("message delete - hides the subtree, shows the other version, undo puts it back", async () => {
  const { state, deleter, calls, reloads, ids, byId } = setup();
  assertEquals(ids(), ["q1", "a2", "q2", "a3"]);
  assertEquals(await deleter.remove(byId("a2")), true);
  assertEquals(ids(), ["q1", "a1"], "the other version takes its place");
  assertEquals(deleter.deleted.value?.count, 3);
  assertEquals(await deleter.undo(), true);
  assertEquals(ids(), ["q1", "a2", "q2", "a3"], "as it was, chosen version included");
  assertEquals(calls, ["delete c1/a2", "restore c1/a2"]);
  assertEquals(reloads, ["c1"]);
  assertEquals(deleter.deleted.value, undefined);
  assertEquals(state.messages.value.length, 5);
});

Deno.test("message delete - a refusal puts the messages back and says why", async () => {
  const { deleter, alerts, ids, byId } = setup({
    remove: () =>
      Promise.resolve({ ok: false, message: "An answer there is still being written." }),
  });
  assertEquals(await deleter.remove(byId("q1")), false);
  assertEquals(ids(), ["q1", "a2", "q2", "a3"]);
  assertEquals(alerts, ["An answer there is still being written."]);
  assertEquals(deleter.deleted.value, undefined);
});

Deno.test("island state - a long branch renders its newest window; a search hit widens it", () => {
  const state = createChatState("m");
  const controller = createChatController(state, {
    send: () => true,
    isOpen: () => true,
    schedule: (fn) => fn(),
    newId: () => crypto.randomUUID(),
    now: () => 0,
  });
  const messages: StoredMessage[] = [];
  for (let i = 0; i < 100; i++) {
    messages.push(stored(`m${i}`, i === 0 ? null : `m${i - 1}`, i % 2 ? "assistant" : "user"));
  }
  const conversation = { id: "c1", title: "Long", createdAt: 1, updatedAt: 1 };
  controller.load({ conversation, messages });
  assertEquals(state.shown.value, MESSAGE_WINDOW);
  controller.load({ conversation: { ...conversation, id: "c2" }, messages }, "m10");
  assertEquals(state.shown.value, 92, "from m10 down, and two before it");
  controller.clear();
  assertEquals(state.shown.value, MESSAGE_WINDOW);
});
