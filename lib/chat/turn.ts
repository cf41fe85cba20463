/**
 * One answer from request to end: calls the backend, hands each chunk's new text on, measures
 * time to first token, and turns whatever ended it (done, Stop, a backend failure) into an
 * {@link AnswerOutcome}. It never throws: an answer always ends with a reason.
 */
import { type Backend, BackendError, type ChatRequest } from "../backends/backend.ts";
import type { AnswerStats, EndReason, ErrorCode, ProtocolError } from "../protocol.ts";

export interface AnswerOutcome {
  readonly reason: EndReason;
  readonly stats: AnswerStats;
  readonly error?: ProtocolError;
}

export interface TurnOptions {
  readonly backend: Backend;
  readonly request: ChatRequest;
  /** Aborted by Stop, by the socket closing, or by shutdown: one controller per answer. */
  readonly signal: AbortSignal;
  /** When the prompt arrived (`performance.now()`), if before this call; TTFT counts from it. */
  readonly startedAt?: number;
  /** Called for every chunk that carries new text. */
  readonly onDelta: (content: string, thinking: string) => void;
}

/** Why an answer's controller was aborted, so the outcome can say so. */
export type AbortReason = "stopped" | "disconnected" | "shutting_down";

export async function runTurn(options: TurnOptions): Promise<AnswerOutcome> {
  const { backend, request, signal, onDelta } = options;
  const started = options.startedAt ?? performance.now();
  let firstTokenAt: number | undefined;
  const stats = (extra: Partial<AnswerStats> = {}): AnswerStats => ({
    ttftMs: round((firstTokenAt ?? performance.now()) - started),
    totalMs: round(performance.now() - started),
    ...extra,
  });
  try {
    for await (const chunk of backend.chat(request, signal)) {
      if (signal.aborted) break;
      if (chunk.content !== "" || chunk.thinking !== "") {
        firstTokenAt ??= performance.now();
        onDelta(chunk.content, chunk.thinking);
      }
      if (chunk.done) {
        const figures: { -readonly [K in keyof AnswerStats]?: AnswerStats[K] } = {};
        if (chunk.evalCount !== undefined) figures.tokens = chunk.evalCount;
        if (chunk.promptEvalCount !== undefined) figures.promptTokens = chunk.promptEvalCount;
        if (chunk.evalCount !== undefined && chunk.evalDurationNs) {
          figures.tokensPerSecond = round(chunk.evalCount / (chunk.evalDurationNs / 1e9));
        }
        return { reason: chunk.reason, stats: stats(figures) };
      }
    }
    if (signal.aborted) return aborted(signal, stats());
    return failure("stream_broken", "The answer ended without its last chunk.", stats());
  } catch (error) {
    if (signal.aborted) return aborted(signal, stats());
    if (error instanceof BackendError) {
      return failure(CODE_OF[error.kind], error.message, stats());
    }
    return failure("backend_error", `The model server failed: ${String(error)}`, stats());
  }
}

const CODE_OF: Record<BackendError["kind"], ErrorCode> = {
  unreachable: "backend_unreachable",
  not_found: "model_not_found",
  busy: "backend_busy",
  timeout: "backend_timeout",
  broken: "stream_broken",
  bad_request: "backend_error",
  aborted: "stream_broken",
  failed: "backend_error",
};

function aborted(signal: AbortSignal, stats: AnswerStats): AnswerOutcome {
  const reason = signal.reason as AbortReason;
  if (reason === "shutting_down") {
    return failure(
      "shutting_down",
      "The server is restarting, so this answer was cut short. The partial answer is kept; " +
        "press Retry once it is back.",
      stats,
    );
  }
  return { reason: "stopped", stats };
}

function failure(code: ErrorCode, message: string, stats: AnswerStats): AnswerOutcome {
  return { reason: "error", stats, error: { code, message } };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
