import { assertEquals } from "../tests/helpers/assert.ts";
import { decodeClientFrame, parseClientMessage, parseServerFrame } from "./protocol.ts";

Deno.test("protocol - a chat message parses to a typed value", () => {
  const parsed = parseClientMessage({
    type: "chat",
    requestId: "r1",
    model: "llama3.2",
    messages: [{ role: "user", content: "hi", extra: 1 }],
  });
  assertEquals(parsed, {
    ok: true,
    value: {
      type: "chat",
      requestId: "r1",
      model: "llama3.2",
      messages: [{ role: "user", content: "hi" }],
    },
  });
});

Deno.test("protocol - malformed frames get typed errors", () => {
  const code = (text: string) => {
    const parsed = decodeClientFrame(text);
    return parsed.ok ? "ok" : parsed.error.code;
  };
  assertEquals(code("{not json"), "invalid_json");
  assertEquals(code("[]"), "invalid_message");
  assertEquals(code('"chat"'), "invalid_message");
  assertEquals(code('{"type":"dance"}'), "unknown_type");
  assertEquals(code("{}"), "invalid_message");
  assertEquals(code('{"type":"stop"}'), "invalid_message");
  assertEquals(code('{"type":"ping","t":"now"}'), "invalid_message");
  assertEquals(
    code('{"type":"chat","requestId":"r","model":"m","messages":[]}'),
    "invalid_message",
  );
  assertEquals(
    code(
      '{"type":"chat","requestId":"r","model":"m","messages":[{"role":"system","content":"x"}]}',
    ),
    "invalid_message",
  );
  assertEquals(
    code(
      '{"type":"chat","requestId":"r","model":"m","messages":[{"role":"assistant","content":"x"}]}',
    ),
    "invalid_message",
  );
  assertEquals(code('{"version":2,"type":"ping","t":1}'), "unsupported_version");
  assertEquals(code('{"version":1,"type":"ping","t":1}'), "ok");
});

Deno.test("protocol - a refused chat keeps its requestId so the client can match it", () => {
  const parsed = decodeClientFrame('{"type":"chat","requestId":"r9","messages":[]}');
  assertEquals(parsed.ok, false);
  if (!parsed.ok) assertEquals(parsed.requestId, "r9");
});

Deno.test("protocol - server frames are checked before the island trusts them", () => {
  assertEquals(parseServerFrame({ type: "pong", t: 1 }), { type: "pong", t: 1 });
  assertEquals(parseServerFrame({ type: "answer.delta", seq: 1 }), undefined);
  assertEquals(parseServerFrame({ type: "mystery" }), undefined);
  assertEquals(parseServerFrame("hello"), undefined);
});
