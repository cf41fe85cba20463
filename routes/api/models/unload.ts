import { asHttpError } from "../../../lib/http_errors.ts";
import { readModelName } from "../../../lib/models/name_request.ts";
import { json } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

/**
 * Frees a model's memory now: `{"name": "llama3.2"}` → `{"name", "loaded": false}`. A model
 * that was not loaded answers the same; an unknown one is a 404.
 */
export const handler = {
  async POST(ctx: Context<State>) {
    const { backend, config, logger } = ctx.state;
    const name = await readModelName(ctx.req, config.limits.maxBodyBytes);
    try {
      await backend.unload(name);
    } catch (error) {
      throw asHttpError(error);
    }
    logger.info("model_unloaded", { model: name });
    return json({ name, loaded: false });
  },
};
