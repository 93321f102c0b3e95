// Each member's etcd process, sampled every 25 ms while a cluster is changed: whether two members were ever down at
// once (what a rolling change must never do), each member's restarts, and when each was gone. The multi-host tests
// assert on it (apply-etcd.test.ts, rotate-ca-etcd.test.ts); the benches print it.
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { Worker } from "node:worker_threads";

/** The interval the sampler aims at between two samples (each sample is one `pgrep` and a stat per PID). */
export const SAMPLE_MS = 25;

/** What the sampler saw, per member in the order of the hosts given. */
export interface MembersSeen {
  samples: number;
  /** Samples in which two or more members had no etcd process. */
  twoDown: number;
  /** Per member: how many times its etcd's PID changed to a new one. */
  restarts: number[];
  /** Per member: samples in which it had no etcd process. */
  downSamples: number[];
  /** Per member: the intervals with no etcd process (performance.now(), ms). */
  down: { from: number; to: number }[][];
  /** The mean and the longest time between two samples (ms): what the sampler could miss. */
  meanIntervalMs: number;
  longestIntervalMs: number;
}

/**
 * Every host's etcd PIDs ("" when none), from one `pgrep` for all the hosts' users, each PID's host from its /proc
 * entry's owner; asked without blocking this process (the client loop runs in it).
 */
export async function etcdPids(hosts: readonly { uid: number }[]): Promise<string[]> {
  const out = await new Promise<string>((resolve) =>
    execFile("pgrep", ["-u", hosts.map((h) => h.uid).join(","), "-x", "etcd"], { encoding: "utf8" }, (_, stdout) => resolve(stdout ?? "")),
  );
  const owners = await Promise.all(
    out
      .split("\n")
      .filter(Boolean)
      .map(async (pid) => ({
        pid,
        uid: await stat(`/proc/${pid}`).then(
          (s) => s.uid,
          () => -1,
        ),
      })),
  );
  return hosts.map((h) =>
    owners
      .filter((o) => o.uid === h.uid)
      .map((o) => o.pid)
      .join(" "),
  );
}

/**
 * The sampler, run in a worker thread of its own so that its pace does not depend on this process's event loop (the
 * client loop spawns etcdctl from it). A sample checks each known etcd PID in /proc (gone, or a zombie, is down) and
 * looks through /proc only for the hosts whose etcd is not known (as `pgrep -u UID -x etcd` does: the entry's owner
 * is the host's user, its comm `etcd`), without starting a process.
 */
const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const { readFileSync, readdirSync, statSync } = require("node:fs");
const { uids, everyMs } = workerData;
const stopFlag = new Int32Array(workerData.stop);
const alive = (pid) => {
  try {
    const stat = readFileSync("/proc/" + pid + "/stat", "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
};
const scan = (which) => {
  const wanted = new Map(which.map((i) => [uids[i], i]));
  const found = {};
  for (const pid of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(pid)) continue;
    try {
      const i = wanted.get(statSync("/proc/" + pid).uid);
      if (i !== undefined && readFileSync("/proc/" + pid + "/comm", "utf8") === "etcd\\n" && alive(pid)) found[i] = pid;
    } catch {}
  }
  return found;
};
const n = uids.length;
const seen = { samples: 0, twoDown: 0, restarts: uids.map(() => 0), downSamples: uids.map(() => 0), down: uids.map(() => []), meanIntervalMs: 0, longestIntervalMs: 0 };
const now = () => performance.now();
const first = scan(uids.map((_, i) => i));
const known = uids.map((_, i) => first[i] ?? "");
const last = [...known];
const since = uids.map(() => undefined);
const start = now();
let previous = start;
while (Atomics.load(stopFlag, 0) === 0) {
  const t = now();
  for (let i = 0; i < n; i++) if (known[i] && !alive(known[i])) known[i] = "";
  const missing = known.map((p, i) => (p ? -1 : i)).filter((i) => i >= 0);
  if (missing.length) {
    const found = scan(missing);
    for (const i of missing) known[i] = found[i] ?? "";
  }
  const end = now();
  seen.longestIntervalMs = Math.max(seen.longestIntervalMs, end - previous);
  previous = end;
  seen.samples++;
  if (known.filter((p) => p === "").length >= 2) seen.twoDown++;
  for (let i = 0; i < n; i++) {
    const p = known[i];
    if (p === "") seen.downSamples[i]++;
    if (p === "" && since[i] === undefined) since[i] = t;
    if (p !== "" && since[i] !== undefined) { seen.down[i].push({ from: since[i], to: t }); since[i] = undefined; }
    if (p !== "" && p !== last[i]) { seen.restarts[i]++; last[i] = p; }
  }
  Atomics.wait(stopFlag, 0, 0, Math.max(0, t + everyMs - now()));
}
for (let i = 0; i < n; i++) if (since[i] !== undefined) seen.down[i].push({ from: since[i], to: now() });
seen.meanIntervalMs = seen.samples ? (previous - start) / seen.samples : 0;
parentPort.postMessage(seen);
`;

/**
 * Samples every host's etcd every {@link SAMPLE_MS} until stopped (in a worker thread; times are the worker's
 * performance.now(), which starts at its own origin).
 */
export function sampleMembers(hosts: readonly { uid: number }[]): { stop: () => Promise<MembersSeen> } {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, { eval: true, workerData: { uids: hosts.map((h) => h.uid), everyMs: SAMPLE_MS, stop } });
  // Settled once, with what the worker reported or how it failed; a failure waits for stop() to be thrown there.
  let report: MembersSeen | undefined;
  let failure: Error | undefined;
  const ended = new Promise<void>((resolve) => {
    worker.on("message", (m: MembersSeen) => (report = m));
    worker.on("error", (e) => (failure ??= e));
    worker.once("exit", () => resolve());
  });
  return {
    stop: async () => {
      const flag = new Int32Array(stop);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await ended;
      if (!report) throw failure ?? new Error("the etcd sampler exited without a report");
      return report;
    },
  };
}
