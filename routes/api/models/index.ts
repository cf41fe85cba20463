import { asHttpError } from "../../../lib/http_errors.ts";
import { json } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

/** The models Ollama has (`/api/tags`), each marked when it is in memory (`/api/ps`). */
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
};
