// The whole workshop, timed: one node (a controller+worker host) from nothing to the web Service answering, then the
// cluster of three controllers and a worker the same way, each with `apply -f` on fresh network-namespace hosts
// (test-support/live-cluster.ts: Kubernetes, etcd, containerd, runc and the CNI plugins built from their Go modules,
// served by a mirror on this machine's side of the test switch, the images imported from archives). Wall time, each
// step's time as apply prints it (the slowest named), and the cluster against the node. Prints tables; asserts only
// that the web app answered. Run: npm run bench:workshop (root).
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterEach, expect, it } from "vitest";
import { type LiveCluster, LIVE_VERSIONS, startLiveCluster, until } from "../test-support/live-cluster.js";
import { tempDir } from "../test-support/peers.js";

interface Timed {
  hosts: number;
  /** From `apply` started to the web Service answering on its ClusterIP from the first host. */
  wallMs: number;
  applyMs: number;
  /** Each step's seconds as apply printed them, per host: `[host] ok  STEP (12.3s)`. */
  steps: { host: string; step: string; s: number }[];
  load: number;
  /** The first host's containerd step, in its parts as containerd's own log times them. */
  containerd: ContainerdParts;
}

/**
 * containerd's step is an install, a start and the import of the image archives: its own log times the last two
 * (`containerd successfully booted in Xs`, then one `ImageCreate event name:"NAME"` per image imported).
 */
interface ContainerdParts {
  bootS: number;
  /** From containerd serving to the last image created: the `ctr images import` of every archive. */
  importS: number;
  images: { name: string; s: number }[];
}

function containerdParts(log: string): ContainerdParts {
  const at = (line: string) => Date.parse(/^time="([^"]+)"/.exec(line)![1]!);
  const lines = log.split("\n");
  const booted = lines.find((l) => /containerd successfully booted in/.test(l));
  if (!booted) throw new Error("containerd's log has no 'successfully booted' line");
  const bootS = Number(/booted in ([\d.]+)s/.exec(booted)![1]);
  let last = at(booted);
  const images: ContainerdParts["images"] = [];
  for (const l of lines) {
    // The name events, not the sha256 ones each import adds for the same image.
    const m = /ImageCreate event name:\\"([^\\"]+)\\"/.exec(l);
    if (!m || m[1]!.startsWith("sha256:")) continue;
    images.push({ name: m[1]!, s: (at(l) - last) / 1000 });
    last = at(l);
  }
  return { bootS, importS: (last - at(booted)) / 1000, images };
}

let live: LiveCluster | undefined;
afterEach(async () => {
  await live?.stop();
  live = undefined;
});

const results: Timed[] = [];

async function timeWorkshop(controllers: number, workers: number): Promise<Timed> {
  live = await startLiveCluster(tempDir("dk-bench-workshop-"), { controllers, workers, name: "bench" });
  const t0 = performance.now();
  const r = await live.apply();
  const applyMs = performance.now() - t0;
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const first = live.all[0]!;
  const clusterIP = (await live.kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).stdout;
  await until("the web Service answering", async () => {
    const got = await live!.onHost(first, "curl", "-fsS", "--max-time", "2", `http://${clusterIP}:3000/`);
    return /Hello World/.test(got.stdout);
  });
  const wallMs = performance.now() - t0;
  const steps = [...r.stdout.matchAll(/^\[([^\]]+)\]\s+ok {2}(\S+) \(([\d.]+)s\)$/gm)].map((m) => ({ host: m[1]!, step: m[2]!, s: Number(m[3]) }));
  expect(steps.length).toBeGreaterThan(5);
  const containerd = containerdParts(readFileSync(join(first.remoteRoot, "var/log/dk-bootstrap/containerd.log"), "utf8"));
  expect(containerd.images.length).toBeGreaterThan(0);
  return { hosts: controllers + workers, wallMs, applyMs, steps, load: loadavg()[0]!, containerd };
}

it("one node, from nothing to the web Service answering", async () => {
  results.push(await timeWorkshop(1, 0));
}, 1_800_000);

it("three controllers and a worker, the same way", async () => {
  results.push(await timeWorkshop(3, 1));
}, 1_800_000);

it("report", () => {
  const [node, cluster] = results as [Timed, Timed];
  expect(node && cluster).toBeTruthy();
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    `Kubernetes ${LIVE_VERSIONS.kubernetes}, etcd ${LIVE_VERSIONS.etcd}, containerd ${LIVE_VERSIONS.containerd}; this machine's load average at the end: node ${node.load.toFixed(1)}, cluster ${cluster.load.toFixed(1)}`,
    "",
    "| step | one node | cluster (slowest host) |",
    "|---|---|---|",
  ];
  const order = [...new Set([...node.steps, ...cluster.steps].map((x) => x.step))];
  const slowest = (t: Timed, step: string) => Math.max(0, ...t.steps.filter((x) => x.step === step).map((x) => x.s));
  for (const step of order) lines.push(`| ${step} | ${slowest(node, step).toFixed(1)} s | ${slowest(cluster, step).toFixed(1)} s |`);
  lines.push(`| **apply** | ${s(node.applyMs)} | ${s(cluster.applyMs)} |`);
  lines.push(`| **to the web Service answering** | ${s(node.wallMs)} | ${s(cluster.wallMs)} |`);
  const worst = [...node.steps].sort((a, b) => b.s - a.s)[0]!;
  lines.push("", `one node's slowest step: ${worst.step} (${worst.s.toFixed(1)} s); cluster / node: ${(cluster.wallMs / node.wallMs).toFixed(2)}x`);
  for (const [what, t] of [
    ["one node", node],
    ["cluster, first host", cluster],
  ] as const) {
    const step = t.steps.find((x) => x.host === t.steps[0]!.host && x.step === "containerd")?.s ?? Number.NaN;
    const parts = t.containerd;
    lines.push(
      `${what}: containerd's step ${step.toFixed(1)} s = install and start ${(step - parts.importS).toFixed(1)} s (containerd's own boot ${parts.bootS.toFixed(2)} s)` +
        ` + image import ${parts.importS.toFixed(1)} s (${parts.images.map((i) => `${i.name} ${i.s.toFixed(1)} s`).join(", ")})`,
    );
  }
  console.log(lines.join("\n"));
});
