import { json } from "../lib/server/http_error.ts";
import type { Context } from "../lib/server/types.ts";
import type { State } from "../lib/state.ts";

/** 200 when Ollama answers, 503 with the reason when it does not. */
export const handler = {
  async GET(ctx: Context<State>) {
    const { backend, config, hub, startedAt } = ctx.state;
    const health = await backend.health();
    const body = {
      status: health.reachable ? "ok" : "degraded",
      app: {
        uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
        connections: hub.size,
        defaultModel: config.defaultModel,
      },
      ollama: {
        url: config.ollamaUrl,
        reachable: health.reachable,
        ...(health.version ? { version: health.version } : {}),
        ...(health.reason ? { reason: health.reason } : {}),
      },
    };
    return json(body, health.reachable ? 200 : 503);
  },
};
