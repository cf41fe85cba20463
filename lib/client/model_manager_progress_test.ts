import { assertEquals } from "../../tests/helpers/assert.ts";
import { describePull, PullMeter } from "./model_manager_progress.ts";

const GB = 1_000_000_000;

Deno.test("pull meter - bytes and percent add up across layers", () => {
  const meter = new PullMeter();
  let figures = meter.add({ status: "pulling manifest" }, 0);
  assertEquals([figures.total, figures.percent, describePull(figures)], [0, undefined, ""]);
  figures = meter.add({ status: "pulling aaa", digest: "sha256:a", total: 2 * GB }, 100);
  assertEquals(describePull(figures), "0 B of 2.0 GB · 0%");
  figures = meter.add(
    { status: "pulling aaa", digest: "sha256:a", total: 2 * GB, completed: GB },
    150,
  );
  assertEquals([figures.completed, figures.percent], [GB, 50]);
  figures = meter.add({ status: "pulling bbb", digest: "sha256:b", total: 500, completed: 0 }, 160);
  assertEquals([figures.total, figures.percent], [2 * GB + 500, 50]);
  figures = meter.add(
    { status: "pulling aaa", digest: "sha256:a", total: 2 * GB, completed: 2 * GB },
    170,
  );
  assertEquals(figures.percent, 99, "100 only when every byte is there");
  figures = meter.add(
    { status: "pulling bbb", digest: "sha256:b", total: 500, completed: 500 },
    180,
  );
  assertEquals(figures.percent, 100);
  figures = meter.add({ status: "verifying sha256 digest" }, 190);
  assertEquals([figures.status, figures.percent], ["verifying sha256 digest", 100]);
});

Deno.test("pull meter - speed is averaged over the last seconds, once it can be said", () => {
  const meter = new PullMeter();
  const line = (completed: number) => ({
    status: "pulling x",
    digest: "sha256:x",
    total: 10 * GB,
    completed,
  });
  assertEquals(meter.add(line(0), 0).bytesPerSecond, undefined);
  assertEquals(meter.add(line(1e6), 100).bytesPerSecond, undefined, "100 ms is too soon");
  assertEquals(meter.add(line(4e6), 400).bytesPerSecond, 1e7);
  assertEquals(describePull(meter.add(line(10e6), 1000)), "10 MB of 10.0 GB · 0% · 10.0 MB/s");
  // Ten seconds at 1 MB/s: the fast start has left the window.
  let figures = meter.add(line(10e6), 1000);
  for (let t = 2000; t <= 11_000; t += 1000) figures = meter.add(line(10e6 + (t - 1000) * 1e3), t);
  assertEquals(Math.round(figures.bytesPerSecond! / 1e3), 1000);
});

Deno.test("pull meter - a built-in download (no digest) counts as one layer", () => {
  const meter = new PullMeter();
  const figures = meter.add({ status: "downloading", completed: 49e6, total: 98e6 }, 0);
  assertEquals(describePull(figures), "49 MB of 98 MB · 50%");
});
