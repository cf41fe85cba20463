/**
 * Starts the real app for a test: in this process on port 0 (`startTestApp`), or as its own
 * process through `main.ts` (`spawnApp`), always against a real HTTP server for Ollama.
 */
import manifest from "../../manifest.gen.ts";
import { type RunningApp, startApp } from "../../lib/app.ts";
import { parseConfig } from "../../lib/config.ts";
import { createLogger } from "../../lib/log.ts";

export type TestApp = RunningApp & { readonly wsUrl: string };

/** The app in this process, on a free loopback port, quiet unless `LOG_LEVEL` is set. */
export async function startTestApp(env: Record<string, string>): Promise<TestApp> {
  // Each app gets a data directory of its own (its SQLite database) unless the test names one.
  const tempDir = env.DATA_DIR ? undefined : await Deno.makeTempDir({ prefix: "chat-data-" });
  // Built-in models are off unless a test turns them on: most tests are about Ollama.
  const config = parseConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    BUILTIN_MODELS: "off",
    ...(tempDir ? { DATA_DIR: tempDir } : {}),
    ...env,
  });
  const level = Deno.env.get("TEST_LOG_LEVEL") as "debug" | "info" | undefined;
  const app = await startApp(config, manifest, { logger: createLogger(level ?? "silent") });
  const shutdown = app.shutdown;
  return Object.assign(app, {
    wsUrl: app.url.replace(/^http/, "ws") + "/ws",
    async shutdown() {
      await shutdown();
      if (tempDir) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    },
  });
}

export interface SpawnedApp {
  readonly url: string;
  readonly port: number;
  readonly process: Deno.ChildProcess;
  /** Sends a signal and waits for the process to end. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** `main.ts` in its own process, as `deno task start` runs it; resolves once it listens. */
export async function spawnApp(
  env: Record<string, string>,
  /** Extra flags for `deno run`, e.g. `--cpu-prof`. */
  denoFlags: readonly string[] = [],
): Promise<SpawnedApp> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...denoFlags, new URL("../../main.ts", import.meta.url).pathname],
    env: { HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", BUILTIN_MODELS: "off", ...env },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/listening on (http:\/\/\S+?)\/? /.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the app exited before listening: ${seen}`);
    seen += value;
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })();
  const url = /listening on (http:\/\/\S+?)\/? /.exec(seen)![1]!;
  return {
    url,
    port: Number(new URL(url).port),
    process,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch {
        // already gone
      }
      return await process.status;
    },
  };
}
