/** Renders a route's page component, inside `routes/_app.tsx`, to a full HTML response. */
import { type ComponentType, h, type VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { ISLAND_PREFIX, type IslandRegistry, withIslands } from "./islands.ts";
import type { AppProps, PageProps, PageResult, RouteModule } from "./types.ts";

export function renderPage(
  page: ComponentType<PageProps>,
  app: RouteModule | undefined,
  result: PageResult<unknown>,
  url: URL,
  params: Record<string, string>,
  islands: IslandRegistry,
  req: Request,
): Response {
  const props: PageProps = { data: result.data, url, params };
  const Component = (): VNode => h(page, props) as VNode;
  const App = app?.default as ComponentType<AppProps> | undefined;
  const { output, used } = withIslands(
    islands,
    () => renderToString((App ? h(App, { Component, url, req }) : h(Component, {})) as VNode),
  );
  // Island scripts go last in <body> so the markup is already there when they hydrate it.
  // Their shared chunks are announced up front, so the browser fetches them alongside instead
  // of after parsing the island (one round trip less before hydration).
  const chunks = [...new Set(used.flatMap((name) => islands.chunks.get(name) ?? []))];
  const scripts = chunks
    .map((path) => `<link rel="modulepreload" href="${path}">`)
    .concat(used.map((name) => `<script type="module" src="${ISLAND_PREFIX}${name}.js"></script>`))
    .join("");
  const html = output.includes("</body>")
    ? output.replace("</body>", `${scripts}</body>`)
    : output + scripts;
  const headers = new Headers(result.headers);
  headers.set("content-type", "text/html; charset=utf-8");
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
  return new Response(`<!DOCTYPE html>${html}`, { status: result.status ?? 200, headers });
}
