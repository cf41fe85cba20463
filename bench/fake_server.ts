/**
 * The fake Ollama in its own process, so that serving 1,000 NDJSON streams does not share an
 * event loop with the benchmark's clients. Prints one JSON line, `{"url": ...}`, once it
 * listens; stops on SIGTERM, SIGINT or when its stdin closes.
 *
 *     deno run -A bench/fake_server.ts [--token-delay-ms=N]
 */
import { FakeOllama } from "../tests/fake_ollama.ts";
import { answerTokens, tokensAsked } from "./answer.ts";

if (import.meta.main) {
  const fake = await FakeOllama.start();
  // `--token-delay-ms=N` paces the answers like a real model; the default is instant tokens.
  const delay = /^--token-delay-ms=(\d+)$/.exec(Deno.args[0] ?? "");
  fake.tokenDelayMs = delay ? Number(delay[1]) : 0;
  fake.reply = (request) => {
    const last = request.messages.findLast((m) => m.role === "user")?.content ?? "";
    return answerTokens(tokensAsked(last) ?? 200);
  };
  // The fake records every request for tests; a benchmark makes tens of thousands.
  const trim = setInterval(() => fake.requests.splice(0), 1000);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(trim);
    await fake.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify({ url: fake.url }) + "\n"));
  // Ends when the parent closes our stdin (or dies).
  for await (const _ of Deno.stdin.readable) {
    // nothing to read; we only wait for the end
  }
  await stop();
}
