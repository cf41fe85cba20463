/**
 * Entry point: `deno task start`. Reads the configuration once, serves the app, and shuts it
 * down cleanly on Ctrl+C or SIGTERM (every streaming answer is told why it ended).
 * Every route and island is listed in manifest.gen.ts.
 *
 * With no Ollama reachable, the first start also fetches the default built-in model (with a
 * progress bar), so the chat answers on a machine with nothing else installed.
 */
import { join } from "node:path";
import manifest from "./manifest.gen.ts";
import { type RunningApp, startApp } from "./lib/app.ts";
import { type Config, ConfigError, loadConfig } from "./lib/config.ts";
import { say } from "./lib/log.ts";
import { runModels } from "./scripts/models.ts";

/** Fetches the default built-in model when it is what people will get and it is missing. */
async function fetchBuiltinIfNeeded(app: RunningApp, config: Config): Promise<void> {
  const builtin = config.builtin;
  if (!builtin || app.backend.defaultModel() !== builtin.defaultModel) return;
  const model = (await app.library.list()).find((m) => m.name === builtin.defaultModel);
  if (!model || model.path) return;
  say(
    `Ollama is not reachable at ${config.ollamaUrl}, so the chat will answer with the built-in ` +
      `model ${model.name}. Fetching it once (${Math.round(model.size / 1e6)} MB)…`,
  );
  const encoder = new TextEncoder();
  const code = await runModels(["fetch", model.name], {
    library: app.library,
    dir: join(config.dataDir, "models"),
    write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    isTty: Deno.stdout.isTerminal(),
    ...(Deno.stdout.isTerminal() ? { columns: Deno.consoleSize().columns } : {}),
  });
  if (code !== 0) {
    say("The built-in model could not be fetched; the page will say so. Start Ollama, or run");
    say("`deno task models fetch` once the network is back.");
  }
}

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
  await fetchBuiltinIfNeeded(app, config);
}
