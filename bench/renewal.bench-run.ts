// A rolling certificate renewal of a 3-member etcd on network-namespace hosts, as a client sees it: `certs renew all`
// then `apply -f cluster.yaml --until etcd` while the multi-host tests' client loop (test-support/etcd-client-loop.ts)
// writes then reads a counter through all three endpoints every 100 ms (certificates read from the cluster folder on
// each round). Per round: the apply's wall time, the client's requests, the failed ones (target 0), those a member
// dropped and the loop made again at once through the others, the longest time between two successful requests
// (target under 1 s), and how long each member's etcd was gone (test-support/etcd-sampler.ts: `pgrep -u <uid> -x
// etcd` every 25 ms). Run: npm run bench:renewal (root; medians of RUNS rounds, default 3, fewer once BUDGET_S, default
// 150, has passed after a round).
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { expect, it } from "vitest";
import { type EtcdClientFiles, etcdClientLoop } from "../test-support/etcd-client-loop.js";
import { SAMPLE_MS, sampleMembers } from "../test-support/etcd-sampler.js";
import { dkAsync } from "../test-support/peers.js";
import { etcdctlOf } from "../test-support/mirror.js";
import { etcdBenchCluster } from "./etcd-bench-cluster.js";

const ETCD = "3.6.17";
const RUNS = Number(process.env.RUNS ?? 3);
const BUDGET_MS = Number(process.env.BUDGET_S ?? 150) * 1000;
const bench = etcdBenchCluster("dk-bench-renewal-", "bench-renewal", ETCD);
const { work, dir, file, env, hosts } = bench;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The health-check client of the first host's node folder, read from the folder on each request. */
const client = (): EtcdClientFiles => {
  const pki = join(dir, "nodes", hosts[0]!.name, "pki", "etcd");
  return { ca: join(pki, "ca.crt"), cert: join(pki, "healthcheck-client.crt"), key: join(pki, "healthcheck-client.key") };
};

/** One renewal round, all times in ms. */
interface Round {
  renewMs: number;
  applyMs: number;
  requests: number;
  failed: number;
  failures: string[];
  /** Requests a member dropped, made again at once through the others (test-support/etcd-client-loop.ts). */
  cut: number;
  /** The longest time between two successful put+get pairs, and when it started, from the apply's start. */
  gap: { ms: number; at: number };
  /** Per member: total time with no etcd process, the longest such interval, PID changes. */
  members: { downMs: number; longestMs: number; restarts: number }[];
  samples: number;
  /** How long the sampler ran. */
  sampledMs: number;
  twoDown: number;
}

async function round(): Promise<Round> {
  const watch = sampleMembers(hosts);
  const loop = etcdClientLoop(etcdctlOf(ETCD), hosts, client);
  await sleep(500); // a few successful requests before anything changes
  const t0 = performance.now();
  const renewed = await dkAsync(["certs", "renew", "all", "--dir", dir], { cwd: work, env });
  const t1 = performance.now();
  expect(renewed.status, `${renewed.stdout}\n${renewed.stderr}`).toBe(0);
  const r = await dkAsync(["apply", "-f", file, "--dir", dir, "--until", "etcd"], { cwd: work, env });
  const t2 = performance.now();
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  await sleep(500);
  const seen = await loop.stop();
  const sampled = await watch.stop();
  let gap = { ms: 0, at: 0 };
  for (let i = 1; i < seen.ok.length; i++) if (seen.ok[i]! - seen.ok[i - 1]! > gap.ms) gap = { ms: seen.ok[i]! - seen.ok[i - 1]!, at: seen.ok[i - 1]! - t1 };
  return {
    renewMs: t1 - t0,
    applyMs: t2 - t1,
    requests: seen.requests,
    failed: seen.failures.length,
    failures: seen.failures,
    cut: seen.retried.length,
    gap,
    members: sampled.down.map((down, i) => ({
      downMs: down.reduce((s, d) => s + d.to - d.from, 0),
      longestMs: Math.max(0, ...down.map((d) => d.to - d.from)),
      restarts: sampled.restarts[i]!,
    })),
    samples: sampled.samples,
    sampledMs: sampled.meanIntervalMs * sampled.samples,
    twoDown: sampled.twoDown,
  };
}

it("measures a rolling certificate renewal of 3 etcd members as a client sees it", async () => {
  const started = performance.now();
  const load0 = loadavg()[0]!;
  const rounds: Round[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (i > 0 && performance.now() - started > BUDGET_MS) break;
    const r = await round();
    // The work was done: every member runs a new etcd (renewed certificates are loaded only at a start).
    expect(r.members.map((m) => m.restarts)).toEqual(hosts.map(() => 1));
    rounds.push(r);
  }
  const load1 = loadavg()[0]!;

  const ms = (x: number) => `${Math.round(x)} ms`;
  const row = (name: string, r: Round) =>
    `| ${name} | ${ms(r.renewMs)} | ${ms(r.applyMs)} | ${r.requests} | ${r.failed} | ${r.cut} | ${ms(r.gap.ms)} (at ${r.gap.at < 0 ? "-" : "+"}${(Math.abs(r.gap.at) / 1000).toFixed(1)} s) | ${r.members
      .map((m) => `${ms(m.downMs)}`)
      .join(" / ")} | ${r.twoDown} of ${r.samples} |`;
  const med = (f: (r: Round) => number) => median(rounds.map(f));
  const failed = med((r) => r.failed);
  const gap = med((r) => r.gap.ms);
  console.log(
    [
      `\ncerts renew all, then apply -f cluster.yaml --until etcd on 3 network-namespace hosts, a client loop running throughout; ${rounds.length} round(s); load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end:\n`,
      "| round | certs renew all | apply wall time | client requests (put+get) | failed | dropped by a member, made again at once | longest gap between successes (when: from the apply's start) | each member's etcd gone | samples with 2+ gone |",
      "|---|---|---|---|---|---|---|---|---|",
      ...rounds.map((r, i) => row(String(i + 1), r)),
      `| median | ${ms(med((r) => r.renewMs))} | ${ms(med((r) => r.applyMs))} | ${med((r) => r.requests)} | ${failed} | ${med((r) => r.cut)} | ${ms(gap)} | ${hosts
        .map((_, i) => ms(med((r) => r.members[i]!.downMs)))
        .join(" / ")} | ${med((r) => r.twoDown)} |`,
      `\nfailed requests: median ${failed}, at most ${Math.max(...rounds.map((r) => r.failed))} (target 0): ${rounds.every((r) => r.failed === 0) ? "met" : "not met"}`,
      `longest gap: median ${ms(gap)}, at most ${ms(Math.max(...rounds.map((r) => r.gap.ms)))} (target < 1000 ms): ${rounds.every((r) => r.gap.ms < 1000) ? "met" : "not met"}`,
      `longest single outage of a member: ${ms(Math.max(...rounds.flatMap((r) => r.members.map((m) => m.longestMs))))}; sampling every ${SAMPLE_MS} ms (measured: ${Math.round(
        med((r) => r.sampledMs / r.samples),
      )} ms a sample, median)`,
      ...rounds.flatMap((r, i) => r.failures.slice(0, 3).map((f) => `round ${i + 1}, failed request ${f.replace(/\s+/g, " ")}`)),
    ].join("\n"),
  );
});
