/** The HTTP side: the shell, health, the model API, errors, headers and start-up checks. */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { spawnApp } from "./helpers/app.ts";
import { withApp } from "./helpers/fixture.ts";
import { TestClient } from "./helpers/ws_client.ts";
import { unusedPort } from "./helpers/ports.ts";

Deno.test("http - the shell is rendered on the server with the island and a strict CSP", async () => {
  await withApp({ OLLAMA_MODEL: "qwen3:0.6b" }, async ({ app }) => {
    const response = await fetch(app.url + "/");
    assertEquals(response.status, 200);
    const csp = response.headers.get("content-security-policy") ?? "";
    for (const part of ["default-src 'self'", "script-src 'self'", "img-src 'self' data:"]) {
      assert(csp.includes(part), `CSP has ${part}: ${csp}`);
    }
    assertEquals(response.headers.get("x-content-type-options"), "nosniff");
    const html = await response.text();
    assertMatch(html, /<h1[^>]*>Local Chat<\/h1>/);
    assertMatch(html, /<label[^>]*>Model<\/label>/);
    assertMatch(html, /<select[^>]*>.*<option value="qwen3:0\.6b"/s);
    assertMatch(html, /role="status".*?>connecting</s);
    assertMatch(html, /role="log"/);
    assertMatch(html, /<label for="([^"]+)"[^>]*>Message<\/label><textarea id="\1"/);
    assertMatch(html, /<button type="submit"[^>]*>.*?<span>Send<\/span>/s);
    assertMatch(html, /<script type="module" src="\/_islands\/Chat\.js"><\/script>/);
    assert(!/<script>(?!<)/.test(html), "no inline script that the CSP would block");
    const bundle = await fetch(app.url + "/_islands/Chat.js");
    assertEquals(bundle.headers.get("content-type"), "text/javascript; charset=utf-8");
    assertMatch(await bundle.text(), /hydrate|data-island/);
    const css = await fetch(app.url + "/styles.css");
    assertEquals([css.status, css.headers.get("content-type")], [200, "text/css; charset=utf-8"]);
    await css.body?.cancel();
  });
});

Deno.test("http - /health reports Ollama's version, or 503 with the reason", async () => {
  await withApp({}, async ({ app }) => {
    const response = await fetch(app.url + "/health");
    assertEquals(response.status, 200);
    const body = await response.json();
    assertEquals([body.status, body.ollama.reachable, body.ollama.version], ["ok", true, "0.33.0"]);
  });
  await withApp({ OLLAMA_HOST: `127.0.0.1:${unusedPort()}` }, async ({ app }) => {
    const response = await fetch(app.url + "/health");
    assertEquals(response.status, 503);
    const body = await response.json();
    assertEquals([body.status, body.ollama.reachable], ["unavailable", false]);
    assertMatch(body.ollama.reason, /not reachable/);
  });
});

Deno.test("http - /api/models lists name, size, quantization, and what is in memory", async () => {
  await withApp({}, async ({ app, ollama }) => {
    ollama.loaded.add("llama3.2:latest");
    const response = await fetch(app.url + "/api/models");
    assertEquals(response.status, 200);
    const body = await response.json();
    assertEquals(body.defaultModel, "llama3.2");
    const llama = body.models.find((m: { name: string }) => m.name === "llama3.2:latest");
    assertEquals(
      [llama.parameterSize, llama.quantization, llama.loaded, llama.size],
      ["3.2B", "Q4_K_M", true, 2019393189],
    );
    const others = body.models.filter((m: { name: string }) => m.name !== "llama3.2:latest");
    assert(others.length > 0 && others.every((m: { loaded: boolean }) => !m.loaded));
  });
});

Deno.test("http - /api/models says plainly when Ollama is unreachable", async () => {
  await withApp({ OLLAMA_HOST: `127.0.0.1:${unusedPort()}` }, async ({ app }) => {
    const response = await fetch(app.url + "/api/models");
    assertEquals(response.status, 503);
    const body = await response.json();
    assertEquals(body.error.code, "backend_unreachable");
    assertMatch(body.error.message, /Start Ollama/);
  });
});

Deno.test("http - /api/models/load loads a model and maps every failure", async () => {
  await withApp({}, async ({ app, ollama }) => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(app.url + "/api/models/load", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    const ok = await post('{"model":"llama3.2"}');
    assertEquals([ok.status, await ok.json()], [200, { model: "llama3.2", loaded: true }]);
    assert(ollama.loaded.has("llama3.2:latest"), "Ollama has the model in memory");

    const cases: [string, number, string][] = [
      ["{nope", 400, "invalid_json"],
      ["{}", 400, "invalid_body"],
      ['{"model":""}', 400, "invalid_body"],
      ["[1]", 400, "invalid_body"],
      ['{"model":"ghost"}', 404, "model_not_found"],
    ];
    for (const [body, status, code] of cases) {
      const response = await post(body);
      assertEquals([response.status, (await response.json()).error.code], [status, code], body);
    }
    const tooBig = await post(JSON.stringify({ model: "x".repeat(70_000) }));
    assertEquals(tooBig.status, 413);
    await tooBig.body?.cancel();
    ollama.failWith = {
      status: 503,
      error: "server busy, please try again.  maximum pending requests exceeded",
    };
    const busy = await post('{"model":"llama3.2"}');
    assertEquals([busy.status, (await busy.json()).error.code], [503, "backend_busy"]);
    ollama.failWith = { status: 500, error: "llama runner process has terminated" };
    const failed = await post('{"model":"llama3.2"}');
    const failure = await failed.json();
    assertEquals([failed.status, failure.error.code], [502, "backend_error"]);
    assertMatch(failure.error.message, /llama runner process has terminated/);
    ollama.failWith = undefined;
    const foreign = await post('{"model":"llama3.2"}', { origin: "https://evil.example" });
    assertEquals(foreign.status, 403);
    await foreign.body?.cancel();
  });
  await withApp({ OLLAMA_HOST: `127.0.0.1:${unusedPort()}` }, async ({ app }) => {
    const response = await fetch(app.url + "/api/models/load", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"model":"llama3.2"}',
    });
    assertEquals([response.status, (await response.json()).error.code], [
      503,
      "backend_unreachable",
    ]);
  });
});

Deno.test("http - wrong methods get 405 with Allow, unknown paths 404", async () => {
  await withApp({}, async ({ app }) => {
    const post = await fetch(app.url + "/health", { method: "POST" });
    assertEquals([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
    await post.body?.cancel();
    const get = await fetch(app.url + "/api/models/load");
    assertEquals([get.status, get.headers.get("allow")], [405, "POST"]);
    await get.body?.cancel();
    const missing = await fetch(app.url + "/api/create");
    assertEquals([missing.status, (await missing.json()).error.code], [404, "not_found"]);
    const plain = await fetch(app.url + "/ws");
    assertEquals(plain.status, 426);
    await plain.body?.cancel();
  });
});

Deno.test("http - the app calls only the Ollama endpoints it needs, never a proxy", async () => {
  await withApp({}, async ({ app, ollama, client }) => {
    for (const path of ["/api/create", "/api/blobs/sha256:x", "/api/push", "/api/copy"]) {
      const response = await fetch(app.url + path, { method: "POST", body: "{}" });
      assertEquals(response.status, 404, path);
      await response.body?.cancel();
    }
    await (await fetch(app.url + "/health")).body?.cancel();
    await (await fetch(app.url + "/api/models")).body?.cancel();
    const ws = await client();
    await ws.ask("llama3.2", "hi");
    const used = new Set(ollama.requests.map((r) => r.path));
    for (const path of used) {
      assert(
        ["/api/chat", "/api/tags", "/api/ps", "/api/show", "/api/version"].includes(path),
        `unexpected call to ${path}`,
      );
    }
  });
});

Deno.test("http - an invalid setting stops start-up, naming the variable and the value", async () => {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname],
    env: { PORT: "eighty" },
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout } = await command.output();
  assertEquals(code, 2);
  assertMatch(
    new TextDecoder().decode(stdout),
    /PORT="eighty" is invalid: expected a whole number/,
  );
});

Deno.test("http - main.ts serves, and SIGTERM ends answers cleanly", async () => {
  await withApp({}, async ({ ollama }) => {
    const app = await spawnApp({ OLLAMA_HOST: ollama.url });
    try {
      const ws = await TestClient.open(app.url.replace("http", "ws") + "/ws");
      const { content } = await ws.ask("llama3.2", "from a real process");
      assertMatch(content, /from a real process/);
      ollama.manual = true;
      ws.send({
        type: "chat",
        requestId: "r",
        model: "llama3.2",
        messages: [{ role: "user", content: "hold" }],
      });
      await ws.next("answer.start");
      await ollama.waitForHeld();
      const status = await app.stop("SIGTERM");
      assertEquals(status.code, 0);
      assertEquals((await ws.next("answer.end")).error?.code, "shutting_down");
      await ws.close();
    } finally {
      await app.stop("SIGKILL");
    }
  });
});
