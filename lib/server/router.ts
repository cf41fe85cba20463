/**
 * The request edge: Host and Origin guards, static files and island bundles, route dispatch
 * (405 with `Allow` for a missing method), the one place errors become responses, and the
 * security headers. It knows nothing about chat.
 */
import type { Logger } from "../log.ts";
import { type GuardOptions, isAllowedHost, isAllowedOrigin } from "./guard.ts";
import { withSecurityHeaders } from "./headers.ts";
import { HttpError, json } from "./http_error.ts";
import type { Asset, IslandRegistry } from "./islands.ts";
import { renderPage } from "./render.ts";
import { buildRouteTable, matchRoute } from "./routes.ts";
import { serveAsset } from "./static.ts";
import type { Context, HandlerFn, Manifest, Method, PageResult } from "./types.ts";

export interface RouterOptions<State> {
  readonly manifest: Manifest;
  readonly state: State;
  readonly islands: IslandRegistry;
  readonly staticFiles: ReadonlyMap<string, Asset>;
  readonly guard: GuardOptions;
  readonly logger: Logger;
}

export type ServeHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Promise<Response>;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function createRouter<State>(options: RouterOptions<State>): ServeHandler {
  const table = buildRouteTable(options.manifest);
  const { guard, logger } = options;

  const dispatch = async (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    const host = req.headers.get("host");
    if (!isAllowedHost(host, guard)) {
      throw new HttpError(
        403,
        "host_not_allowed",
        `This server does not serve the host ${JSON.stringify(host)}. ` +
          "Add it to ALLOWED_HOSTS if it is yours.",
      );
    }
    const isUpgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (
      (isUpgrade || !SAFE_METHODS.has(req.method)) &&
      !isAllowedOrigin(req.headers.get("origin"), host, guard)
    ) {
      throw new HttpError(
        403,
        "origin_not_allowed",
        `Requests from the origin ${JSON.stringify(req.headers.get("origin"))} are not allowed. ` +
          "Add it to ALLOWED_ORIGINS if it is yours.",
      );
    }
    const url = new URL(req.url);
    if (req.method === "GET" || req.method === "HEAD") {
      const asset = options.islands.assets.get(url.pathname) ??
        options.staticFiles.get(url.pathname);
      if (asset) return serveAsset(req, asset);
    }
    const matched = matchRoute(table, url);
    if (!matched) throw new HttpError(404, "not_found", `Nothing lives at ${url.pathname}.`);
    const { route, params } = matched;
    const ctx: Context<State> = { req, url, params, info, state: options.state };
    const handler = pickHandler<State>(route.module.handler, req.method as Method);
    const page = route.module.default;
    if (!handler && !(page && (req.method === "GET" || req.method === "HEAD"))) {
      throw new HttpError(405, "method_not_allowed", `${req.method} is not allowed here.`, {
        allow: allowed(route.module.handler, page !== undefined).join(", "),
      });
    }
    const result = handler ? await handler(ctx) : { data: undefined };
    if (result instanceof Response) return result;
    if (!page) throw new Error(`${route.file} returned page data but has no page component`);
    return renderPage(
      page,
      table.app,
      result as PageResult<unknown>,
      url,
      params,
      options.islands,
      req,
    );
  };

  return async (req, info) => {
    let response: Response;
    try {
      response = await dispatch(req, info);
    } catch (error) {
      response = errorResponse(error, logger, req);
    }
    return withSecurityHeaders(response);
  };
}

function pickHandler<State>(
  handler: unknown,
  method: Method,
): HandlerFn<State> | undefined {
  if (typeof handler === "function") return handler as HandlerFn<State>;
  if (handler && typeof handler === "object") {
    const table = handler as Partial<Record<Method, HandlerFn<State>>>;
    return table[method] ?? (method === "HEAD" ? table.GET : undefined);
  }
  return undefined;
}

function allowed(handler: unknown, hasPage: boolean): string[] {
  const methods = new Set<string>();
  if (typeof handler === "function") return ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
  if (handler && typeof handler === "object") Object.keys(handler).forEach((m) => methods.add(m));
  if (hasPage || methods.has("GET")) methods.add("GET").add("HEAD");
  return [...methods].sort();
}

function errorResponse(error: unknown, logger: Logger, req: Request): Response {
  if (error instanceof HttpError) {
    return json(
      { error: { code: error.code, message: error.message } },
      error.status,
      error.headers,
    );
  }
  logger.error("request failed", {
    method: req.method,
    url: req.url,
    error: error instanceof Error ? error.stack ?? error.message : String(error),
  });
  return json(
    { error: { code: "internal", message: "Something went wrong on the server; it is logged." } },
    500,
  );
}
