/**
 * Entry point: `deno task start`. Reads the configuration once, serves the app, and shuts it
 * down cleanly on Ctrl+C or SIGTERM (every streaming answer is told why it ended).
 * Every route and island is listed in manifest.gen.ts.
 */
import manifest from "./manifest.gen.ts";
import { startApp } from "./lib/app.ts";
import { ConfigError, loadConfig } from "./lib/config.ts";
import { say } from "./lib/log.ts";

if (import.meta.main) {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    say(`Configuration error: ${error.message}`);
    Deno.exit(2);
  }
  const app = await startApp(config, manifest);
  say(`Local Chat is listening on ${app.url}/ (Ollama at ${config.ollamaUrl})`);
  const stop = async () => {
    await app.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
