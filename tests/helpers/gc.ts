/**
 * Full garbage collections, for tests of what must survive one (an abort reaching a request
 * whose Response nobody holds any more; see lib/abort.ts). `deno task test` passes
 * `--v8-flags=--expose-gc`.
 */
export async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("gc() is missing: run the tests with --v8-flags=--expose-gc");
  // A few rounds with turns of the event loop between, so finalised objects really go.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
