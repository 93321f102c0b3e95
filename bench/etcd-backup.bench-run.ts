// `etcd snapshot` and `etcd restore --yes` on 3 network-namespace hosts (apply --until etcd), at two database
// sizes: wall time of each, and, for the snapshot, etcdctl's own `snapshot save` from this machine straight to the
// leader over TLS as the floor (the bytes come here without SSH, base64 or a second check). The throughput is the
// snapshot file's size over the wall time. Run (root): npx vitest run --config bench/vitest.config.ts bench/etcd-backup.bench-run.ts
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { expect, it } from "vitest";
import { dkAsync, run, runAsync } from "../test-support/peers.js";
import { etcdctlOf } from "../test-support/mirror.js";
import { etcdctlFlags } from "../test-support/test-cluster.js";
import { etcdBenchCluster } from "./etcd-bench-cluster.js";

const ETCD = "3.6.17";
/** Megabytes of values to write before each round (900 KB a key: under etcd's 1.5 MiB request limit). */
const SIZES_MB = [1, 48];
const bench = etcdBenchCluster("dk-bench-etcd-backup-", "bench-backup", ETCD);
const { work, dir, file, env, hosts } = bench;

const timed = async (f: () => Promise<{ status: number | null; stdout: string; stderr: string }>) => {
  const t0 = performance.now();
  const r = await f();
  const ms = performance.now() - t0;
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return { ms, r };
};

it("snapshot and restore, against etcdctl's own snapshot save", async () => {
  const rows: string[][] = [];
  let written = 0;
  for (const mb of SIZES_MB) {
    for (; written < mb * 1024; written += 900) {
      const r = run(etcdctlOf(ETCD).path, [...etcdctlFlags({ dir, via: hosts[0]!, timeout: "60s" }), "put", `/bench/${written}`], {
        input: randomBytes(675 * 1024).toString("base64"),
        env: etcdctlOf(ETCD).env,
      });
      expect(r.status, r.stderr).toBe(0);
    }
    const out = join(work, `snap-${mb}.db`);
    const snap = await timed(() => dkAsync(["etcd", "snapshot", "-f", file, "--dir", dir, "--out", out], { cwd: work, env }));
    const leader = hosts.find((h) => snap.r.stdout.includes(`snapshot from ${h.name}`))!;
    const floor = await timed(() =>
      runAsync(etcdctlOf(ETCD).path, [...etcdctlFlags({ dir, via: leader, timeout: "60s" }), "snapshot", "save", join(work, `floor-${mb}.db`)], {
        env: etcdctlOf(ETCD).env,
      }),
    );
    const restore = await timed(() => dkAsync(["etcd", "restore", out, "-f", file, "--dir", dir, "--yes"], { cwd: work, env }));
    const size = statSync(out).size;
    rows.push([
      `${(size / 1048576).toFixed(1)} MiB`,
      `${(snap.ms / 1000).toFixed(2)} s`,
      `${(size / 1048576 / (snap.ms / 1000)).toFixed(1)} MiB/s`,
      `${(floor.ms / 1000).toFixed(2)} s`,
      `${(snap.ms / floor.ms).toFixed(1)}x`,
      `${(restore.ms / 1000).toFixed(2)} s`,
    ]);
  }
  const head = ["SNAPSHOT", "etcd snapshot", "THROUGHPUT", "etcdctl save (floor)", "RATIO", "etcd restore --yes"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  process.stdout.write(`\n${[line(head), ...rows.map(line)].join("\n")}\n`);
});
