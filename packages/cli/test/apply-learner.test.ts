// One etcd member to two by re-running apply: the new member joins as a learner and votes only once promoted, so the
// first member keeps its quorum of one throughout (a plain `member add` makes it two voters, one of them not started).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { type Mirror, etcdMirrorFiles, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { dkAsync, runAsync, tempDir } from "../../../test-support/peers.js";
import { type ClusterHost, type EtcdctlTarget, type TestCluster, clusterFileFor, etcdctlFlags, startTestCluster } from "../../../test-support/test-cluster.js";

/** Kubernetes 1.37's etcd (the release table), built from etcd's modules by test-support/built-peers.ts. */
const ETCD = RELEASES[0]!.etcd;
const etcdctl = (o: EtcdctlTarget, ...args: string[]) => runAsync(etcdctlOf(ETCD).path, [...etcdctlFlags(o), ...args], { env: etcdctlOf(ETCD).env });

describe("apply: one etcd member to two", () => {
  const work = tempDir("dk-learner-");
  const dir = join(work, "cluster");
  let cluster: TestCluster;
  let mirror: Mirror;
  const apply = (hosts: ClusterHost[]) => {
    writeFileSync(
      join(work, "cluster.yaml"),
      clusterFileFor(cluster, hosts, { name: "learner-test", mirror: mirror.url, checksums: mirror.checksums(), etcd: ETCD }),
    );
    return dkAsync(["apply", "-f", join(work, "cluster.yaml"), "--dir", dir, "--until", "etcd"], { cwd: work });
  };
  const pid = (h: ClusterHost) => execFileSync("pgrep", ["-u", String(h.uid), "-x", "etcd"], { encoding: "utf8" }).trim();

  beforeAll(async () => {
    cluster = await startTestCluster(work, 2);
    mirror = await startMirror(cluster.hostIp, etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
  }, 120_000);
  afterAll(async () => {
    await mirror?.close();
    await cluster?.stop();
  });

  it("adds the second member as a learner: writes through the first never stop, and it is promoted", async () => {
    const [h1, h2] = cluster.hosts as [ClusterHost, ClusterHost];
    const first = await apply([h1]);
    expect(first.status, `${first.stdout}\n${first.stderr}`).toBe(0);
    const p1 = pid(h1);
    // A writer through member 1 alone, each put bounded by 3 s: with two voters and one not started, none would commit.
    let stop = false;
    const failures: string[] = [];
    let puts = 0;
    const writer = (async () => {
      while (!stop) {
        const r = await etcdctl({ dir, via: h1, timeout: "3s" }, "put", "/dk/learner", String(puts));
        if (r.status === 0) puts++;
        else failures.push(r.stderr.trim().split("\n").pop()!);
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const r = await apply([h1, h2]);
    stop = true;
    await writer;
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(failures).toEqual([]);
    expect(puts).toBeGreaterThan(5);
    expect(r.stdout).toContain(`etcd: adding member ${h2.name} as a learner, promoted once it has caught up (2 members)`);
    expect(pid(h1)).toBe(p1);
    const list = await etcdctl({ dir, via: h1 }, "member", "list", "-w", "simple");
    expect(
      list.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(", "))
        .map(([, status, name, , , learner]) => [name, status, learner])
        .sort(),
    ).toEqual([h1, h2].map((h) => [h.name, "started", "false"]).sort());
    const got = await etcdctl({ dir, via: h2 }, "get", "/dk/learner", "--print-value-only");
    expect(got.stdout.trim(), got.stderr).toBe(String(puts - 1));
  }, 300_000);
});
