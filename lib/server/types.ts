/**
 * The shapes of the thin Fresh-2-like layer: a route module exports `handler` (an object of
 * methods, each taking one `ctx`) and/or a default page component. Moving onto Fresh means
 * swapping this folder, not the routes.
 */
import type { ComponentType, VNode } from "preact";

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

export interface Context<State> {
  readonly req: Request;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly info: Deno.ServeHandlerInfo<Deno.NetAddr>;
  /** What the app hands every route (configuration, services); see lib/app.ts. */
  readonly state: State;
}

/** What a handler returns to have the route's page rendered with `data`. */
export interface PageResult<Data> {
  readonly data: Data;
  readonly status?: number;
  readonly headers?: HeadersInit;
}

export type HandlerResult = Response | PageResult<unknown>;

export type HandlerFn<State> = (ctx: Context<State>) => HandlerResult | Promise<HandlerResult>;

export type Handlers<State> = Partial<Record<Method, HandlerFn<State>>>;

export interface PageProps<Data = unknown> {
  readonly data: Data;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
}

/** `routes/_app.tsx`: the document around every page. */
export interface AppProps {
  // deno-lint-ignore no-explicit-any
  readonly Component: () => VNode<any>;
  readonly url: URL;
  /** The page's request (its cookies, e.g. the theme). */
  readonly req: Request;
}

export interface RouteModule {
  // deno-lint-ignore no-explicit-any
  readonly handler?: Handlers<any> | HandlerFn<any>;
  // deno-lint-ignore no-explicit-any
  readonly default?: ComponentType<any>;
}

export interface IslandModule {
  // deno-lint-ignore no-explicit-any
  readonly default: ComponentType<any>;
}

/** What `manifest.gen.ts` holds: every file under routes/ and islands/, by path. */
export interface Manifest {
  readonly routes: Readonly<Record<string, RouteModule>>;
  readonly islands: Readonly<Record<string, IslandModule>>;
  /** The folder the paths are relative to, as a file: URL. */
  readonly baseUrl: string;
}

/** Returns page data from a handler: `return page({ models })`. */
export function page<Data>(
  data: Data,
  init: Omit<PageResult<Data>, "data"> = {},
): PageResult<Data> {
  return { data, ...init };
}
