import { asHttpError } from "../../../lib/http_errors.ts";
import { HttpError, json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

/** Loads a model into Ollama's memory: `{"model": "llama3.2"}` → `{"model", "loaded": true}`. */
export const handler = {
  async POST(ctx: Context<State>) {
    const { backend, config } = ctx.state;
    const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
    const model = body.model;
    if (typeof model !== "string" || model.trim() === "" || model.length > 256) {
      throw new HttpError(400, "invalid_body", 'The body needs "model", a model name.');
    }
    try {
      await backend.load(model);
    } catch (error) {
      throw asHttpError(error);
    }
    return json({ model, loaded: true });
  },
};
