import { assert, assertEquals, assertMatch } from "../tests/helpers/assert.ts";
import { checkModelName, MAX_MODEL_NAME_LENGTH } from "./model_name.ts";

Deno.test("model name - Ollama's names are accepted as given", () => {
  for (
    const name of [
      "llama3.2",
      "qwen3:0.6b",
      "llama3.2:latest",
      "library/llama3.2:3b-instruct-q4_K_M",
      "hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M",
      "registry.example.com:5000/team/model:v1.0",
      "builtin/smollm2-135m",
      "_private_model",
    ]
  ) {
    assertEquals(checkModelName(name), { ok: true, name }, name);
  }
  assertEquals(checkModelName("  llama3.2 "), { ok: true, name: "llama3.2" });
});

Deno.test("model name - anything else is refused, saying what was expected", () => {
  for (
    const bad of [
      "",
      " ",
      "../etc/passwd",
      "a/b/c/d",
      "model:",
      ":tag",
      "-dash-first",
      "name with spaces",
      "dotted.namespace/model",
      "model:tag:more",
      "model@sha256:abc",
      "a//b",
      "x".repeat(81),
      "é",
    ]
  ) {
    const result = checkModelName(bad);
    assert(!result.ok, `refused: ${JSON.stringify(bad)}`);
    assertMatch(result.message, /Expected a model name|characters long/);
  }
  for (const value of [undefined, null, 42, ["llama3.2"], { name: "x" }]) {
    const result = checkModelName(value);
    assert(!result.ok);
    assertMatch(
      result.message,
      /^Expected a model name .*; got (nothing|null|a number|an object)\.$/,
    );
  }
});

Deno.test("model name - the whole name is capped", () => {
  const long = `${"h".repeat(200)}/${"m".repeat(60)}`;
  const result = checkModelName(long);
  assert(!result.ok);
  assertEquals(
    result.message,
    `The model name is ${long.length} characters long; at most ${MAX_MODEL_NAME_LENGTH} are allowed.`,
  );
});
