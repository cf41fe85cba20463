import { assertEquals } from "../../tests/helpers/assert.ts";
import type { ClientMessage } from "../protocol.ts";
import {
  type AssistantMessage,
  createChatController,
  createChatState,
  modelLabel,
  pickModel,
} from "./state.ts";

function harness() {
  const state = createChatState("llama3.2");
  const sent: ClientMessage[] = [];
  let id = 0;
  const controller = createChatController(state, {
    send: (message) => (sent.push(message), true),
    isOpen: () => true,
    schedule: (fn) => fn(),
    newId: () => `id${++id}`,
    now: () => 0,
  });
  const answer = () => state.messages.value.at(-1) as AssistantMessage;
  return { state, sent, controller, answer };
}

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

Deno.test("island state - deltas apply once, in order; the queue position clears on text", () => {
  const { state, sent, controller, answer } = harness();
  state.input.value = "hi";
  controller.submit();
  const chat = sent[0] as Extract<ClientMessage, { type: "chat" }>;
  assertEquals(chat.messages, [{ role: "user", content: "hi" }]);
  controller.handleFrame({
    type: "answer.start",
    answerId: "a1",
    requestId: chat.requestId,
    model: "m",
  });
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
  state.input.value = "again";
  controller.submit();
  const next = sent[1] as Extract<ClientMessage, { type: "chat" }>;
  assertEquals(next.messages, [
    { role: "user", content: "hi" },
    { role: "assistant", content: "Hello!" },
    { role: "user", content: "again" },
  ]);
});
