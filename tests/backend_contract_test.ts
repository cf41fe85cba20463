/**
 * The backend contract (backend_contract.ts) run against Ollama's client talking to the fake
 * Ollama, and against the built-in engine with a real model: SmolLM2 135M from the models
 * folder (`<DATA_DIR>/models`, default ./data/models), fetched first when missing.
 */
import { OllamaBackend } from "../lib/backends/ollama.ts";
import { LlamaBackend } from "../lib/backends/llama.ts";
import { library, modelName } from "./helpers/builtin_model.ts";
import { backendContract } from "./backend_contract.ts";
import { FakeOllama } from "./fake_ollama.ts";

backendContract("ollama", async () => {
  const fake = await FakeOllama.start();
  // A little time per token, as a real server takes, so Stop lands mid-answer.
  fake.tokenDelayMs = 5;
  return {
    backend: new OllamaBackend({ url: fake.url, timeoutMs: 10_000 }),
    model: "llama3.2:latest",
    queues: false,
    teardown: () => fake.close(),
  };
});

backendContract("builtin", () => {
  const backend = new LlamaBackend({
    library,
    threads: 2,
    contextSize: 1024,
    idleUnloadMs: 60_000,
  });
  return Promise.resolve({
    backend,
    model: modelName,
    queues: true,
    teardown: () => backend.close(),
  });
}, {
  testOptions: {
    // llama.cpp's native threads and handles outlive a test by design (they are shared by the
    // process and released when the library is disposed), which the sanitizers count as leaks.
    sanitizeOps: false,
    sanitizeResources: false,
  },
});
