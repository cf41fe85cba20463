/** What the app hands every route as `ctx.state`. */
import type { Backend } from "./backends/backend.ts";
import type { ChatHub } from "./chat/hub.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";

export interface State {
  readonly config: Config;
  readonly backend: Backend;
  readonly hub: ChatHub;
  readonly logger: Logger;
  /** `performance.now()` at start-up, for `/health`'s uptime. */
  readonly startedAt: number;
}
