import { json } from "../lib/server/http_error.ts";
import type { Context } from "../lib/server/types.ts";
import type { State } from "../lib/state.ts";

/**
 * The app's state and each model server's. 200 while some model server can answer (Ollama,
 * or the built-in engine when it is on); 503 with the reason when none can.
 */
export const handler = {
  async GET(ctx: Context<State>) {
    const { backend, config, hub, startedAt } = ctx.state;
    const status = await backend.status();
    const { ollama, builtin } = status;
    const body = {
      status: !status.serving ? "unavailable" : ollama.reachable ? "ok" : "degraded",
      app: {
        uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
        connections: hub.size,
        defaultModel: status.defaultModel,
      },
      ollama: {
        url: config.ollamaUrl,
        reachable: ollama.reachable,
        ...(ollama.version ? { version: ollama.version } : {}),
        ...(ollama.reason ? { reason: ollama.reason } : {}),
      },
      builtin: builtin
        ? {
          enabled: true,
          serving: builtin.serving,
          ...(builtin.version ? { version: builtin.version } : {}),
        }
        : { enabled: false },
    };
    return json(body, status.serving ? 200 : 503);
  },
};
