import { asHttpError } from "../../../lib/http_errors.ts";
import { readModelName } from "../../../lib/models/name_request.ts";
import { json } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

/**
 * `GET`: the models Ollama has (`/api/tags`) and the built-in ones, each marked when it is in
 * memory (`/api/ps`). `DELETE` with `{"name"}`: deletes a model (Ollama's, or a built-in
 * model's file) → `{"name","deleted":true}`; 404 when there is no such model.
 */
export const handler = {
  async GET(ctx: Context<State>) {
    const { backend } = ctx.state;
    const [models, loaded] = await Promise.allSettled([
      backend.list(),
      backend.loaded(),
    ]);
    if (models.status === "rejected") throw asHttpError(models.reason);
    // Which models are in memory is a nicety: the list still helps when `ps` fails.
    const inMemory = new Set(loaded.status === "fulfilled" ? loaded.value.map((m) => m.name) : []);
    return json({
      models: models.value.map((model) => ({ ...model, loaded: inMemory.has(model.name) })),
      defaultModel: backend.defaultModel(),
    });
  },

  async DELETE(ctx: Context<State>) {
    const { backend, config, logger } = ctx.state;
    const name = await readModelName(ctx.req, config.limits.maxBodyBytes);
    try {
      await backend.remove(name);
    } catch (error) {
      throw asHttpError(error);
    }
    logger.info("model_deleted", { model: name });
    return json({ name, deleted: true });
  },
};
