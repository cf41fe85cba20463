/**
 * Islands: components under islands/ that render on the server and hydrate in the browser.
 * On the server a Preact `options.vnode` hook wraps each island in a boundary that records its
 * props as JSON; in the browser a small entry per island finds its boundaries and hydrates them.
 * The entries are bundled with esbuild once per process and served from memory.
 */
import { type ComponentType, Fragment, h, options, type VNode } from "preact";
import * as esbuild from "esbuild";
import type { Manifest } from "./types.ts";

export interface Asset {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly etag: string;
}

export interface IslandRegistry {
  /** Island name (file stem) by component. */
  readonly names: ReadonlyMap<ComponentType<never>, string>;
  /** Built bundles by URL path, e.g. `/_islands/Chat.js`. */
  readonly assets: ReadonlyMap<string, Asset>;
  /**
   * The chunks each island's bundle imports statically, directly or through other chunks, by
   * island name (from esbuild's metafile): the page announces them with `modulepreload`.
   */
  readonly chunks: ReadonlyMap<string, readonly string[]>;
}

interface Build {
  readonly assets: Map<string, Asset>;
  readonly chunks: Map<string, string[]>;
}

export const ISLAND_PREFIX = "/_islands/";

/** Marks the island inside its own boundary, so the hook does not wrap it twice. */
const INNER = "__islandInner";

interface BoundaryProps {
  readonly name: string;
  readonly component: ComponentType<Record<string, unknown>>;
  readonly props: Record<string, unknown>;
}

/** Per render: which islands the page used, so only their scripts are linked. */
let rendering: { used: Set<string>; count: number } | undefined;
let registered: ReadonlyMap<ComponentType<never>, string> = new Map();

const previousHook = options.vnode;
options.vnode = (vnode: VNode) => {
  const name = rendering && registered.get(vnode.type as ComponentType<never>);
  const props = vnode.props as Record<string, unknown>;
  if (name && props[INNER]) delete props[INNER];
  else if (name) {
    const { children: _children, ...rest } = props;
    const boundary = { name, component: vnode.type, props: rest };
    (vnode as { type: unknown }).type = IslandBoundary;
    (vnode as { props: unknown }).props = boundary;
  }
  previousHook?.(vnode);
};

function IslandBoundary({ name, component, props }: BoundaryProps): VNode {
  const state = rendering!;
  state.used.add(name);
  const id = `island-props-${state.count++}`;
  // `<` is escaped so no prop value can close the script element early.
  const json = JSON.stringify(props).replace(/</g, "\\u003c");
  return h(Fragment, null, [
    h("script", { type: "application/json", id, dangerouslySetInnerHTML: { __html: json } }),
    h(
      "div",
      { "data-island": name, "data-island-props": id },
      h(component, { ...props, [INNER]: true }),
    ),
  ]);
}

/** Runs `render` with island boundaries on; returns its output and the islands it used. */
export function withIslands<T>(
  registry: IslandRegistry,
  render: () => T,
): { output: T; used: string[] } {
  registered = registry.names;
  rendering = { used: new Set(), count: 0 };
  try {
    const output = render();
    return { output, used: [...rendering.used] };
  } finally {
    rendering = undefined;
  }
}

function islandName(file: string): string {
  return file.split("/").at(-1)!.replace(/\.(tsx?|jsx?)$/, "");
}

const builds = new Map<string, Promise<Build>>();

/** Bundles every island of the manifest for the browser (cached per manifest and mode). */
export async function buildIslands(
  manifest: Manifest,
  mode: { minify: boolean } = { minify: true },
): Promise<IslandRegistry> {
  const names = new Map<ComponentType<never>, string>();
  for (const [file, module] of Object.entries(manifest.islands)) {
    names.set(module.default as ComponentType<never>, islandName(file));
  }
  const key = `${manifest.baseUrl}|${mode.minify}`;
  let build = builds.get(key);
  if (!build) {
    build = bundle(manifest, mode.minify);
    builds.set(key, build);
    build.catch(() => builds.delete(key));
  }
  return { names, ...await build };
}

async function bundle(manifest: Manifest, minify: boolean): Promise<Build> {
  const root = new URL(".", manifest.baseUrl).pathname;
  const entries = Object.keys(manifest.islands).map((file) => ({
    name: islandName(file),
    path: new URL(file, manifest.baseUrl).pathname,
  }));
  const assets = new Map<string, Asset>();
  const chunks = new Map<string, string[]>();
  if (entries.length === 0) return { assets, chunks };
  try {
    const result = await esbuild.build({
      entryPoints: entries.map((e) => ({ in: `island:${e.name}`, out: e.name })),
      plugins: [{
        name: "island-entries",
        setup(build) {
          build.onResolve({ filter: /^island:/ }, (args) => ({
            path: args.path.slice("island:".length),
            namespace: "island",
          }));
          build.onLoad({ filter: /.*/, namespace: "island" }, (args) => {
            const entry = entries.find((e) => e.name === args.path)!;
            return {
              contents: hydrationEntry(entry.name, entry.path),
              loader: "js",
              resolveDir: root,
            };
          });
        },
      }],
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      jsx: "automatic",
      jsxImportSource: "preact",
      minify,
      sourcemap: false,
      legalComments: "none",
      write: false,
      metafile: true,
      outdir: "/_islands",
      absWorkingDir: root,
      nodePaths: [`${root}node_modules`],
      logLevel: "silent",
    });
    const urlOf = (path: string) => ISLAND_PREFIX + path.split("/").at(-1);
    for (const file of result.outputFiles) {
      assets.set(urlOf(file.path), {
        body: file.contents,
        contentType: "text/javascript; charset=utf-8",
        etag: `"${file.hash}"`,
      });
    }
    // Static imports only: a lazy `import()` (the Markdown renderer, the dialogs) stays lazy.
    const imports = new Map<string, string[]>();
    for (const [path, output] of Object.entries(result.metafile.outputs)) {
      imports.set(
        urlOf(path),
        output.imports.filter((i) => i.kind === "import-statement").map((i) => urlOf(i.path)),
      );
    }
    for (const { name } of entries) {
      const found = new Set<string>();
      const visit = (url: string) => {
        for (const chunk of imports.get(url) ?? []) {
          if (found.has(chunk)) continue;
          found.add(chunk);
          visit(chunk);
        }
      };
      visit(`${ISLAND_PREFIX}${name}.js`);
      chunks.set(name, [...found]);
    }
    return { assets, chunks };
  } finally {
    // esbuild keeps a child process alive otherwise, which would hold the server (and tests) open.
    await esbuild.stop();
  }
}

/**
 * The entry of one island's bundle. Hydration waits for the first frame to be painted: the
 * server-rendered markup shows at once, and the work of hydrating comes after it instead of
 * delaying it (a timer too, for a hidden tab where frames don't come).
 */
function hydrationEntry(name: string, path: string): string {
  return `import { h, hydrate } from "preact";
import Island from ${JSON.stringify(path)};
let done = false;
const run = () => {
  if (done) return;
  done = true;
  for (const root of document.querySelectorAll('[data-island=${JSON.stringify(name)}]')) {
    const props = JSON.parse(document.getElementById(root.dataset.islandProps).textContent);
    hydrate(h(Island, props), root);
  }
};
requestAnimationFrame(() => setTimeout(run, 0));
setTimeout(run, 100);
`;
}
