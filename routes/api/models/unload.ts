import { asHttpError } from "../../../lib/http_errors.ts";
import { checkModelName } from "../../../lib/model_name.ts";
import { HttpError, json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

/**
 * Frees a model's memory now: `{"name": "llama3.2"}` → `{"name", "loaded": false}`. A model
 * that was not loaded answers the same; an unknown one is a 404.
 */
export const handler = {
  async POST(ctx: Context<State>) {
    const { backend, config, logger } = ctx.state;
    const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
    const checked = checkModelName(body.name ?? body.model);
    if (!checked.ok) throw new HttpError(400, "invalid_model_name", checked.message);
    try {
      await backend.unload(checked.name);
    } catch (error) {
      throw asHttpError(error);
    }
    logger.info("model_unloaded", { model: checked.name });
    return json({ name: checked.name, loaded: false });
  },
};
