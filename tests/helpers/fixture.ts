/** One fake Ollama and one app in front of it, torn down after the test whatever happens. */
import { FakeOllama, type FakeOllamaOptions } from "../fake_ollama.ts";
import { startTestApp, type TestApp } from "./app.ts";
import { TestClient } from "./ws_client.ts";

export interface Fixture {
  readonly ollama: FakeOllama;
  readonly app: TestApp;
  /** A connected client that has had its `hello`; closed at the end of the test. */
  client(headers?: Record<string, string>): Promise<TestClient>;
}

export async function withApp(
  env: Record<string, string>,
  test: (fixture: Fixture) => Promise<void>,
  options: FakeOllamaOptions = {},
): Promise<void> {
  const ollama = await FakeOllama.start(options);
  const app = await startTestApp({ OLLAMA_HOST: ollama.url, ...env });
  const clients: TestClient[] = [];
  try {
    await test({
      ollama,
      app,
      async client(headers = {}) {
        const client = await TestClient.open(app.wsUrl, headers);
        clients.push(client);
        return client;
      },
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await app.shutdown();
    await ollama.close();
  }
}
