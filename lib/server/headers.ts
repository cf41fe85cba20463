/**
 * Security headers on every response. The CSP is what makes untrusted model output safe to
 * render even if sanitising ever misses something: no inline script, no script from elsewhere,
 * and nothing fetched from other origins (a prompt-injected image URL can't leak the chat).
 */

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["content-security-policy", CONTENT_SECURITY_POLICY],
  ["x-content-type-options", "nosniff"],
  ["referrer-policy", "no-referrer"],
  ["x-frame-options", "DENY"],
  ["cross-origin-opener-policy", "same-origin"],
  ["cross-origin-resource-policy", "same-origin"],
  ["permissions-policy", "camera=(), microphone=(), geolocation=()"],
];

/** Adds the security headers in place; a 101 upgrade response is left alone. */
export function withSecurityHeaders(response: Response): Response {
  if (response.status === 101) return response;
  for (const [name, value] of HEADERS) {
    if (!response.headers.has(name)) response.headers.set(name, value);
  }
  return response;
}
