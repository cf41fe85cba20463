/** How a backend failure shows at the HTTP API: one mapping, used by every route. */
import { BackendError, type BackendErrorKind } from "./backends/backend.ts";
import { HttpError } from "./server/http_error.ts";

const STATUS: Record<BackendErrorKind, { status: number; code: string }> = {
  unreachable: { status: 503, code: "backend_unreachable" },
  busy: { status: 503, code: "backend_busy" },
  timeout: { status: 504, code: "backend_timeout" },
  not_found: { status: 404, code: "model_not_found" },
  bad_request: { status: 400, code: "backend_error" },
  broken: { status: 502, code: "stream_broken" },
  aborted: { status: 503, code: "aborted" },
  failed: { status: 502, code: "backend_error" },
};

/** Rethrows a {@link BackendError} as the matching {@link HttpError}; anything else as is. */
export function asHttpError(error: unknown): unknown {
  if (!(error instanceof BackendError)) return error;
  const { status, code } = STATUS[error.kind];
  return new HttpError(status, code, error.message);
}
