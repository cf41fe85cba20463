/**
 * Who may talk to the app. A web page the person visits could otherwise drive their local chat:
 * cross-origin pages are stopped by the Origin check, and DNS rebinding (where the attacker's
 * name resolves to 127.0.0.1, so Origin and Host match each other) by the Host allowlist.
 */

export interface GuardOptions {
  /** Host names served beside loopback names and IP literals; `"*"` accepts any. */
  readonly allowedHosts: readonly string[];
  /** Origins accepted beside the app's own; `"*"` accepts any. */
  readonly allowedOrigins: readonly string[];
}

/**
 * Whether a `Host` header names this app. IP literals can't be rebound, and `localhost`
 * (with `*.localhost`) always resolves to loopback, so those are always served.
 */
export function isAllowedHost(hostHeader: string | null, options: GuardOptions): boolean {
  if (hostHeader === null || hostHeader === "") return false;
  if (options.allowedHosts.includes("*")) return true;
  const name = hostName(hostHeader);
  if (name === undefined) return false;
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (isIpLiteral(name)) return true;
  return options.allowedHosts.some((allowed) =>
    allowed.startsWith("*.") ? name.endsWith(allowed.slice(1)) : name === allowed
  );
}

/**
 * Whether a request's `Origin` may use the app. A missing Origin is a non-browser client (no
 * page can forge that), which is allowed; a browser always sends one on WebSocket handshakes.
 */
export function isAllowedOrigin(
  origin: string | null,
  hostHeader: string | null,
  options: GuardOptions,
): boolean {
  if (origin === null) return true;
  if (options.allowedOrigins.includes("*") || options.allowedOrigins.includes(origin)) return true;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") &&
      hostHeader !== null && url.host.toLowerCase() === hostHeader.toLowerCase();
  } catch {
    return false;
  }
}

function hostName(hostHeader: string): string | undefined {
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return undefined;
  }
}

function isIpLiteral(name: string): boolean {
  return name.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}
