/**
 * The reused-buffer body against a real server on port 0: the same bytes, in order, however
 * the server cuts them (UTF-8 split across chunks, chunks larger than the buffer, more small
 * chunks than one copy block holds), the real status and headers, and an abort that still ends
 * the body.
 */
import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { fetchReusingBuffer } from "./reused_buffer_fetch.ts";

async function withServer(
  handler: (request: Request) => Response,
  run: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await run(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("reused-buffer fetch - every byte arrives once, in order, however it was cut", async () => {
  const encoder = new TextEncoder();
  const pieces = [
    ...Array.from({ length: 5000 }, (_, i) => encoder.encode(`{"n":${i},"t":" é${i}"}\n`)),
    new Uint8Array(200_000).fill(0x61), // larger than the read buffer and the copy block
  ];
  // A multi-byte character cut in two across HTTP chunks.
  const e = encoder.encode("é");
  pieces.push(e.slice(0, 1), e.slice(1), encoder.encode("\n"));
  const expected = new Uint8Array(pieces.reduce((sum, p) => sum + p.length, 0));
  pieces.reduce((at, p) => (expected.set(p, at), at + p.length), 0);
  await withServer(
    () => {
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (i < pieces.length) c.enqueue(pieces[i++]!);
          else c.close();
        },
      });
      return new Response(body, { status: 201, headers: { "x-kind": "pieces" } });
    },
    async (url) => {
      const response = await fetchReusingBuffer(url);
      assertEquals([response.status, response.headers.get("x-kind")], [201, "pieces"]);
      const got = new Uint8Array(await response.arrayBuffer());
      assertEquals(got.length, expected.length);
      assertEquals(got, expected);
    },
  );
});

Deno.test("reused-buffer fetch - aborting the request ends a body still streaming", async () => {
  const controller = new AbortController();
  await withServer(
    () => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode("first\n"));
          // ...and nothing more: the stream stays open until the client goes.
        },
      });
      return new Response(body);
    },
    async (url) => {
      const response = await fetchReusingBuffer(url, { signal: controller.signal });
      const reader = response.body!.getReader();
      assertEquals(new TextDecoder().decode((await reader.read()).value), "first\n");
      const next = reader.read();
      controller.abort();
      const outcome = await next.then(() => "read", (error: Error) => error.name);
      assert(outcome === "AbortError", `the pending read ended with ${outcome}`);
    },
  );
});
