// An etcd CA rotation of a 3-member etcd on network-namespace hosts, as a client sees it: `certs rotate-ca etcd -f
// cluster.yaml` (three phases, each a rolling restart) while the multi-host tests' client loop (test-support/
// etcd-client-loop.ts) writes then reads a counter through all three endpoints every 100 ms, with the CA bundle,
// certificate and key the cluster folder holds at that moment. Per round: the wall time of each phase (from the
// command's own lines), the client's requests, failed ones (target 0), those a member dropped and made again at once,
// the longest time between two successful pairs, and each member's restarts (its etcd PID, sampled after each round).
// Run: npm run bench:rotate-ca (root; RUNS rounds, default 2).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { expect, it } from "vitest";
import { type EtcdClientFiles, etcdClientLoop } from "../test-support/etcd-client-loop.js";
import { CLI, runAsync } from "../test-support/peers.js";
import { etcdctlOf } from "../test-support/mirror.js";
import { etcdBenchCluster } from "./etcd-bench-cluster.js";

const ETCD = "3.6.17";
const RUNS = Number(process.env.RUNS ?? 2);
const bench = etcdBenchCluster("dk-bench-rotate-", "bench-rotate", ETCD);
const { work, dir, file, env, hosts } = bench;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The health-check client of the first node's folder, copied as one snapshot (see the e2e test: two files swap in one commit). */
function client(): EtcdClientFiles {
  const pki = join(dir, "nodes", hosts[0]!.name, "pki", "etcd");
  const at = join(work, "client");
  for (const [from, to] of [
    ["ca.crt", "ca"],
    ["healthcheck-client.crt", "crt"],
    ["healthcheck-client.key", "key"],
  ] as const)
    writeFileSync(`${at}.${to}`, readFileSync(join(pki, from)), { mode: 0o600 });
  return { ca: `${at}.ca`, cert: `${at}.crt`, key: `${at}.key` };
}
const pids = async () => Promise.all(hosts.map(async (h) => (await runAsync("pgrep", ["-u", String(h.uid), "-x", "etcd"])).stdout.trim()));

interface Round {
  totalMs: number;
  phasesMs: number[];
  requests: number;
  failed: string[];
  /** Requests a member dropped, made again at once through the others (test-support/etcd-client-loop.ts). */
  cut: number;
  gapMs: number;
  restarts: number[];
}

async function round(): Promise<Round> {
  const restarts = hosts.map(() => 0);
  let last = await pids();
  const loop = etcdClientLoop(etcdctlOf(ETCD), hosts, client, async () => {
    const now = await pids();
    for (const [i, p] of now.entries()) if (p !== "" && p !== last[i]) restarts[i]!++;
    last = now.map((p, i) => p || last[i]!);
  });
  await sleep(500);
  const t0 = performance.now();
  const marks: number[] = [];
  const code = await new Promise<number | null>((resolve) => {
    const run = spawn(process.execPath, [CLI, "certs", "rotate-ca", "etcd", "-f", file, "--dir", dir], {
      cwd: work,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    run.stdout.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n")) if (/phase [123]\/3 .*rolling out|rotation finished/.test(line)) marks.push(performance.now());
    });
    run.on("close", resolve);
  });
  const t1 = performance.now();
  await sleep(500);
  const seen = await loop.stop();
  expect(code).toBe(0);
  const gapMs = seen.longestGapMs;
  return {
    totalMs: t1 - t0,
    phasesMs: marks.slice(1).map((m, i) => m - marks[i]!),
    requests: seen.requests,
    failed: seen.failures,
    cut: seen.retried.length,
    gapMs,
    restarts,
  };
}

it("measures an etcd CA rotation of 3 members as a client sees it", async () => {
  const load0 = loadavg()[0]!;
  const rounds: Round[] = [];
  for (let i = 0; i < RUNS; i++) rounds.push(await round());
  const ms = (x: number) => `${Math.round(x)} ms`;
  console.log(
    [
      `\ncerts rotate-ca etcd -f cluster.yaml on 3 network-namespace hosts, a client loop running throughout; load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end:\n`,
      "| round | total | phase 1 / 2 / 3 (write + rolling restart) | client requests (put+get) | failed | dropped by a member, made again at once | longest gap between successes | etcd restarts per member |",
      "|---|---|---|---|---|---|---|---|",
      ...rounds.map(
        (r, i) =>
          `| ${i + 1} | ${ms(r.totalMs)} | ${r.phasesMs.map(ms).join(" / ")} | ${r.requests} | ${r.failed.length} | ${r.cut} | ${ms(r.gapMs)} | ${r.restarts.join(" / ")} |`,
      ),
      ...rounds.flatMap((r, i) => r.failed.slice(0, 3).map((f) => `round ${i + 1}, failed request ${f.replace(/\s+/g, " ")}`)),
    ].join("\n"),
  );
}, 1_800_000);
