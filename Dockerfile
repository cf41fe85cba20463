# The app image: `docker compose up` (see docs/docker.md) runs it beside Ollama.
FROM denoland/deno:2.9.6

WORKDIR /app
# The app writes its state under ./data only; the deno user must own it (and node_modules).
RUN mkdir -p /app/data && chown -R deno:deno /app
USER deno

# Dependencies first, so editing the source does not invalidate this layer. Island bundles are
# built from node_modules at start-up, hence `deno install` rather than a bare cache.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno . .
# Resolves the whole module graph at build time: a missing import fails the build, not the start.
RUN deno install --frozen --entrypoint main.ts

ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000

# The image has no curl; the Host 127.0.0.1 is an IP literal, so ALLOWED_HOSTS does not matter.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "--no-config", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '8000') + '/health'); Deno.exit(r.ok ? 0 : 1);"]

# `deno task start` without --env-file: in a container the environment comes from compose.
CMD ["deno", "run", "--allow-net", "--allow-env", "--allow-read", "--allow-write=./data", "--allow-run", "main.ts"]
