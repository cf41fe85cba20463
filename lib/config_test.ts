import { assertEquals, assertThrows } from "../tests/helpers/assert.ts";
import { ConfigError, ollamaUrl, parseConfig } from "./config.ts";

Deno.test("config - defaults match the documented ones", () => {
  const config = parseConfig({});
  assertEquals(config.host, "127.0.0.1");
  assertEquals(config.port, 8000);
  assertEquals(config.ollamaUrl, "http://127.0.0.1:11434");
  assertEquals(config.ollamaTimeoutMs, 120_000);
  assertEquals(config.generation, {});
  assertEquals(config.limits.maxMessageBytes, 1_048_576);
});

Deno.test("config - OLLAMA_HOST accepts Ollama's own short forms", () => {
  const cases: [string, string][] = [
    ["", "http://127.0.0.1:11434"],
    [":1234", "http://127.0.0.1:1234"],
    ["1.2.3.4", "http://1.2.3.4:11434"],
    ["ollama:11434", "http://ollama:11434"],
    ["localhost:9999", "http://localhost:9999"],
    ["0.0.0.0", "http://127.0.0.1:11434"],
    ["[::1]", "http://[::1]:11434"],
    ["[::]:5000", "http://[::1]:5000"],
    ["http://example.com", "http://example.com"],
    ["https://example.com", "https://example.com"],
    ["https://example.com:8443/ollama/", "https://example.com:8443/ollama"],
    ["http://ollama:11434", "http://ollama:11434"],
  ];
  for (const [raw, expected] of cases) assertEquals(ollamaUrl(raw), expected, raw);
});

Deno.test("config - the original's FASTAPI_HOST and FASTAPI_PORT still work", () => {
  const config = parseConfig({ FASTAPI_HOST: "0.0.0.0", FASTAPI_PORT: "9000" });
  assertEquals([config.host, config.port], ["0.0.0.0", 9000]);
  const preferred = parseConfig({ FASTAPI_PORT: "9000", PORT: "7000" });
  assertEquals(preferred.port, 7000);
});

Deno.test("config - generation options come from the environment", () => {
  const config = parseConfig({
    MODEL_TEMPERATURE: "0.2",
    MODEL_TOP_P: "0.9",
    MODEL_TOP_K: "40",
    MODEL_NUM_CTX: "8192",
  });
  assertEquals(config.generation, { temperature: 0.2, top_p: 0.9, top_k: 40, num_ctx: 8192 });
});

Deno.test("config - an invalid value names the variable and the value", () => {
  const cases: Record<string, string>[] = [
    { PORT: "eighty" },
    { PORT: "70000" },
    { OLLAMA_TIMEOUT: "0" },
    { OLLAMA_HOST: "ftp://x" },
    { MODEL_TEMPERATURE: "hot" },
    { MODEL_TOP_K: "1.5" },
    { WS_MAX_MESSAGE_BYTES: "-1" },
    { ALLOWED_ORIGINS: "not a url" },
    { LOG_LEVEL: "loud" },
  ];
  for (const env of cases) {
    const [name, value] = Object.entries(env)[0]!;
    const error = assertThrows(() => parseConfig(env), ConfigError);
    assertEquals(
      error.message.startsWith(`${name}=${JSON.stringify(value)} is invalid`),
      true,
      error.message,
    );
  }
});

Deno.test("config - the resolved object is read-only", () => {
  const config = parseConfig({});
  assertThrows(() => {
    (config as { port: number }).port = 1;
  }, TypeError);
});

Deno.test("config - .env.example lists every variable, and its values are the defaults", async () => {
  const example = await Deno.readTextFile(new URL("../.env.example", import.meta.url));
  const source = await Deno.readTextFile(new URL("./config.ts", import.meta.url));
  const documented = new Set([...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]));
  const read = [...source.matchAll(/(?:read|int|num|optionalInt|list)\("([A-Z_]+)"/g)].map((m) =>
    m[1]
  );
  for (const name of read) assertEquals(documented.has(name), true, `${name} is in .env.example`);
  const env = Object.fromEntries(
    [...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  assertEquals(parseConfig(env), parseConfig({}));
});
