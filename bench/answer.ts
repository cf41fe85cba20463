/**
 * The answers the benchmark asks for: the prompt names how many tokens it wants, the fake
 * Ollama (bench/fake_server.ts) answers with exactly {@link answerTokens}, and both clients
 * check what arrived against the same list, token count and text.
 */

export const BENCH_MODEL = "llama3.2";
/** The app's default system prompt; the direct path sends it too, so both ask the same. */
export const SYSTEM_PROMPT = "You are a helpful assistant.";

/** The user's prompt for one stream; the fake reads `tokens=N` back out of it. */
export function promptFor(stream: number, tokens: number): string {
  return `Benchmark stream ${stream}: answer with tokens=${tokens}.`;
}

/** How many tokens a prompt asks for, or undefined when it is not one of ours. */
export function tokensAsked(prompt: string): number | undefined {
  const match = /tokens=(\d+)/.exec(prompt);
  return match ? Number(match[1]) : undefined;
}

/**
 * `count` tokens of 3 to 6 characters, like real BPE pieces, each different from its
 * neighbours so that a lost, doubled or reordered token changes the text. Every 37th carries
 * a non-ASCII character, so the UTF-8 path is exercised as well.
 */
export function answerTokens(count: number): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(i % 37 === 36 ? ` é${i}` : ` w${i}`);
  return tokens;
}
