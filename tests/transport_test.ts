/**
 * What the transport must withstand: foreign origins and hosts, too many sockets, slow
 * readers, dead peers. Raw sockets stand in for misbehaving clients.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import { rawHttpStatus, RawWebSocket } from "./helpers/raw_ws.ts";
import { TestClient } from "./helpers/ws_client.ts";

const MODEL = "llama3.2";

Deno.test("transport - a foreign Origin is refused with 403 before the upgrade", async () => {
  await withApp({}, async ({ app }) => {
    const { socket, handshake } = await RawWebSocket.connect(app.wsUrl, {
      origin: "https://evil.example",
    });
    socket.close();
    assertEquals(handshake.status, 403);
    assertEquals(app.hub.size, 0);
    const own = await TestClient.open(app.wsUrl, { origin: app.url });
    await own.close();
  });
});

Deno.test("transport - ALLOWED_ORIGINS lets a listed origin in", async () => {
  await withApp({ ALLOWED_ORIGINS: "https://tools.example" }, async ({ app }) => {
    const ws = await TestClient.open(app.wsUrl, { origin: "https://tools.example" });
    await ws.close();
  });
});

Deno.test("transport - a rebound Host (Origin matching it) is refused", async () => {
  await withApp({}, async ({ app }) => {
    const { socket, handshake } = await RawWebSocket.connect(app.wsUrl, {
      host: `attacker.example:${app.port}`,
      origin: `http://attacker.example:${app.port}`,
    });
    socket.close();
    assertEquals(handshake.status, 403);
    assertEquals(await rawHttpStatus(app.url + "/", { host: `attacker.example:${app.port}` }), 403);
    assertEquals(await rawHttpStatus(app.url + "/", { host: `localhost:${app.port}` }), 200);
  });
});

Deno.test("transport - sockets per client address and in total are capped before the upgrade", async () => {
  await withApp({ WS_MAX_CONNECTIONS_PER_CLIENT: "2" }, async ({ app, client }) => {
    await client();
    await client();
    const { socket, handshake } = await RawWebSocket.connect(app.wsUrl);
    socket.close();
    assertEquals(handshake.status, 429);
  });
  await withApp({ WS_MAX_CONNECTIONS: "1" }, async ({ app, client }) => {
    await client();
    const { socket, handshake } = await RawWebSocket.connect(app.wsUrl);
    socket.close();
    assertEquals(handshake.status, 503);
  });
});

Deno.test("transport - an oversized message is closed with 1009 as soon as it arrives", async () => {
  await withApp({ WS_MAX_MESSAGE_BYTES: "65536" }, async ({ app }) => {
    const { socket, handshake } = await RawWebSocket.connect(app.wsUrl);
    assertEquals(handshake.status, 101);
    await socket.sendText("x".repeat(70_000));
    assertEquals(await socket.readClose(), 1009);
    socket.close();
  });
});

Deno.test("transport - a slow reader does not delay a fast one, and loses nothing", async () => {
  const env = { WS_SEND_BUFFER_BYTES: "4096", WS_SLOW_READER_TIMEOUT: "60" };
  await withApp(env, async ({ ollama, app, client }) => {
    // Far more than the kernel's socket buffers hold, so the server must hold some back.
    const tokens = 150_000;
    ollama.reply = () => Array.from({ length: tokens }, (_, i) => `token${i} `.padEnd(40, "."));
    // The slow reader asks for a long answer and then reads nothing at all for a while.
    const { socket: slow } = await RawWebSocket.connect(app.wsUrl);
    await slow.sendText(JSON.stringify({
      type: "chat",
      requestId: "slow",
      model: MODEL,
      messages: [{ role: "user", content: "long please" }],
    }));
    const slowRequest = await ollama.waitForRequest((r) => r.path === "/api/chat");
    const fast = await client();
    ollama.reply = () => ["quick ", "answer"];
    const answer = await fast.ask(MODEL, "short");
    assertEquals(answer.content, "quick answer");
    // Ollama finishes the long answer while the slow reader still reads nothing...
    await ollama.waitForRequest((r) => r === slowRequest && r.finished, 30_000);
    // ...then it reads everything: one whole answer, deltas merged, none lost.
    let text = "";
    let lastSeq = 0;
    let merged = 0;
    while (true) {
      const frame = await slow.readFrame();
      assert(frame, "the slow reader's socket stayed open");
      if (frame.opcode !== 0x1) continue;
      const data = JSON.parse(new TextDecoder().decode(frame.payload));
      if (data.type === "answer.delta") {
        assertEquals(data.from ?? data.seq, lastSeq + 1);
        if (data.from !== undefined) merged++;
        lastSeq = data.seq;
        text += data.content;
      }
      if (data.type === "answer.end") {
        assertEquals([data.reason, data.seq], ["stop", tokens]);
        break;
      }
    }
    slow.close();
    assert(merged > 0, "deltas for the slow reader were merged while it was behind");
    assertEquals(text.length, tokens * 40);
    assertEquals(text.slice(-40), `token${tokens - 1} `.padEnd(40, "."));
  });
});

Deno.test("transport - a reader that stays stalled is closed with 1013 and its answer stopped", async () => {
  const env = { WS_SEND_BUFFER_BYTES: "1024", WS_SLOW_READER_TIMEOUT: "1" };
  await withApp(env, async ({ ollama, app }) => {
    ollama.reply = () => Array.from({ length: 200_000 }, () => "x".repeat(64));
    // ~20 MB of frames, more than loopback's socket buffers take, then Ollama holds its next
    // line: the answer must still be running when the stall is found, however fast the machine
    // (a flood that ran to its end first left nothing to stop).
    ollama.manual = true;
    ollama.release(150_000);
    const { socket } = await RawWebSocket.connect(app.wsUrl);
    await socket.sendText(JSON.stringify({
      type: "chat",
      requestId: "stall",
      model: MODEL,
      messages: [{ role: "user", content: "flood me" }],
    }));
    const request = await ollama.waitForRequest((r) => r.path === "/api/chat");
    await request.waitAborted();
    assertEquals(request.aborted, true);
    assertEquals(await socket.readClose(), 1013);
    socket.close();
  });
});

Deno.test("transport - a peer that stops answering pings is dropped", async () => {
  await withApp({ WS_IDLE_TIMEOUT: "1" }, async ({ app }) => {
    const { socket } = await RawWebSocket.connect(app.wsUrl);
    assertEquals(app.hub.size, 1);
    // Read nothing, answer no ping: the server must give up on its own.
    while (await socket.readFrame());
    socket.close();
    for (let i = 0; i < 100 && app.hub.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assertEquals(app.hub.size, 0);
  });
});
