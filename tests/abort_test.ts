/**
 * lib/abort.ts against a real HTTP server on loopback: a streamed body whose Response nobody
 * holds any more still ends when its signal aborts, across a garbage collection.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { collectGarbage } from "./helpers/gc.ts";
import { abortableFetch, abortWith } from "../lib/abort.ts";

/** A server that sends one line and then holds the body open until the client leaves. */
async function withHeldStream(test: (url: string, closed: Promise<void>) => Promise<void>) {
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("first\n"));
        },
        cancel() {
          resolve();
        },
      }),
    ));
  try {
    await test(`http://127.0.0.1:${server.addr.port}/`, closed);
  } finally {
    await server.shutdown();
  }
}

/** Only the body's reader survives this function, as with the npm ollama client. */
async function openReader(url: string, signal: AbortSignal) {
  const response = await abortableFetch(url, { signal });
  return response.body!.getReader();
}

Deno.test("abort - a body read ends on abort though its Response was collected", async () => {
  await withHeldStream(async (url, closed) => {
    const controller = new AbortController();
    const reader = await openReader(url, controller.signal);
    try {
      assertEquals(new TextDecoder().decode((await reader.read()).value), "first\n");
      await collectGarbage();
      const pending = reader.read();
      controller.abort();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        pending.then(() => "read", (error: Error) => error.name),
        new Promise((resolve) =>
          timer = setTimeout(() => resolve("still waiting after 5 s"), 5000)
        ),
      ]);
      clearTimeout(timer);
      assertEquals(outcome, "AbortError");
      await closed; // and the server saw the request end
    } finally {
      // Without the fix the read never ends; let the server shut down all the same.
      await reader.cancel().catch(() => {});
    }
  });
});

Deno.test("abort - abortWith follows a signal, at once if it has aborted, and lets go", () => {
  const outer = new AbortController();
  const inner = new AbortController();
  const unlink = abortWith(inner, outer.signal);
  outer.abort("stop");
  assertEquals([inner.signal.aborted, inner.signal.reason], [true, "stop"]);

  const already = new AbortController();
  already.abort("early");
  const late = new AbortController();
  abortWith(late, already.signal);
  assertEquals(late.signal.reason, "early");

  const longLived = new AbortController();
  const request = new AbortController();
  abortWith(request, longLived.signal)();
  longLived.abort();
  assert(!request.signal.aborted, "an unlinked controller must not follow any more");
  unlink();
});
