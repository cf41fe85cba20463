import { assertEquals } from "../../tests/helpers/assert.ts";
import type { ClientMessage } from "../protocol.ts";
import {
  type AssistantMessage,
  createChatController,
  createChatState,
  modelLabel,
  pickModel,
  type StoredMessage,
  type UserMessage,
} from "./state.ts";

function harness() {
  const state = createChatState("llama3.2");
  const sent: ClientMessage[] = [];
  const reloads: string[] = [];
  const conversations: { id: string; title?: string; current: boolean }[] = [];
  let id = 0;
  let open = true;
  const controller = createChatController(state, {
    send: (message) => open && (sent.push(message), true),
    isOpen: () => open,
    schedule: (fn) => fn(),
    newId: () => `id${++id}`,
    now: () => 0,
    reload: (id) => reloads.push(id),
    onConversation: (info) => conversations.push(info),
  });
  const answer = () => state.visible.value.at(-1) as AssistantMessage;
  const setOpen = (value: boolean) => (open = value);
  return { state, sent, controller, answer, reloads, conversations, setOpen };
}

type Sent<T extends ClientMessage["type"]> = Extract<ClientMessage, { type: T }>;

function stored(
  id: string,
  parentId: string | null,
  role: "user" | "assistant",
  content: string,
  extra: Partial<StoredMessage> = {},
): StoredMessage {
  return { id, parentId, role, content, state: "complete", lastSeq: 0, ...extra };
}

const conversation = { id: "c1", title: "Tea", createdAt: 1, updatedAt: 1 };

Deno.test("island state - a missing default model stays selected instead of another", () => {
  const models = [{ name: "qwen3:0.6b" }, { name: "llama3.2:latest" }];
  assertEquals(pickModel(models, "llama3.2", undefined), "llama3.2:latest");
  assertEquals(pickModel(models, "mistral", undefined), "mistral");
  assertEquals(pickModel(models, "mistral", "qwen3:0.6b"), "qwen3:0.6b");
  assertEquals(pickModel(models, "llama3.2", "gone:1b"), "llama3.2:latest");
});

Deno.test("island state - built-in models are labelled with size and download state", () => {
  assertEquals(
    modelLabel({
      name: "builtin/smollm2-135m",
      source: "builtin",
      size: 98_362_432,
      parameterSize: "135M",
      quantization: "Q4_1",
      available: false,
    }),
    "builtin/smollm2-135m — built in · 98 MB · 135M Q4_1 · downloads when chosen",
  );
  assertEquals(
    modelLabel({
      name: "llama3.2:latest",
      parameterSize: "3.2B",
      quantization: "Q4_K_M",
      loaded: true,
    }),
    "llama3.2:latest — 3.2B Q4_K_M ● loaded",
  );
});

Deno.test("island state - send: a new conversation, then prompts after the last answer", () => {
  const { state, sent, controller, answer, conversations } = harness();
  state.input.value = "hi";
  controller.submit();
  const first = sent[0] as Sent<"send">;
  assertEquals([first.type, first.content, first.parentId, first.conversationId], [
    "send",
    "hi",
    null,
    undefined,
  ]);
  controller.handleFrame({
    type: "answer.start",
    answerId: "a1",
    requestId: first.requestId,
    model: "m",
    conversationId: "c1",
    userMessageId: "u1",
    userParentId: null,
    title: "hi",
    omittedTurns: 2,
  });
  assertEquals(state.conversationId.value, "c1");
  assertEquals(state.title.value, "hi");
  assertEquals(conversations, [{ id: "c1", title: "hi", current: true }]);
  assertEquals(answer().omittedTurns.value, 2);
  controller.handleFrame({ type: "answer.queued", answerId: "a1", position: 2 });
  assertEquals(answer().queuePosition.value, 2);
  controller.handleFrame({ type: "answer.delta", answerId: "a1", seq: 1, content: "Hel" });
  controller.handleFrame({ type: "answer.delta", answerId: "a1", seq: 1, content: "Hel" });
  controller.handleFrame({ type: "answer.delta", answerId: "a1", seq: 3, from: 2, content: "lo!" });
  assertEquals(answer().content.value, "Hello!");
  assertEquals(answer().queuePosition.value, undefined);
  controller.handleFrame({
    type: "answer.end",
    answerId: "a1",
    seq: 3,
    reason: "stop",
    stats: { ttftMs: 5, totalMs: 9, tokens: 3 },
  });
  assertEquals(answer().status.value, "done");
  assertEquals(state.visible.value.map((m) => m.id), ["u1", "a1"]);
  state.input.value = "again";
  controller.submit();
  const next = sent[1] as Sent<"send">;
  assertEquals([next.content, next.parentId, next.conversationId], ["again", "a1", "c1"]);
});

Deno.test("island state - a loaded streaming answer resumes from its stored seq", () => {
  const { state, sent, controller, answer, reloads } = harness();
  controller.load({
    conversation,
    messages: [
      stored("u1", null, "user", "Green or black?"),
      stored("a1", "u1", "assistant", "Green, because", { state: "streaming", lastSeq: 4 }),
    ],
  });
  assertEquals(sent, [{ type: "resume", answerId: "a1", seq: 4 }]);
  assertEquals(state.busy.value, true);
  controller.handleFrame({
    type: "answer.start",
    answerId: "a1",
    requestId: "",
    model: "m",
    seq: 4,
  });
  // The catch-up delta covers exactly what is missing; an old live delta is dropped.
  controller.handleFrame({ type: "answer.delta", answerId: "a1", seq: 4, content: "because" });
  controller.handleFrame({
    type: "answer.delta",
    answerId: "a1",
    seq: 6,
    from: 5,
    content: " it is",
  });
  controller.handleFrame({ type: "answer.delta", answerId: "a1", seq: 7, content: " mild." });
  assertEquals(answer().content.value, "Green, because it is mild.");
  controller.handleFrame({ type: "answer.end", answerId: "a1", seq: 7, reason: "stop" });
  assertEquals(answer().status.value, "done");
  assertEquals(reloads, []);
});

Deno.test("island state - a reconnect resumes what was streaming; a gap reloads", () => {
  const { state, sent, controller, answer, reloads, setOpen } = harness();
  state.input.value = "hi";
  controller.submit();
  const first = sent[0] as Sent<"send">;
  controller.handleFrame({
    type: "answer.start",
    answerId: "a1",
    requestId: first.requestId,
    model: "m",
    conversationId: "c1",
    userMessageId: "u1",
    userParentId: null,
  });
  controller.handleFrame({ type: "answer.delta", answerId: "a1", seq: 1, content: "One " });
  setOpen(false);
  controller.handleClose(1006);
  assertEquals(answer().status.value, "streaming", "a stored answer goes on without us");
  assertEquals(answer().error.value, undefined);
  setOpen(true);
  controller.handleOpen();
  assertEquals(sent.at(-1), { type: "resume", answerId: "a1", seq: 1 });
  controller.handleFrame({
    type: "answer.start",
    answerId: "a1",
    requestId: "",
    model: "m",
    seq: 1,
  });
  controller.handleFrame({
    type: "answer.delta",
    answerId: "a1",
    seq: 3,
    from: 2,
    content: "two ",
  });
  assertEquals(answer().content.value, "One two ");
  // A frame that skips text the page never got: the store has it.
  controller.handleFrame({ type: "answer.delta", answerId: "a1", seq: 9, from: 5, content: "x" });
  assertEquals(reloads, ["c1"]);
  assertEquals(answer().content.value, "One two ");
});

Deno.test("island state - a refused resume reloads; still streaming then shows an error", () => {
  const { sent, controller, answer, reloads } = harness();
  const data = {
    conversation,
    messages: [
      stored("u1", null, "user", "q"),
      stored("a1", "u1", "assistant", "part", { state: "streaming" as const, lastSeq: 2 }),
    ],
  };
  controller.load(data);
  assertEquals(sent.length, 1);
  controller.handleFrame({
    type: "error",
    error: { code: "unknown_answer", message: "no longer streaming" },
  });
  assertEquals(reloads, ["c1"]);
  controller.load(data);
  assertEquals(sent.length, 1, "no second resume");
  assertEquals(answer().status.value, "error");
});

Deno.test("island state - versions: regenerate, edit and switching the visible branch", () => {
  const { state, sent, controller, answer } = harness();
  controller.load({
    conversation,
    messages: [
      stored("u1", null, "user", "first"),
      stored("a1", "u1", "assistant", "one"),
      stored("u2", "a1", "user", "second"),
      stored("a2", "u2", "assistant", "two", { state: "interrupted", lastSeq: 3 }),
    ],
  });
  assertEquals(answer().status.value, "interrupted");
  // Continue the interrupted answer in place.
  assertEquals(controller.continueAnswer(answer()), true);
  const cont = sent.at(-1) as Sent<"continue">;
  assertEquals(cont.answerId, "a2");
  controller.handleFrame({
    type: "answer.start",
    answerId: "a2",
    requestId: cont.requestId,
    model: "m",
    seq: 3,
  });
  controller.handleFrame({ type: "answer.delta", answerId: "a2", seq: 4, content: " more" });
  controller.handleFrame({ type: "answer.end", answerId: "a2", seq: 4, reason: "stop" });
  assertEquals(answer().content.value, "two more");

  // Regenerate: a new sibling under u2, shown.
  assertEquals(controller.regenerate(answer()), true);
  const regen = sent.at(-1) as Sent<"regenerate">;
  assertEquals(regen.userMessageId, "u2");
  controller.handleFrame({
    type: "answer.start",
    answerId: "a3",
    requestId: regen.requestId,
    model: "m",
    conversationId: "c1",
    userMessageId: "u2",
    userParentId: "a1",
  });
  controller.handleFrame({ type: "answer.end", answerId: "a3", seq: 0, reason: "stop" });
  assertEquals(state.visible.value.map((m) => m.id), ["u1", "a1", "u2", "a3"]);
  controller.showVersion(answer(), -1);
  assertEquals(state.visible.value.map((m) => m.id), ["u1", "a1", "u2", "a2"]);

  // Edit the first prompt: send under its parent (none), a new version of it.
  const u1 = state.visible.value[0] as UserMessage;
  assertEquals(controller.edit(u1, "first, edited"), true);
  const edit = sent.at(-1) as Sent<"send">;
  assertEquals([edit.parentId, edit.conversationId, edit.content], [null, "c1", "first, edited"]);
  controller.handleFrame({
    type: "answer.start",
    answerId: "a4",
    requestId: edit.requestId,
    model: "m",
    conversationId: "c1",
    userMessageId: "u3",
    userParentId: null,
  });
  assertEquals(state.visible.value.map((m) => m.id), ["u3", "a4"]);
  controller.handleFrame({ type: "answer.end", answerId: "a4", seq: 0, reason: "stop" });
  // Back to the first version: its branch (with the chosen older answer) comes back.
  controller.showVersion(state.visible.value[0]!, -1);
  assertEquals(state.visible.value.map((m) => m.id), ["u1", "a1", "u2", "a2"]);
  // The next prompt goes after the visible branch's last answer.
  assertEquals(controller.submit("third"), true);
  assertEquals((sent.at(-1) as Sent<"send">).parentId, "a2");
});

Deno.test("island state - a search hit shows the branch through it", () => {
  const { state, controller } = harness();
  controller.load({
    conversation,
    messages: [
      stored("u1", null, "user", "old"),
      stored("a1", "u1", "assistant", "old answer"),
      stored("u2", null, "user", "new"),
      stored("a2", "u2", "assistant", "new answer"),
    ],
  }, "a1");
  assertEquals(state.visible.value.map((m) => m.id), ["u1", "a1"]);
  assertEquals(state.highlight.value, "a1");
});

Deno.test("island state - Stop before answer.start stops once the answer is named", () => {
  const { state, sent, controller, answer } = harness();
  controller.submit("hi");
  controller.stop();
  assertEquals(answer().status.value, "stopped");
  assertEquals(state.busy.value, false);
  const first = sent[0] as Sent<"send">;
  controller.handleFrame({
    type: "answer.start",
    answerId: "a1",
    requestId: first.requestId,
    model: "m",
    conversationId: "c1",
    userMessageId: "u1",
    userParentId: null,
  });
  assertEquals(sent.at(-1), { type: "stop", answerId: "a1" });
});

Deno.test("island state - a send refused by an error frame keeps the prompt to resend", () => {
  const { state, sent, controller, answer } = harness();
  controller.submit("hi");
  const first = sent[0] as Sent<"send">;
  controller.handleFrame({
    type: "error",
    requestId: first.requestId,
    error: { code: "too_many_answers", message: "slow down" },
  });
  assertEquals(answer().status.value, "error");
  assertEquals(state.input.value, "hi");
  state.input.value = "";
  controller.retry(answer());
  const again = sent.at(-1) as Sent<"send">;
  assertEquals([again.type, again.content, again.parentId], ["send", "hi", null]);
  assertEquals(answer().status.value, "pending");
});

Deno.test("island state - an answer that fails before any text puts the prompt back; Retry takes it", () => {
  const { state, sent, controller, answer } = harness();
  controller.submit("hi");
  const first = sent[0] as Sent<"send">;
  controller.handleFrame({
    type: "answer.start",
    requestId: first.requestId,
    answerId: "a1",
    model: "m",
    conversationId: "c1",
    userMessageId: "u1",
    userParentId: null,
  });
  controller.handleFrame({
    type: "answer.end",
    answerId: "a1",
    seq: 0,
    reason: "error",
    error: { code: "backend_error", message: "boom" },
  });
  assertEquals([answer().status.value, state.input.value], ["error", "hi"]);
  controller.retry(answer());
  assertEquals(state.input.value, "");
  assertEquals((sent.at(-1) as Sent<"regenerate">).type, "regenerate");
});
