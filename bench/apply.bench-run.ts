// `apply -f cluster.yaml --until etcd` on 1 network-namespace host against 3, fresh each round, in one run: wall
// time and its ratio (the hosts work in parallel), SSH connections per host (sshd's log), what each host fetched
// from the mirror (its request log, by client address: no file twice), and the no-op re-run on 3 hosts. Then where
// the time goes: the same runs in this process with every remote command timed, and a run that brings back one
// killed member. Run: npm run bench:apply (root; medians of RUNS rounds, default 3, fewer once BUDGET_S, default
// 180, has passed after a round).
import { execFileSync, spawn } from "node:child_process";
import { loadavg } from "node:os";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type HostConnection,
  type HostOutcome,
  type RunOptions,
  type RunResult,
  type Shell,
  type Transport,
  SshTransport,
  applyCluster,
  parseClusterFile,
  resolveVersions,
} from "@dk-bootstrap/orchestrator";
import { type Mirror, etcdMirrorFiles, startMirror } from "../test-support/mirror.js";
import { CLI, tempDir } from "../test-support/peers.js";
import { type ClusterHost, type TestCluster, clusterFileFor, startTestCluster } from "../test-support/test-cluster.js";

const ETCD = "3.6.17";
const RUNS = Number(process.env.RUNS ?? 3);
const BUDGET_MS = Number(process.env.BUDGET_S ?? 180) * 1000;
const work = tempDir("dk-bench-apply-");
const dir = join(work, "cluster");
const file = join(work, "cluster.yaml");
let cluster: TestCluster;
let mirror: Mirror;

/** One run of the CLI's apply: wall time, when its summary was out, its JSON event lines, and per host what sshd and the mirror saw. */
interface Run {
  ms: number;
  /** When the last line of output (the per-host summary) arrived: what is left until exit is the process winding down. */
  summaryMs: number;
  status: number | null;
  lines: { at: number; text: string }[];
  stderr: string;
  hosts: { conns: number; fetched: { path: string; bytes: number }[] }[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const accepted = (h: ClusterHost) => (h.sshdLog.match(/Accepted publickey/g) ?? []).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeClusterFile(hosts: ClusterHost[]): void {
  writeFileSync(file, clusterFileFor(cluster, hosts, { name: "bench-apply", mirror: mirror.url, checksums: mirror.checksums(), etcd: ETCD }));
}

/** The CLI's apply with JSON events, each output line timestamped as it arrives. */
async function apply(hosts: ClusterHost[]): Promise<Run> {
  const before = hosts.map(accepted);
  const logged = mirror.log.length;
  const lines: Run["lines"] = [];
  let stderr = "";
  const t0 = performance.now();
  const status = await new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, [CLI, "apply", "-f", file, "--dir", dir, "--until", "etcd", "--json"], {
      cwd: work,
      // The run logs go to the bench's folder, not this user's cache.
      env: { ...process.env, XDG_CACHE_HOME: join(work, "cache") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let partial = "";
    p.stdout.on("data", (d: Buffer) => {
      const at = performance.now() - t0;
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop()!;
      for (const text of parts) lines.push({ at, text });
    });
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", resolve);
  });
  const ms = performance.now() - t0;
  await sleep(200); // let sshd's log catch up
  const requests = mirror.log.slice(logged);
  return {
    ms,
    summaryMs: lines[lines.length - 1]?.at ?? ms,
    status,
    lines,
    stderr,
    hosts: hosts.map((host, i) => ({
      conns: accepted(host) - before[i]!,
      fetched: requests.filter((r) => r.client === host.ip).map(({ path, bytes }) => ({ path, bytes })),
    })),
  };
}

/** What the run says it did per host: `[NAME] controller: N step(s) run, M already done`. */
function outcomes(run: Run): { run: number; skipped: number }[] {
  return run.lines.flatMap(({ text }) => {
    const m = /^\[\S+\] controller: (\d+) step\(s\) run, (\d+) already done$/.exec(text);
    return m ? [{ run: Number(m[1]), skipped: Number(m[2]) }] : [];
  });
}

const etcdPids = (h: ClusterHost) => {
  try {
    return execFileSync("pgrep", ["-u", String(h.uid), "-x", "etcd"], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
};

/** Kills the host's etcd and waits until it is gone. */
async function killEtcd(h: ClusterHost): Promise<void> {
  for (let i = 0; i < 50 && etcdPids(h) !== ""; i++) {
    for (const pid of etcdPids(h).split("\n"))
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone meanwhile
      }
    await sleep(100);
  }
}

/** A fresh start: every etcd of the hosts killed, their remote roots emptied (the download cache too), the cluster folder gone. */
async function wipe(): Promise<void> {
  for (const h of cluster.hosts) {
    await killEtcd(h);
    for (const f of readdirSync(h.remoteRoot)) rmSync(join(h.remoteRoot, f), { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
}

/** One remote command of a traced run: which host, when it started and how long it took (ms), what it was. */
interface Traced {
  host: string;
  at: number;
  ms: number;
  kind: string;
  what: string;
}

/** What a command is for, from its text (the shared shell functions of step scripts left out). */
function kindOf(text: string): string {
  if (/dk_fetch /.test(text)) return "step script: fetch, install, start";
  if (/^dk_wait 3 /.test(text)) return "is it done: the check, 3 s grace";
  if (/^dk_wait /.test(text)) return "check after the step";
  if (/member list|endpoint health --cluster/.test(text)) return "etcd membership (members, health)";
  if (/^hostname|^ip -o addr/.test(text)) return "facts (name, addresses)";
  if (/^sha256sum |cat > |^chmod [0-7]+ /.test(text)) return "file uploads (sha256sum, then cat or chmod)";
  if (/dk_problem/.test(text)) return "preflight";
  return "context, lock, step state";
}

/** A transport that times each command it runs: a run's profile, command by command, per host. */
class TracingTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly h: ClusterHost,
    private readonly trace: Traced[],
    private readonly t0: number,
  ) {}
  get host(): string {
    return this.inner.host;
  }
  private record(start: number, script: Shell | undefined, what: string): void {
    let text = script?.text ?? what;
    const fns = text.indexOf("dk_wait() {\n");
    if (fns >= 0) text = text.slice(text.indexOf("\n}\n", fns) + 3);
    text = text.split(this.h.remoteRoot).join("~").replace(/\s+/g, " ").trim();
    const kind = script ? kindOf(text) : what;
    this.trace.push({
      host: this.h.name,
      at: start - this.t0,
      ms: performance.now() - start,
      kind,
      what: text.length > 100 ? `${text.slice(0, 97)}...` : text,
    });
  }
  async run(script: Shell, options?: RunOptions): Promise<RunResult> {
    const start = performance.now();
    const r = await this.inner.run(script, options);
    this.record(start, script, "");
    return r;
  }
  async hold(script: Shell, options?: Pick<RunOptions, "stdin" | "gate">): Promise<{ firstLine: string; release(): Promise<void> }> {
    const start = performance.now();
    const held = await this.inner.hold!(script, options);
    this.record(start, script, "");
    return {
      firstLine: held.firstLine,
      release: async () => {
        const at = performance.now();
        await held.release();
        this.record(at, undefined, "lock release");
      },
    };
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** apply in this process on the hosts of the file, every remote command timed (from before the connections open). */
async function tracedApply(hosts: ClusterHost[]): Promise<{ ms: number; trace: Traced[]; outcomes: HostOutcome[] }> {
  const { cluster: parsed } = parseClusterFile(readFileSync(file, "utf8"), file);
  const versions = await resolveVersions({ kubernetes: "1.34.2", etcd: ETCD }, { online: false, warn: () => undefined });
  const trace: Traced[] = [];
  const t0 = performance.now();
  const conns: HostConnection[] = await Promise.all(
    hosts.map(async (h, i) => {
      const start = performance.now();
      const ssh = await SshTransport.connect({ host: h.ip, username: h.user, privateKey: readFileSync(h.keyFile), knownHosts: [cluster.knownHosts] });
      trace.push({ host: h.name, at: start - t0, ms: performance.now() - start, kind: "SSH connection", what: "SSH connection" });
      return { host: parsed.hosts[i]!, transport: new TracingTransport(ssh, h, trace, t0) };
    }),
  );
  try {
    const outcomes = await applyCluster(conns, { dir, cluster: parsed, versions, until: "etcd", concurrency: 10 });
    return { ms: performance.now() - t0, trace, outcomes };
  } finally {
    await Promise.all(conns.map((c) => c.transport.close()));
  }
}

/** Per host, the time its commands took by kind; the time no host ran anything (this machine's own work: PKI, planning); the slow commands. */
function traceReport(t: { ms: number; trace: Traced[] }, slowMs = 400): string {
  const hosts = [...new Set(t.trace.map((x) => x.host))];
  const kinds = [...new Set(t.trace.map((x) => x.kind))];
  const sum = (h: string, k: string) => t.trace.filter((x) => x.host === h && x.kind === k).reduce((s, x) => s + x.ms, 0);
  const count = (h: string, k: string) => t.trace.filter((x) => x.host === h && x.kind === k).length;
  // The union of every command's interval, over all hosts: the rest of the wall time is local work.
  let busy = 0;
  let end = 0;
  for (const x of [...t.trace].sort((a, b) => a.at - b.at)) {
    const [from, to] = [Math.max(x.at, end), x.at + x.ms];
    if (to > from) busy += to - from;
    end = Math.max(end, to);
  }
  return [
    `  | ${["commands (ms, count)", ...hosts].join(" | ")} |`,
    `  |${" --- |".repeat(hosts.length + 1)}`,
    ...kinds.map((k) => `  | ${[k, ...hosts.map((h) => `${Math.round(sum(h, k))} (${count(h, k)})`)].join(" | ")} |`),
    `  wall ${Math.round(t.ms)} ms, of which ${Math.round(t.ms - busy)} ms with no command running on any host (this machine's own work: PKI check or generation, planning)`,
    `  commands of ${slowMs} ms or more (start, duration):`,
    ...t.trace
      .filter((x) => x.ms >= slowMs)
      .sort((a, b) => a.at - b.at)
      .map((x) => `    ${String(Math.round(x.at)).padStart(6)} ms +${String(Math.round(x.ms)).padStart(6)} ms [${x.host}] ${x.what}`),
  ].join("\n");
}

/** The events of one CLI run, per host, as ms after the process was spawned (files and output left out). */
function eventsReport(run: Run): string {
  const rows: string[] = [];
  for (const { at, text } of run.lines) {
    if (!text.startsWith("{")) {
      rows.push(`  ${String(Math.round(at)).padStart(6)} ms  ${text}`);
      continue;
    }
    const e = JSON.parse(text) as { host: string; type: string; step?: string; status?: string; ms?: number; ok?: boolean };
    if (e.type === "file" || e.type === "output" || e.type === "observe") continue;
    rows.push(
      `  ${String(Math.round(at)).padStart(6)} ms  [${e.host}] ${e.type} ${e.step ?? ""}${e.status ? ` ${e.status}` : ""}${e.ok === false ? " FAILED" : ""}`,
    );
  }
  rows.push(`  ${String(Math.round(run.ms)).padStart(6)} ms  exit ${run.status}`);
  return rows.join("\n");
}

beforeAll(async () => {
  cluster = await startTestCluster(work, 3);
  mirror = await startMirror(cluster.hostIp, etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
}, 120_000);
afterAll(async () => {
  await mirror?.close();
  await cluster?.stop();
});

it("measures apply --until etcd on 1 host against 3, the no-op re-run, and where the time goes", async () => {
  const started = performance.now();
  const load0 = loadavg()[0]!;
  const all = cluster.hosts;
  const [one, three, noop]: [Run[], Run[], Run[]] = [[], [], []];
  for (let round = 0; round < RUNS; round++) {
    if (round > 0 && performance.now() - started > BUDGET_MS) break;
    await wipe();
    writeClusterFile([all[0]!]);
    one.push(await apply([all[0]!]));
    await wipe();
    writeClusterFile(all);
    three.push(await apply(all));
    noop.push(await apply(all));
    for (const [runs, wanted] of [
      [one, { run: 1, skipped: 0 }],
      [three, { run: 1, skipped: 0 }],
      [noop, { run: 0, skipped: 1 }],
    ] as const) {
      const r = runs[runs.length - 1]!;
      expect(r.status, `${r.lines.map((l) => l.text).join("\n")}\n${r.stderr}`).toBe(0);
      expect(outcomes(r)).toEqual(r.hosts.map(() => wanted));
    }
  }

  // The same in this process, each remote command timed; then one member killed and brought back by apply.
  await wipe();
  writeClusterFile([all[0]!]);
  const tracedOne = await tracedApply([all[0]!]);
  await wipe();
  writeClusterFile(all);
  const tracedThree = await tracedApply(all);
  const tracedNoop = await tracedApply(all);
  const before = [etcdPids(all[0]!), etcdPids(all[2]!)];
  await killEtcd(all[1]!);
  const revived = await tracedApply(all);
  expect(revived.outcomes.map((o) => o.done)).toEqual([[], ["etcd"], []]);
  expect([etcdPids(all[0]!), etcdPids(all[2]!)]).toEqual(before);
  await wipe();
  const load1 = loadavg()[0]!;

  const rounds = one.length;
  const perHost = (runs: Run[], f: (h: Run["hosts"][number]) => number) => runs[0]!.hosts.map((_, i) => median(runs.map((r) => f(r.hosts[i]!))));
  const twice = (runs: Run[]) => runs.reduce((n, r) => n + r.hosts.reduce((m, h) => m + h.fetched.length - new Set(h.fetched.map((f) => f.path)).size, 0), 0);
  const row = (name: string, runs: Run[]) =>
    `| ${name} | ${Math.round(median(runs.map((r) => r.ms)))} ms | ${Math.round(median(runs.map((r) => r.summaryMs)))} ms | ${perHost(runs, (h) => h.conns).join(" / ")} | ${perHost(
      runs,
      (h) => h.fetched.reduce((s, f) => s + f.bytes, 0),
    )
      .map((b) => (b / 1024).toFixed(0))
      .join(" / ")} KiB | ${perHost(runs, (h) => h.fetched.length).join(" / ")} | ${twice(runs)} |`;
  const ms = (runs: Run[], f: (r: Run) => number = (r) => r.ms) => median(runs.map(f));
  console.log(
    [
      `\napply -f cluster.yaml --until etcd on network-namespace hosts (fresh hosts and cluster folder each round), median of ${rounds}; load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end:\n`,
      "| run | wall time | summary printed | SSH connections per host | fetched from the mirror per host | requests per host | files fetched twice by a host |",
      "|---|---|---|---|---|---|---|",
      row("1 host", one),
      row("3 hosts", three),
      row("3 hosts, no-op re-run", noop),
      `\n3 hosts / 1 host: ${(ms(three) / ms(one)).toFixed(2)}x wall, ${(ms(three, (r) => r.summaryMs) / ms(one, (r) => r.summaryMs)).toFixed(2)}x until the summary (target <= 1.3x)`,
      `no-op re-run on 3 hosts: ${Math.round(ms(noop))} ms (target < 2000 ms)`,
      `rounds, wall (ms): 1 host ${one.map((r) => Math.round(r.ms)).join(", ")}; 3 hosts ${three.map((r) => Math.round(r.ms)).join(", ")}; no-op ${noop.map((r) => Math.round(r.ms)).join(", ")}`,
    ].join("\n"),
  );
  const medianRun = (runs: Run[]) => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
  console.log(`\nThe CLI's events, 3 hosts (median round):\n${eventsReport(medianRun(three))}`);
  console.log(`\nThe CLI's events, no-op re-run on 3 hosts (median round):\n${eventsReport(medianRun(noop))}`);
  console.log(`\nIn this process, 1 host, fresh:\n${traceReport(tracedOne)}`);
  console.log(`\nIn this process, 3 hosts, fresh:\n${traceReport(tracedThree)}`);
  console.log(`\nIn this process, 3 hosts, no-op re-run:\n${traceReport(tracedNoop, 100)}`);
  console.log(`\nIn this process, 3 hosts, ${all[1]!.name}'s etcd killed, brought back by apply:\n${traceReport(revived, 1000)}`);
});
