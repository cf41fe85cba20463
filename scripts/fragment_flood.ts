/**
 * Measures what a never-finished fragmented WebSocket message does to the server, a limit of
 * `Deno.upgradeWebSocket` that the app cannot bound (see docs/security.md). Starts main.ts in
 * its own process, sends `--mib` MiB of continuation frames without ever setting FIN, and
 * prints the server's resident memory as it grows.
 *
 *   deno run -A scripts/fragment_flood.ts --mib=200
 */
import { spawnApp } from "../tests/helpers/app.ts";
import { RawWebSocket } from "../tests/helpers/raw_ws.ts";
import { say } from "../lib/log.ts";

const mib = Number(Deno.args.find((a) => a.startsWith("--mib="))?.slice(6) ?? 200);

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

const app = await spawnApp({ WS_MAX_MESSAGE_BYTES: "1048576", LOG_LEVEL: "error" });
const pid = app.process.pid;
try {
  const { socket } = await RawWebSocket.connect(app.url.replace("http", "ws") + "/ws");
  await socket.readFrame(); // hello
  const before = rssMiB(pid);
  say(`server RSS before: ${before.toFixed(0)} MiB; WS_MAX_MESSAGE_BYTES = 1 MiB`);
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  let open = true;
  for (let i = 0; i < mib; i++) {
    try {
      await socket.sendFrame(i === 0 ? 0x1 : 0x0, chunk, false);
    } catch {
      open = false;
      say(`the server closed the connection after ${i} MiB`);
      break;
    }
    if ((i + 1) % 50 === 0) {
      say(`sent ${i + 1} MiB unfinished: server RSS ${rssMiB(pid).toFixed(0)} MiB`);
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = rssMiB(pid);
  say(
    `after ${mib} MiB of fragments: server RSS ${after.toFixed(0)} MiB (+${
      (after - before).toFixed(0)
    } MiB); connection ${open ? "still open" : "closed"}`,
  );
  const probe = await fetch(app.url + "/health");
  await probe.body?.cancel();
  say(`other requests still served: GET /health → ${probe.status}`);
  socket.close();
} finally {
  await app.stop("SIGKILL");
}
