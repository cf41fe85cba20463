/**
 * What the model sees of a stored conversation: the branch from the first message to the
 * prompt, cut to fit the context window. The policy, documented in docs/protocol.md: the system
 * prompt and the latest prompt are always kept; earlier turns are kept newest first while they
 * fit in the budget (the context window less room for the answer); the rest are left out, and
 * the answer says how many.
 */
import type { ChatTurn, GenerationOptions } from "../backends/backend.ts";
import type { Message } from "../store/store.ts";

/** Ollama's usual context window when none is configured. */
const DEFAULT_CONTEXT = 4096;
/** Tokens kept free for the answer when `num_predict` does not say. */
const ANSWER_RESERVE = 512;
/** A rough tokens-per-character figure for English text: errs on the side of leaving out. */
const CHARS_PER_TOKEN = 3.5;
/** Role markers and separators a chat template adds around each turn. */
const TOKENS_PER_TURN = 4;

export interface ModelInput {
  readonly messages: ChatTurn[];
  /** Earlier turns left out to fit the context window. */
  readonly omittedTurns: number;
}

/** The chain of messages from the first one down to `lastId`, oldest first. */
export function branchTo(messages: readonly Message[], lastId: string): Message[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const branch: Message[] = [];
  for (let at = byId.get(lastId); at; at = at.parentId ? byId.get(at.parentId) : undefined) {
    branch.push(at);
    if (branch.length > messages.length) break; // a cycle would be a corrupt store; stop
  }
  return branch.reverse();
}

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN) + TOKENS_PER_TURN;
}

/** Builds the model's input from a branch, applying the context policy above. */
export function modelInput(
  branch: readonly Message[],
  systemPrompt: string,
  options: GenerationOptions,
): ModelInput {
  const turns: ChatTurn[] = branch
    .filter((m) => (m.role === "user" || m.role === "assistant") && m.content !== "")
    .map((m) => ({ role: m.role, content: m.content }));
  const budget = (options.num_ctx ?? DEFAULT_CONTEXT) - (options.num_predict ?? ANSWER_RESERVE);
  let used = systemPrompt === "" ? 0 : estimateTokens(systemPrompt);
  const kept: ChatTurn[] = [];
  for (let i = turns.length - 1; i >= 0; i--) {
    const cost = estimateTokens(turns[i]!.content);
    // The newest turn (the prompt, or the answer being continued) always goes.
    if (kept.length > 0 && used + cost > budget) break;
    used += cost;
    kept.unshift(turns[i]!);
  }
  const system: ChatTurn[] = systemPrompt === "" ? [] : [{ role: "system", content: systemPrompt }];
  return { messages: [...system, ...kept], omittedTurns: turns.length - kept.length };
}

/** The title of a chat created before its first prompt; that prompt then names it. */
export const NEW_CHAT_TITLE = "New chat";

/** A conversation's title from its first prompt: its first line, at most 60 characters. */
export function titleFrom(prompt: string): string {
  const line = prompt.trim().split("\n")[0]!.replace(/\s+/g, " ").trim();
  return line.length <= 60 ? line || NEW_CHAT_TITLE : `${line.slice(0, 59).trimEnd()}…`;
}
