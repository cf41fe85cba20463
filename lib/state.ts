/** What the app hands every route as `ctx.state`. */
import type { CombinedBackend } from "./backends/combined.ts";
import type { ChatHub } from "./chat/hub.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import type { PullsInFlight } from "./models/pulls.ts";
import type { Store } from "./store/store.ts";

export interface State {
  readonly config: Config;
  /** Ollama and the built-in engine, behind one interface. */
  readonly backend: CombinedBackend;
  readonly store: Store;
  readonly hub: ChatHub;
  readonly logger: Logger;
  /** Model pulls running on this instance, for `DELETE /api/models/pull`. */
  readonly pulls: PullsInFlight;
  /** `performance.now()` at start-up, for `/health`'s uptime. */
  readonly startedAt: number;
}
