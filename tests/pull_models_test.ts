import { equal, match, ok } from "node:assert/strict";
import { FakeOllama } from "./fake_ollama.ts";
import { modelsToPull, pullModels } from "../scripts/pull_models.ts";

const ROOT = new URL("../", import.meta.url);

async function withFake(test: (fake: FakeOllama) => Promise<void>): Promise<void> {
  const fake = await FakeOllama.start({ models: [] });
  try {
    await test(fake);
  } finally {
    await fake.close();
  }
}

function collect(): { write: (text: string) => void; text: () => string } {
  const parts: string[] = [];
  return { write: (text) => parts.push(text), text: () => parts.join("") };
}

Deno.test("pull models - a successful pull reports progress and success", async () => {
  await withFake(async (fake) => {
    const out = collect();
    const results = await pullModels({
      host: fake.url,
      models: ["gemma3:1b"],
      write: out.write,
      isTty: false,
    });
    equal(results.length, 1);
    equal(results[0]?.ok, true);
    equal(results[0]?.error, undefined);
    const lines = out.text().split("\n").filter((line) => line !== "");
    ok(lines.some((line) => /^gemma3:1b +50% +\d.*\/.*MB +pulling [0-9a-f]{12}$/.test(line)));
    match(lines.at(-1)!, /^gemma3:1b +100% .* success$/);
    // Plain output is for logs: no escape sequences, and no line per repeated progress update.
    ok(!out.text().includes("\x1b"));
    ok(lines.length < 20, `${lines.length} lines`);
    const pull = fake.requests.find((r) => r.path === "/api/pull");
    equal((pull?.body as { name?: string }).name, "gemma3:1b");
  });
});

Deno.test("pull models - a terminal gets one line per model redrawn in place", async () => {
  await withFake(async (fake) => {
    const out = collect();
    const results = await pullModels({
      host: fake.url,
      models: ["llama3.2", "gemma3:1b"],
      write: out.write,
      isTty: true,
      columns: 120,
    });
    equal(results.map((r) => r.ok).join(), "true,true");
    const text = out.text();
    ok(text.includes("\r\x1b[2K"));
    // Only a finished model ends its line.
    equal(text.split("\n").length - 1, 2);
    match(text, /llama3\.2 +\[#{24}\] 100% .*success\n/);
    match(text, /gemma3:1b +\[[#-]{24}\] +\d+%/);
  });
});

Deno.test("pull models - an unknown model reports Ollama's error and fails", async () => {
  await withFake(async (fake) => {
    const out = collect();
    const results = await pullModels({
      host: fake.url,
      models: ["no-such-model", "llama3.2"],
      write: out.write,
      isTty: false,
    });
    equal(results[0]?.model, "no-such-model");
    equal(results[0]?.ok, false);
    equal(results[0]?.error, "pull model manifest: file does not exist");
    // One failure does not stop the others.
    equal(results[1]?.ok, true);
    match(out.text(), /no-such-model +failed: pull model manifest: file does not exist/);
  });
});

Deno.test("pull models - an HTTP error from Ollama is reported with its message", async () => {
  await withFake(async (fake) => {
    fake.failWith = { status: 500, error: "no space left on device" };
    const results = await pullModels({
      host: fake.url,
      models: ["llama3.2"],
      write: () => {},
      isTty: false,
    });
    equal(results[0]?.ok, false);
    equal(results[0]?.error, "no space left on device");
  });
});

Deno.test("pull models - an unreachable Ollama names the address", async () => {
  const fake = await FakeOllama.start();
  const url = fake.url;
  await fake.close();
  const results = await pullModels({
    host: url,
    models: ["llama3.2"],
    write: () => {},
    isTty: false,
  });
  equal(results[0]?.ok, false);
  match(results[0]?.error ?? "", new RegExp(`^cannot reach Ollama at ${url}`));
});

Deno.test("pull models - aborting stops the pull and skips the rest", async () => {
  await withFake(async (fake) => {
    fake.tokenDelayMs = 40;
    const controller = new AbortController();
    const results = await pullModels({
      host: fake.url,
      models: ["llama3.2", "gemma3:1b"],
      write: (text) => {
        // Mid-layer: some bytes are done, the stream is still open.
        if (/ [1-9]\d?%/.test(text)) controller.abort();
      },
      isTty: false,
      signal: controller.signal,
    });
    equal(results[0]?.ok, false);
    equal(results[0]?.error, "interrupted");
    equal(results[1]?.ok, false);
    match(results[1]?.error ?? "", /not pulled/);
    const pulls = fake.requests.filter((r) => r.path === "/api/pull");
    equal(pulls.length, 1);
    await pulls[0]!.waitAborted();
  });
});

Deno.test("pull models - models come from arguments, PULL_MODELS, then OLLAMA_MODEL", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  equal(modelsToPull(["a", "b,c", "a"], env({ PULL_MODELS: "x" })).join(), "a,b,c");
  equal(modelsToPull([], env({ PULL_MODELS: " x, y ,", OLLAMA_MODEL: "z" })).join(), "x,y");
  equal(modelsToPull([], env({ PULL_MODELS: " ", OLLAMA_MODEL: "z" })).join(), "z");
  equal(modelsToPull([], env({})).join(), "llama3.2");
});

async function runCli(fake: FakeOllama, ...models: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/pull_models.ts", ...models],
    cwd: ROOT,
    env: { OLLAMA_HOST: fake.url, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("pull models - the CLI exits 0 when every pull succeeds", async () => {
  await withFake(async (fake) => {
    const { code, stdout, stderr } = await runCli(fake, "llama3.2");
    equal(code, 0, stdout + stderr);
    match(stdout, /llama3\.2 +100% .* success/);
    match(stdout, /Pulled 1 of 1 model/);
  });
});

Deno.test("pull models - the CLI exits 1 and names each failure", async () => {
  await withFake(async (fake) => {
    const { code, stdout, stderr } = await runCli(fake, "llama3.2", "nope:7b");
    equal(code, 1, stdout + stderr);
    match(stdout, /Pulled 1 of 2 model/);
    match(stdout, /failed: nope:7b: pull model manifest: file does not exist/);
  });
});

Deno.test({
  name: "pull models - Ctrl+C stops the CLI with exit code 130 and a summary",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withFake(async (fake) => {
      fake.tokenDelayMs = 100;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "scripts/pull_models.ts", "llama3.2", "gemma3:1b"],
        cwd: ROOT,
        env: { OLLAMA_HOST: fake.url, NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      let stdout = "";
      let interrupted = false;
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        stdout += decoder.decode(chunk, { stream: true });
        // Once the first layer is under way, as a user would press Ctrl+C.
        if (!interrupted && stdout.includes("pulling ")) {
          interrupted = true;
          child.kill("SIGINT");
        }
      }
      const { code } = await child.status;
      equal(code, 130, stdout + (await stderr));
      match(stdout, /llama3\.2 +failed: interrupted/);
      match(stdout, /Pulled 0 of 2 model/);
      match(stdout, /failed: gemma3:1b: not pulled: interrupted/);
    });
  },
});
