/**
 * `deno task dev`: regenerates manifest.gen.ts from routes/ and islands/, then serves the app
 * with readable island bundles. `--watch` (in the task) restarts it when a file changes.
 */
import { generateManifest } from "./lib/server/manifest.ts";
import { loadConfig } from "./lib/config.ts";
import { say } from "./lib/log.ts";

const root = new URL("./", import.meta.url);
const target = new URL("manifest.gen.ts", root);
const text = await generateManifest(root);
const current = await Deno.readTextFile(target).catch(() => "");
if (current !== text) {
  await Deno.writeTextFile(target, text);
  say("manifest.gen.ts updated");
}
const { default: manifest } = await import("./manifest.gen.ts");
const { startApp } = await import("./lib/app.ts");
const config = loadConfig();
const app = await startApp(config, manifest, { dev: true });
say(`Local Chat (dev) is listening on ${app.url}/ (Ollama at ${config.ollamaUrl})`);
