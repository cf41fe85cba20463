/**
 * Aborting a request to another server (Ollama, a model download) so that it really ends.
 *
 * Deno 2.9.6 reaches a streamed body's pending read from the request's signal through the
 * `Response` object. A caller that keeps only the body's reader (the npm `ollama` client does)
 * lets the Response be garbage collected, and after that an abort leaves the read waiting
 * forever: Stop did not end an answer, a pull Ollama stopped feeding outlived its idle timeout
 * (it hung CI), and Ollama went on generating. `tests/abort_test.ts` shows it with a forced GC.
 */

/** Responses kept alive for as long as the signal that may abort them is. */
const responsesOf = new WeakMap<AbortSignal, Response[]>();

/**
 * `fetch` whose response stays abortable through `init.signal` after the caller lets go of
 * the Response: the signal itself keeps it (the signal's controller belongs to the request, so
 * both go together).
 */
export async function abortableFetch(
  input: RequestInfo | URL,
  init: RequestInit = {},
): Promise<Response> {
  const response = await fetch(input, init);
  if (!init.signal) return response;
  const kept = responsesOf.get(init.signal);
  if (kept) kept.push(response);
  else responsesOf.set(init.signal, [response]);
  return response;
}

/**
 * Aborts `controller` when `signal` does (at once if it already has) and returns a function
 * that undoes the link, so one request's controller can follow a long-lived signal (a socket,
 * shutdown) without leaving a listener behind. One controller per request rather than a
 * chain of `AbortSignal.any` results, which Deno holds only weakly (denoland/deno#29075).
 */
export function abortWith(
  controller: AbortController,
  signal: AbortSignal | undefined,
): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => {};
  }
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
