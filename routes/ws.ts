import { HttpError } from "../lib/server/http_error.ts";
import type { Context } from "../lib/server/types.ts";
import type { State } from "../lib/state.ts";

/**
 * The chat WebSocket (protocol: lib/protocol.ts). Host and Origin were checked by the router;
 * here the hub admits the socket or refuses it, both before the upgrade happens.
 */
export const handler = {
  GET(ctx: Context<State>) {
    const { hub, config } = ctx.state;
    if (ctx.req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      throw new HttpError(426, "upgrade_required", "Open this URL as a WebSocket.", {
        upgrade: "websocket",
      });
    }
    const admission = hub.admit(ctx.info.remoteAddr.hostname);
    if (!admission.ok) {
      throw new HttpError(
        admission.reason === "server_full" ? 503 : 429,
        admission.reason,
        admission.message,
      );
    }
    const { socket, response } = Deno.upgradeWebSocket(ctx.req, {
      idleTimeout: config.limits.idleTimeoutSeconds,
    });
    hub.attach(socket, admission);
    return response;
  },
};
