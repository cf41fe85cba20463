/**
 * Files under static/, served at the site root from memory: they are few and small, and
 * reading them once at start-up keeps disk I/O off the request path.
 */
import type { Asset } from "./islands.ts";

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  json: "application/json",
  webmanifest: "application/manifest+json",
  woff2: "font/woff2",
};

export async function loadStaticFiles(dir: URL): Promise<Map<string, Asset>> {
  const files = new Map<string, Asset>();
  const walk = async (folder: URL, prefix: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(folder));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.isDirectory) {
        await walk(new URL(`${entry.name}/`, folder), `${prefix}${entry.name}/`);
      }
      if (!entry.isFile) continue;
      const body = await Deno.readFile(new URL(entry.name, folder));
      const digest = await crypto.subtle.digest("SHA-256", body);
      const etag = `"${btoa(String.fromCharCode(...new Uint8Array(digest).slice(0, 12)))}"`;
      const extension = entry.name.split(".").at(-1) ?? "";
      files.set(`${prefix}${entry.name}`, {
        body,
        contentType: TYPES[extension] ?? "application/octet-stream",
        etag,
      });
    }
  };
  await walk(dir, "/");
  return files;
}

/** Text worth compressing: scripts, styles, SVG, JSON. Images and fonts are compressed already. */
const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg)/;
/** Below this, gzip's header costs more than it saves. */
const MIN_COMPRESS_BYTES = 1024;
/** Each asset gzipped once, on its first request that accepts gzip. */
const gzipped = new WeakMap<Asset, Promise<Uint8Array>>();

function gzipOf(asset: Asset): Promise<Uint8Array> {
  let body = gzipped.get(asset);
  if (!body) {
    body = new Response(
      new Blob([asset.body as BlobPart]).stream().pipeThrough(new CompressionStream("gzip")),
    ).bytes();
    gzipped.set(asset, body);
  }
  return body;
}

function acceptsGzip(request: Request): boolean {
  return /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
}

/**
 * Serves an asset with its ETag (a matching `If-None-Match` gets 304), gzipped when the client
 * accepts it: the island bundle is most of what a first visit downloads.
 */
export async function serveAsset(request: Request, asset: Asset): Promise<Response> {
  const compress = COMPRESSIBLE.test(asset.contentType) &&
    asset.body.byteLength >= MIN_COMPRESS_BYTES;
  const headers = new Headers({
    "content-type": asset.contentType,
    etag: asset.etag,
    "cache-control": "no-cache",
  });
  if (compress) headers.set("vary", "accept-encoding");
  if (request.headers.get("if-none-match") === asset.etag) {
    return new Response(null, { status: 304, headers });
  }
  let body: Uint8Array = asset.body;
  if (compress && acceptsGzip(request)) {
    body = await gzipOf(asset);
    headers.set("content-encoding", "gzip");
  }
  return new Response(request.method === "HEAD" ? null : body as BodyInit, { headers });
}
