/**
 * A PostgreSQL for the tests: `DATABASE_URL` when it is set, otherwise a throwaway cluster made
 * with Debian's binaries in a temporary directory, one per test process, stopped when the
 * process unloads. Each caller gets a database of its own so tests cannot see each other's rows.
 */
import postgres from "postgres";

interface Cluster {
  /** A URL on the server's maintenance database, for CREATE/DROP DATABASE. */
  readonly adminUrl: string;
  stop(): void;
}

let cluster: Promise<Cluster> | undefined;
let counter = 0;

/** Creates a fresh database and returns its URL, with a function that drops it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const { adminUrl } = await (cluster ??= start());
  const name = `store_test_${Deno.pid}_${++counter}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } catch (error) {
    // A given server may not let us create databases: share it (tests use fresh owner ids).
    if (!Deno.env.get("DATABASE_URL")) throw error;
    return { url: adminUrl, async drop() {} };
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}

async function start(): Promise<Cluster> {
  const given = Deno.env.get("DATABASE_URL");
  if (given) return { adminUrl: given, stop() {} };

  const bin = await findBinaries();
  const base = await Deno.makeTempDir({ prefix: "store-pg-" });
  const data = `${base}/data`;
  // initdb refuses to run as root: run the server tools as the `postgres` system user.
  const asUser = Deno.uid() === 0 ? await postgresUser() : undefined;
  if (asUser) await Deno.chown(base, asUser.uid, asUser.gid);
  const run = async (args: string[]) => {
    const [cmd, ...rest] = asUser ? ["runuser", "-u", "postgres", "--", ...args] : args;
    const out = await new Deno.Command(cmd!, { args: rest, stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) || new TextDecoder().decode(out.stdout);
      throw new Error(`${args.join(" ")} failed:\n${text}`);
    }
  };
  const port = sparePort();
  await run([`${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  await run([
    `${bin}/pg_ctl`,
    "-D",
    data,
    "-l",
    `${base}/server.log`,
    "-o",
    `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c fsync=off ` +
    `-c synchronous_commit=off -c full_page_writes=off`,
    "-w",
    "start",
  ]);
  const stop = () => {
    // Synchronous: this runs in the `unload` handler, where nothing can be awaited.
    const [cmd, ...rest] = asUser
      ? ["runuser", "-u", "postgres", "--", `${bin}/pg_ctl`]
      : [`${bin}/pg_ctl`];
    new Deno.Command(cmd!, {
      args: [...rest, "-D", data, "-m", "immediate", "stop"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    Deno.removeSync(base, { recursive: true });
  };
  globalThis.addEventListener("unload", stop);
  return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}

async function findBinaries(): Promise<string> {
  const root = "/usr/lib/postgresql";
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch {
    // reported below
  }
  for (const version of versions.sort((a, b) => b - a)) {
    const bin = `${root}/${version}/bin`;
    try {
      await Deno.stat(`${bin}/initdb`);
      return bin;
    } catch {
      continue;
    }
  }
  throw new Error(
    "No PostgreSQL for the store tests: set DATABASE_URL, or install Debian's `postgresql` " +
      "package (looked for /usr/lib/postgresql/*/bin/initdb).",
  );
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const out = await new Deno.Command("id", { args: ["postgres"], stdout: "piped", stderr: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const uid = /uid=(\d+)/.exec(text)?.[1];
  const gid = /gid=(\d+)/.exec(text)?.[1];
  if (!out.success || uid === undefined || gid === undefined) {
    throw new Error(
      "The tests run as root, which initdb refuses, and there is no `postgres` user to run it " +
        "as. Install Debian's `postgresql` package or set DATABASE_URL.",
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function sparePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
