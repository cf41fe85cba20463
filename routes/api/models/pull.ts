import type { PullProgress } from "../../../lib/backends/backend.ts";
import { asHttpError } from "../../../lib/http_errors.ts";
import { readModelName } from "../../../lib/models/name_request.ts";
import { HttpError, json } from "../../../lib/server/http_error.ts";
import { ownerOf } from "../../../lib/owner.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

/**
 * Pulls a model: `{"name": "qwen3:0.6b"}` (`builtin/…` names fetch a built-in model's file) →
 * `application/x-ndjson`, one progress object per line (`{"status","digest"?,"completed"?,
 * "total"?}`), ending with `{"status":"success"}` or `{"error":{"code","message"}}`.
 *
 * The response starts once the model server has answered, so a failure before that (a bad
 * name, Ollama down or busy, an unknown built-in model) is a plain HTTP error. A client that
 * disconnects or aborts cancels the pull: the request to Ollama is closed with it.
 *
 * `DELETE` with `{"name"}` cancels the caller's running pulls of that model on this instance
 * (`{"name", "cancelled"}`, false when none runs here); their responses end.
 */
export const handler = {
  async DELETE(ctx: Context<State>) {
    const { config, pulls } = ctx.state;
    const name = await readModelName(ctx.req, config.limits.maxBodyBytes);
    const cancelled = pulls.cancel(ownerOf(ctx.req), name);
    return json({ name, cancelled });
  },

  async POST(ctx: Context<State>) {
    const { backend, config, logger, pulls } = ctx.state;
    const name = await readModelName(ctx.req, config.limits.maxBodyBytes);

    const cancel = new AbortController();
    let ended = false;
    let progress: AsyncIterator<PullProgress> | undefined;
    // The client went away (closed the connection or aborted its fetch): the pull stops. That
    // shows on `req.signal`, before the response and while its body streams (a quiet Ollama
    // writes nothing, so a failed write would come too late), or as the body stream's cancel.
    // (deno.json opts into `no-legacy-abort`: without it Deno also fires the signal after a
    // response went out whole, and logs a notice about that; `ended` guards either way.)
    let forget = () => {};
    const abandon = () => {
      forget();
      if (ended) return;
      ended = true;
      cancel.abort(new Error("the pull was cancelled"));
      logger.info("model_pull_cancelled", { model: name });
      void progress?.return?.().catch(() => {});
    };
    forget = pulls.add(ownerOf(ctx.req), name, abandon);

    let first: IteratorResult<PullProgress>;
    ctx.req.signal.addEventListener("abort", abandon, { once: true });
    try {
      progress = backend.pull(name, cancel.signal)[Symbol.asyncIterator]();
      first = await progress.next();
    } catch (error) {
      forget();
      ctx.req.signal.removeEventListener("abort", abandon);
      throw asHttpError(error);
    }
    logger.info("model_pull_started", { model: name });

    const encoder = new TextEncoder();
    const line = (value: unknown) => encoder.encode(JSON.stringify(value) + "\n");
    let next: IteratorResult<PullProgress> | undefined = first;
    const end = (controller: ReadableStreamDefaultController<Uint8Array>) => {
      ended = true;
      forget();
      ctx.req.signal.removeEventListener("abort", abandon);
      try {
        controller.close();
      } catch {
        // already cancelled by the departed client
      }
    };
    const body$ = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // Cancelled while no line was awaited (a DELETE): the response ends here.
        if (ended) return end(controller);
        try {
          const result = next ?? await progress!.next();
          next = undefined;
          if (result.done) return end(controller);
          controller.enqueue(line(result.value));
          if (result.value.status === "success") {
            logger.info("model_pulled", { model: name });
            return end(controller);
          }
        } catch (error) {
          if (cancel.signal.aborted) return end(controller);
          const mapped = asHttpError(error);
          controller.enqueue(line({
            error: mapped instanceof HttpError
              ? { code: mapped.code, message: mapped.message }
              : { code: "internal", message: "The pull failed on the server; it is logged." },
          }));
          if (!(mapped instanceof HttpError)) {
            logger.error("model_pull_failed", { model: name, error: String(error) });
          }
          end(controller);
        }
      },
      cancel: abandon,
    });
    return new Response(body$, {
      headers: {
        "content-type": "application/x-ndjson",
        "cache-control": "no-store",
        // A browser that aborts a response on a connection it could reuse may keep reading
        // ("draining") the rest, up to 16 KB or 5 s in Chromium, so we would see no close and
        // Ollama would go on pulling, to the end if little was left. This connection is not
        // reusable, so an abort closes it at once.
        connection: "close",
      },
    });
  },
};
