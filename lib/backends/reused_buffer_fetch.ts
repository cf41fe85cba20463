/**
 * `fetch` with response bodies that read into one buffer per response, reused for every read.
 *
 * Deno's fetch body is a byte stream whose every read allocates (and zeroes) a fresh 64 KiB
 * buffer. Ollama flushes each token as its own HTTP chunk, so a streamed answer costs one such
 * read, and 64 KiB of garbage, per token: with many answers at once that allocation and the
 * garbage collection after it were most of the relay's CPU time. Reading through a BYOB reader
 * into one reused buffer, and handing on a copy of just the bytes read (a slice of a shared
 * block, see {@link CopyArena}), gives the same bytes for a fraction of the cost (see
 * docs/benchmarks.md). Everything else (status, headers, errors, abort) is the real response's.
 */
import { abortableFetch } from "../abort.ts";

/** Bytes one read may return; a token's NDJSON line is ~150 bytes, a listing a few KiB. */
const READ_BUFFER_BYTES = 16 * 1024;

/**
 * Where the bytes read are copied, for every response at once: each chunk gets its own slice
 * of a shared 64 KiB block, never written again, instead of an ArrayBuffer of its own (each of
 * which V8 allocates outside its heap and frees in a GC). A full block is left to the chunks
 * still using it and a new one begins.
 */
class CopyArena {
  static readonly BYTES = 64 * 1024;
  #block = new Uint8Array(CopyArena.BYTES);
  #used = 0;

  copy(bytes: Uint8Array): Uint8Array {
    if (bytes.length > CopyArena.BYTES / 4) return bytes.slice();
    if (this.#used + bytes.length > CopyArena.BYTES) {
      this.#block = new Uint8Array(CopyArena.BYTES);
      this.#used = 0;
    }
    const start = this.#used;
    this.#block.set(bytes, start);
    this.#used += bytes.length;
    return this.#block.subarray(start, this.#used);
  }
}

const arena = new CopyArena();

export async function fetchReusingBuffer(
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> {
  const response = await abortableFetch(input, init);
  if (response.body === null) return response;
  return new Response(reusedBufferBody(response.body), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** The same bytes as `body`, read into one reused buffer; pulled only when asked for. */
export function reusedBufferBody(
  body: ReadableStream<Uint8Array>,
  bufferBytes = READ_BUFFER_BYTES,
): ReadableStream<Uint8Array> {
  const reader = body.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(bufferBytes);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done) return controller.close();
      // The read took the buffer over (it is detached); the view it returned holds it now.
      buffer = value.buffer as ArrayBuffer;
      controller.enqueue(arena.copy(value));
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
