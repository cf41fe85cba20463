/** Reads a process's memory and CPU time from /proc (Linux only). */

/** Resident set size in bytes (`VmRSS`), or NaN when unreadable. */
export function rssBytes(pid: number | "self"): number {
  return statusField(pid, "VmRSS");
}

/** Peak resident set size since start in bytes (`VmHWM`), or NaN when unreadable. */
export function peakRssBytes(pid: number | "self"): number {
  return statusField(pid, "VmHWM");
}

function statusField(pid: number | "self", field: string): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux we run on). */
const USER_HZ = 100;

/** User + system CPU time in ms, or NaN when unreadable. */
export function cpuMs(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every `everyMs` and keeps the largest. */
export class RssSampler {
  #peak = 0;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(readonly pid: number, everyMs = 20) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), everyMs);
  }

  #sample(): void {
    const rss = rssBytes(this.pid);
    if (rss > this.#peak) this.#peak = rss;
  }

  /** Stops sampling; returns the peak seen, in bytes. */
  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    return this.#peak;
  }
}
