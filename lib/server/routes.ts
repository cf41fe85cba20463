/**
 * Turns the files of routes/ into URL patterns, with Fresh's file-name rules: `index` is the
 * folder itself, `[id]` a parameter, `[...rest]` the rest of the path, `(group)` a folder that
 * adds nothing to the URL, and `_app`, `_layout`, `_middleware`, `_404`, `_500` special files.
 */
import type { Manifest, RouteModule } from "./types.ts";

export interface Route {
  readonly file: string;
  readonly pattern: URLPattern;
  readonly module: RouteModule;
  /** Static segments sort before parameters, so `/api/models/load` beats `/api/models/[id]`. */
  readonly rank: number;
}

export interface RouteTable {
  readonly routes: readonly Route[];
  readonly app?: RouteModule;
  readonly notFound?: RouteModule;
}

/** `./routes/api/models/[id].ts` → `/api/models/:id`. */
export function pathnameOf(file: string): string {
  const stem = file.replace(/^\.\/routes/, "").replace(/\.(tsx?|jsx?)$/, "");
  const segments = stem.split("/").filter((s) => s !== "" && !/^\(.*\)$/.test(s));
  if (segments.at(-1) === "index") segments.pop();
  const parts = segments.map((segment) => {
    const rest = /^\[\.\.\.(\w+)\]$/.exec(segment);
    if (rest) return `:${rest[1]}*`;
    return segment.replace(/\[(\w+)\]/g, ":$1");
  });
  return "/" + parts.join("/");
}

export function buildRouteTable(manifest: Manifest): RouteTable {
  const routes: Route[] = [];
  let app: RouteModule | undefined;
  let notFound: RouteModule | undefined;
  for (const [file, module] of Object.entries(manifest.routes)) {
    const name = file.split("/").at(-1)!.replace(/\.(tsx?|jsx?)$/, "");
    if (name === "_app") app = module;
    else if (name === "_404") notFound = module;
    else if (name.startsWith("_")) {
      throw new Error(`${file}: this layer does not implement ${name} yet; add it to lib/server`);
    } else {
      const pathname = pathnameOf(file);
      const dynamic = pathname.split("/").filter((s) => s.startsWith(":")).length;
      routes.push({ file, pattern: new URLPattern({ pathname }), module, rank: dynamic });
    }
  }
  routes.sort((a, b) => a.rank - b.rank || b.file.length - a.file.length);
  return { routes, ...(app ? { app } : {}), ...(notFound ? { notFound } : {}) };
}

export function matchRoute(
  table: RouteTable,
  url: URL,
): { route: Route; params: Record<string, string> } | undefined {
  for (const route of table.routes) {
    const match = route.pattern.exec({ pathname: url.pathname });
    if (match) {
      const params: Record<string, string> = {};
      for (const [key, value] of Object.entries(match.pathname.groups)) {
        if (value !== undefined) params[key] = value;
      }
      return { route, params };
    }
  }
  return undefined;
}
