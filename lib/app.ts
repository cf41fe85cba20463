/**
 * Puts the app together: configuration, the Ollama backend, the chat hub, the router over the
 * route manifest, and `Deno.serve`. `main.ts` calls it; so do the tests, on port 0.
 */
import { join } from "node:path";
import { CombinedBackend } from "./backends/combined.ts";
import { LlamaBackend } from "./backends/llama.ts";
import { OllamaBackend } from "./backends/ollama.ts";
import { describeSource } from "./models/catalogue.ts";
import { createModelLibrary } from "./models/folder.ts";
import type { ModelLibrary } from "./models/library.ts";
import { openStore } from "./store/open.ts";
import type { Store } from "./store/store.ts";
import { ChatHub } from "./chat/hub.ts";
import type { Config } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { buildIslands } from "./server/islands.ts";
import { createRouter } from "./server/router.ts";
import { loadStaticFiles } from "./server/static.ts";
import type { Manifest } from "./server/types.ts";
import type { State } from "./state.ts";
import { PullsInFlight } from "./models/pulls.ts";

export interface AppOptions {
  readonly logger?: Logger;
  /** Unminified island bundles, for `deno task dev`. */
  readonly dev?: boolean;
}

export interface RunningApp {
  /** e.g. `http://127.0.0.1:8000` */
  readonly url: string;
  readonly port: number;
  readonly hub: ChatHub;
  readonly backend: CombinedBackend;
  readonly store: Store;
  /** The built-in models' files. */
  readonly library: ModelLibrary;
  /** Ends every answer, closes every socket, then stops the HTTP server. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

export async function startApp(
  config: Config,
  manifest: Manifest,
  options: AppOptions = {},
): Promise<RunningApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const library = createModelLibrary({
    dir: join(config.dataDir, "models"),
    fetchOptions: {
      onSourceFailed: (source, reason) =>
        logger.warn("model source failed", { source: describeSource(source), reason }),
    },
  });
  const builtin = config.builtin;
  const backend = new CombinedBackend({
    ollama: new OllamaBackend({ url: config.ollamaUrl, timeoutMs: config.ollamaTimeoutMs }),
    ollamaDefault: config.defaultModel,
    probeMs: config.ollamaProbeMs,
    ...(builtin
      ? {
        builtin: new LlamaBackend({
          library,
          ...(builtin.threads > 0 ? { threads: builtin.threads } : {}),
          idleUnloadMs: builtin.idleUnloadMs,
          contextSize: builtin.contextSize,
          maxQueue: builtin.maxQueue,
          logger,
        }),
        builtinDefault: builtin.defaultModel,
      }
      : {}),
  });
  await backend.start();
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  // Answers that were streaming when the last process died can't go on: say so.
  const interrupted = await store.markInterrupted();
  if (interrupted > 0) logger.info("answers interrupted by the last stop", { interrupted });
  // Deleted conversations can be restored (Undo) for a while, then go for good.
  const purge = setInterval(() => {
    store.purgeDeleted(Date.now() - config.undoWindowMs).catch((error) =>
      logger.error("purge failed", { error: String(error) })
    );
  }, config.undoWindowMs);
  Deno.unrefTimer(purge);
  const hub = new ChatHub({
    backend,
    store,
    config,
    logger,
    defaultModel: () => backend.defaultModel(),
  });
  const state: State = {
    config,
    backend,
    store,
    hub,
    logger,
    pulls: new PullsInFlight(),
    startedAt: performance.now(),
  };
  const [islands, staticFiles] = await Promise.all([
    buildIslands(manifest, { minify: !options.dev }),
    loadStaticFiles(new URL("./static/", manifest.baseUrl)),
  ]);
  const handler = createRouter({
    manifest,
    state,
    islands,
    staticFiles,
    guard: config,
    logger,
  });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: resolve,
    onError(error) {
      logger.error("unhandled", { error: String(error) });
      return new Response("Internal Server Error", { status: 500 });
    },
  }, handler);
  const addr = await listening;
  const hostForUrl = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl === "0.0.0.0" ? "127.0.0.1" : hostForUrl}:${addr.port}`,
    port: addr.port,
    hub,
    backend,
    store,
    library,
    finished: server.finished,
    shutdown() {
      stopping ??= (async () => {
        clearInterval(purge);
        await hub.shutdown();
        await server.shutdown();
        await backend.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
