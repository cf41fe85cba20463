/**
 * A loopback port nothing listens on right now: the stand-in for "Ollama is not running".
 * Take it just before it is used; a port taken early may be given to another server later.
 */
export function unusedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
