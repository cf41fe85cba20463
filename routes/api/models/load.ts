import type { LoadProgress } from "../../../lib/backends/backend.ts";
import { asHttpError } from "../../../lib/http_errors.ts";
import { HttpError, json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

/**
 * Loads a model into memory: `{"model": "llama3.2"}` → `{"model", "loaded": true}`, or a JSON
 * error. A client that accepts `application/x-ndjson` gets progress lines first (a built-in
 * model may have to be downloaded), then that same object as the last line.
 */
export const handler = {
  async POST(ctx: Context<State>) {
    const { backend, config } = ctx.state;
    const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
    const model = body.model;
    if (typeof model !== "string" || model.trim() === "" || model.length > 256) {
      throw new HttpError(400, "invalid_body", 'The body needs "model", a model name.');
    }
    if (!(ctx.req.headers.get("accept") ?? "").includes("application/x-ndjson")) {
      try {
        await backend.load(model);
      } catch (error) {
        throw asHttpError(error);
      }
      return json({ model, loaded: true });
    }
    return streamProgress((onProgress) => backend.load(model, undefined, onProgress), model);
  },
};

function streamProgress(
  load: (onProgress: (progress: LoadProgress) => void) => Promise<void>,
  model: string,
): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const line = (value: unknown) => {
        try {
          controller.enqueue(encoder.encode(JSON.stringify(value) + "\n"));
        } catch {
          // The client went away; the load goes on so the next request finds it ready.
        }
      };
      try {
        await load((progress) => line({ progress }));
        line({ model, loaded: true });
      } catch (error) {
        const mapped = asHttpError(error);
        line({
          error: mapped instanceof HttpError
            ? { code: mapped.code, message: mapped.message }
            : { code: "internal", message: "Loading failed on the server; it is logged." },
        });
      }
      try {
        controller.close();
      } catch {
        // already closed by a departed client
      }
    },
  });
  return new Response(body, {
    headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" },
  });
}
