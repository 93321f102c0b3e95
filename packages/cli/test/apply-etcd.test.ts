// apply -f on three (then four) network-namespace hosts, each with its own sshd, user and remote root: a real etcd
// cluster (3.6.17, Kubernetes 1.35/1.36's in the release table, then upgraded to 1.37's 3.7.4, both built from etcd's
// modules by test-support/built-peers.ts), its membership changed by re-running apply, a partition and a dead member
// survived.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mirror, etcdMirrorFiles, etcdTool, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { REQUEST_BOUND_MS, etcdClientLoop, loopReport, outage } from "../../../test-support/etcd-client-loop.js";
import { sampleMembers } from "../../../test-support/etcd-sampler.js";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { dkAsync, runAsync, tempDir } from "../../../test-support/peers.js";
import { type ClusterHost, type TestCluster, clusterFileFor, startTestCluster } from "../../../test-support/test-cluster.js";

/** The etcd of Kubernetes 1.35 and 1.36 (3.6.17), and of 1.37 (3.7.4): the upgrade test goes from one to the other. */
const ETCD = RELEASES[1]!.etcd;
const NEXT = RELEASES[0]!.etcd;

describe("apply --until etcd on network-namespace hosts", () => {
  const work = tempDir("dk-apply-");
  const dir = join(work, "cluster");
  let cluster: TestCluster;
  let mirror: Mirror;

  /** The cluster file for these hosts; `reset` marks hosts to remove. */
  /** The etcd release the cluster runs (the upgrade test raises it): a file asking for less would be a downgrade. */
  let running = ETCD;
  const writeFile = (hosts: ClusterHost[], reset: ClusterHost[] = [], etcd = running) =>
    writeFileSync(
      join(work, "cluster.yaml"),
      clusterFileFor(cluster, hosts, { name: "apply-test", mirror: mirror.url, checksums: mirror.checksums(), etcd, reset }),
    );
  const apply = (...extra: string[]) => dkAsync(["apply", "-f", join(work, "cluster.yaml"), "--dir", dir, "--until", "etcd", ...extra], { cwd: work });

  /** etcdctl (the release the cluster runs) from this machine, as the health-check client of `via`'s node folder, against some members. */
  const etcdctl = (via: ClusterHost, endpoints: ClusterHost[], ...args: string[]) => {
    const pki = join(dir, "nodes", via.name, "pki", "etcd");
    return runAsync(
      etcdctlOf(running).path,
      [
        `--endpoints=${endpoints.map((h) => `https://${h.ip}:2379`).join(",")}`,
        `--cacert=${join(pki, "ca.crt")}`,
        `--cert=${join(pki, "healthcheck-client.crt")}`,
        `--key=${join(pki, "healthcheck-client.key")}`,
        "--command-timeout=5s",
        ...args,
      ],
      { env: etcdctlOf(running).env },
    );
  };
  const members = async (via: ClusterHost) => {
    const r = await etcdctl(via, [via], "member", "list", "-w", "simple");
    expect(r.status, r.stderr).toBe(0);
    return r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(", "))
      .map(([id, status, name, peers]) => ({ id: id!, status: status!, name: name!, peers: peers! }));
  };
  const pid = (h: ClusterHost) => execFileSync("pgrep", ["-u", String(h.uid), "-x", "etcd"], { encoding: "utf8" }).trim();
  const alive = (h: ClusterHost) => {
    try {
      pid(h);
      return true;
    } catch {
      return false;
    }
  };
  /** Starts `argv` on `h` over SSH as dk_start does (detached, into the member's log, its PID in the member's PID file). */
  const startByHand = async (h: ClusterHost, argv: string[]) => {
    const q = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const pidFile = execFileSync("find", [h.remoteRoot, "-name", "etcd.pid"], { encoding: "utf8" }).trim();
    const log = join(h.remoteRoot, "var", "log", "dk-bootstrap", "etcd.log");
    expect(pidFile, h.name).toMatch(/etcd\.pid$/);
    const r = await runAsync("ssh", [
      ...["-i", h.keyFile, "-o", `UserKnownHostsFile=${cluster.knownHosts}`, "-o", "BatchMode=yes", `${h.user}@${h.ip}`],
      `setsid nohup ${argv.map(q).join(" ")} >> ${q(log)} 2>&1 < /dev/null & echo $! > ${q(pidFile)}`,
    ]);
    expect(r.status, r.stderr).toBe(0);
  };
  const eventually = async (probe: () => Promise<boolean>, what: string, seconds = 30) => {
    for (let i = 0; i < seconds * 10; i++) {
      if (await probe()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`never: ${what}`);
  };

  /**
   * A client as real ones are (test-support/etcd-client-loop.ts: every 100 ms a write then a read of a counter through
   * all members, a request one member drops made again at once, none allowed more than REQUEST_BOUND_MS, 5 s), with the health-check
   * client of the first host's folder, and each member's etcd process sampled every 25 ms (test-support/etcd-sampler.ts).
   */
  const clientLoop = (hosts: ClusterHost[]) => {
    const pki = join(dir, "nodes", hosts[0]!.name, "pki", "etcd");
    const files = { ca: join(pki, "ca.crt"), cert: join(pki, "healthcheck-client.crt"), key: join(pki, "healthcheck-client.key") };
    const watch = sampleMembers(hosts);
    const loop = etcdClientLoop(etcdctlOf(running), hosts, () => files);
    return {
      seen: loop.seen,
      stop: async () => {
        const seen = await loop.stop();
        const members = await watch.stop();
        console.log(loopReport(seen, members));
        return { seen, members };
      },
    };
  };

  beforeAll(async () => {
    cluster = await startTestCluster(work, 3);
    mirror = await startMirror(cluster.hostIp, etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
  }, 120_000);
  afterAll(async () => {
    await mirror?.close();
    await cluster?.stop();
  });

  it("brings up three members that know each other by their node IPs, healthy through mTLS", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    writeFile([h1, h2, h3]);
    const r = await apply();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const list = await members(h1);
    expect(list.map((m) => [m.name, m.status, m.peers]).sort()).toEqual([h1, h2, h3].map((h) => [h.name, "started", `https://${h.ip}:2380`]).sort());
    const health = await etcdctl(h1, [h1], "endpoint", "health", "--cluster");
    expect(health.status, health.stderr).toBe(0);
    expect(`${health.stdout}${health.stderr}`.match(/is healthy/g)).toHaveLength(3);
    const put = await etcdctl(h1, [h1], "put", "/dk/answer", "42");
    expect(put.status, put.stderr).toBe(0);
    const got = await etcdctl(h3, [h3], "get", "/dk/answer", "--print-value-only");
    expect(got.stdout.trim(), got.stderr).toBe("42");
  }, 300_000);

  it("status -f shows every host's steps, the version each node runs (asked of it), etcd's members and certificate expiry", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const r = await dkAsync(["status", "-f", join(work, "cluster.yaml"), "--dir", dir], { cwd: work });
    expect(r.status, r.stderr).toBe(0);
    const etcdVersion = /etcd Version: (\S+)/.exec((await runAsync(etcdTool(ETCD, "etcd"), ["--version"])).stdout)![1]!;
    expect(etcdVersion).toBe(ETCD);
    for (const h of [h1, h2, h3]) {
      const part = r.stdout.split(`== ${h.name} (controller, ${h.ip})`)[1]!.split("\n== ")[0]!;
      expect(part).toMatch(/^etcd\s+yes\s+yes\s+yes$/m);
      // The installed program says which release it is (asked of it, not read from the plan).
      expect(part).toContain(`installed: etcd ${etcdVersion}`);
      expect(part).toMatch(/certificates: the first to expire is \S+, on \d{4}-\d\d-\d\d \(36[45] days\)/);
      expect(r.stdout).toMatch(new RegExp(`^${h.name}\\s+[0-9a-f]+\\s+started\\s+https://${h.ip.replaceAll(".", "\\.")}:2380\\s+yes$`, "m"));
    }
  }, 120_000);

  it("keeps serving writes when one host is cut off, and the host catches up when it is back", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    cluster.cut(h2);
    try {
      // When host 2 led, the other two elect a new leader first (etcd's election timeout is a second).
      await eventually(async () => (await etcdctl(h1, [h1, h3], "put", "/dk/during-cut", "yes")).status === 0, "a write through hosts 1 and 3");
      expect((await etcdctl(h3, [h3], "get", "/dk/during-cut", "--print-value-only")).stdout.trim()).toBe("yes");
    } finally {
      cluster.restore(h2);
    }
    await eventually(async () => (await etcdctl(h2, [h2], "get", "/dk/during-cut", "--print-value-only")).stdout.trim() === "yes", "host 2 has the key");
  }, 300_000);

  it("restarts a dead member with its ID and data, and leaves the live ones alone", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const before = await members(h1);
    const [p1, p3] = [pid(h1), pid(h3)];
    execFileSync("pkill", ["-9", "-u", String(h2.uid), "-x", "etcd"]);
    const r = await apply();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect((await members(h1)).map((m) => m.id).sort()).toEqual(before.map((m) => m.id).sort());
    expect([pid(h1), pid(h3)]).toEqual([p1, p3]);
    expect((await etcdctl(h2, [h2], "get", "/dk/answer", "--print-value-only", "--consistency=s")).stdout.trim()).toBe("42");
  }, 300_000);

  it("adds a fourth member without restarting the first three, then removes it when it is marked reset", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const h4 = await cluster.addHost();
    const pids = [pid(h1), pid(h2), pid(h3)];
    writeFile([h1, h2, h3, h4]);
    const added = await apply();
    expect(added.status, `${added.stdout}\n${added.stderr}`).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`adding member ${h4.name}`));
    const four = await members(h1);
    expect(four.map((m) => [m.name, m.status]).sort()).toEqual([h1, h2, h3, h4].map((h) => [h.name, "started"]).sort());
    expect([pid(h1), pid(h2), pid(h3)]).toEqual(pids);
    expect((await etcdctl(h4, [h4], "get", "/dk/answer", "--print-value-only")).stdout.trim()).toBe("42");

    writeFile([h1, h2, h3, h4], [h4]);
    const removed = await apply();
    expect(removed.status, `${removed.stdout}\n${removed.stderr}`).toBe(0);
    expect((await members(h1)).map((m) => m.name).sort()).toEqual([h1, h2, h3].map((h) => h.name).sort());
    expect(() => pid(h4)).toThrow();
    expect([pid(h1), pid(h2), pid(h3)]).toEqual(pids);
    const health = await etcdctl(h1, [h1], "endpoint", "health", "--cluster");
    expect(`${health.stdout}${health.stderr}`.match(/is healthy/g), health.stderr).toHaveLength(3);
  }, 300_000);

  it("renews every member's certificates host by host: a client loop sees no failed request, never two members down", async () => {
    const hosts = cluster.hosts.slice(0, 3) as [ClusterHost, ClusterHost, ClusterHost];
    const [h1] = hosts;
    const pki = join(dir, "nodes", h1.name, "pki", "etcd");
    const served = async (h: ClusterHost) =>
      (
        await runAsync("sh", [
          "-c",
          `echo | openssl s_client -connect ${h.ip}:2379 -cert ${pki}/healthcheck-client.crt -key ${pki}/healthcheck-client.key -CAfile ${pki}/ca.crt 2>/dev/null | openssl x509 -noout -serial`,
        ])
      ).stdout.trim();
    const before = await Promise.all(hosts.map(served));
    const pids = hosts.map(pid);
    const loop = clientLoop(hosts);
    const renewed = await dkAsync(["certs", "renew", "all", "--dir", dir], { cwd: work });
    const r = renewed.status === 0 ? await apply() : renewed;
    const { seen, members } = await loop.stop();
    expect(renewed.status, renewed.stderr).toBe(0);
    expect(renewed.stdout).toMatch(new RegExp(`\\[renew\\] ${h1.name}: etcd/server: renewed`));
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    // Each member restarted once, as the sampler saw it; at most one request made again per restart, none failed.
    expect(members.restarts).toEqual([1, 1, 1]);
    expect(outage(seen, members)).toEqual([]);
    const after = await Promise.all(hosts.map(served));
    for (const [i, serial] of after.entries()) {
      expect(serial).toMatch(/^serial=/);
      expect(serial, hosts[i]!.name).not.toBe(before[i]);
    }
    expect(hosts.map(pid).filter((p, i) => p === pids[i])).toEqual([]);
  }, 300_000);

  it("the client loop and the sampler fail a roll that stops two members at once (a deliberately broken rollout)", async () => {
    const hosts = cluster.hosts.slice(0, 3) as [ClusterHost, ClusterHost, ClusterHost];
    const [, h2, h3] = hosts;
    const loop = clientLoop(hosts);
    await eventually(async () => loop.seen.ok.length >= 10, "ten successful requests before the broken roll");
    // The broken roll: members 2 and 3 stopped together (SIGTERM, as a restart stops them), then started again with the
    // same command line, over SSH as dk_start starts them (apply refuses to touch a cluster without a quorum).
    const argv = [h2, h3].map((h) =>
      readFileSync(`/proc/${pid(h)}/cmdline`, "utf8")
        .split("\0")
        .filter(Boolean),
    );
    execFileSync("pkill", ["-TERM", "-u", `${h2.uid},${h3.uid}`, "-x", "etcd"]);
    await eventually(async () => [h2, h3].every((h) => !alive(h)), "members 2 and 3 stopped");
    // No member can serve a write without a quorum: the loop must say so by its own bound (REQUEST_BOUND_MS, 5 s: etcdctl
    // given what is left of it as its timeouts), not wait for etcd's 7 s request timeout as the loop of before did. Which of the two it was
    // is in the failure's words, checked below; how long it took by the test's clock (etcdctl's process starts included,
    // seconds on a loaded machine) is only printed.
    const down = performance.now();
    await eventually(async () => loop.seen.failures.length > 0, "a failed request with two members down");
    console.log(`first failed request ${Math.round(performance.now() - down)} ms after members 2 and 3 were down: ${loop.seen.failures[0]}`);
    expect(loop.seen.failures[0]).toMatch(new RegExp(`none served within ${REQUEST_BOUND_MS} ms|context deadline exceeded`));
    await Promise.all([h2, h3].map((h, i) => startByHand(h, argv[i]!)));
    const successes = loop.seen.ok.length;
    await eventually(async () => loop.seen.ok.length >= successes + 10, "ten successful requests after the members came back");
    const { seen, members } = await loop.stop();
    expect(members.restarts).toEqual([0, 1, 1]);
    const problems = outage(seen, members);
    expect(problems.filter((p) => p.startsWith("failed request")).length, problems.join("\n")).toBeGreaterThan(0);
    expect(
      problems.filter((p) => /samples found two or more members' etcd down at once$/.test(p)),
      problems.join("\n"),
    ).toHaveLength(1);
    // The failed requests are writes or reads no member served within the bound (or that etcd timed out), not some other error.
    for (const f of seen.failures)
      expect(f).toMatch(new RegExp(`none served within ${REQUEST_BOUND_MS} ms|context deadline exceeded|etcdserver: request timed out`));
  }, 300_000);

  it("reports a member whose host left the file, and leaves it alone", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const [before, pids] = [await members(h1), [pid(h1), pid(h2), pid(h3)]];
    writeFile([h1, h2]);
    const r = await apply();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`etcd: member ${h3.name} is in no host of the file: left alone`);
    expect(r.stderr).toMatch(/2 controllers: an even number of etcd members tolerates no more failures than 1/);
    expect(await members(h1)).toEqual(before);
    expect([pid(h1), pid(h2), pid(h3)]).toEqual(pids);
  }, 300_000);

  it("refuses to remove two of three members at once, and changes nothing", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const [before, pids] = [await members(h1), [pid(h1), pid(h2), pid(h3)]];
    writeFile([h1, h2, h3], [h2, h3]);
    const r = await apply();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: removing .* at once would take etcd from 3 members to 1, more than the 1 it can lose/);
    expect(await members(h1)).toEqual(before);
    expect([pid(h1), pid(h2), pid(h3)]).toEqual(pids);
  }, 300_000);
  it("upgrades etcd one member at a time when the file asks for a newer release, with no failed request", async () => {
    // A real upgrade: 3.6.17 to 3.7.4, each built from its own modules; the members run the new binaries one at a time.
    const next = NEXT;
    for (const [path, body] of etcdMirrorFiles(join(work, "mirror-next"), next, "amd64")) mirror.files.set(path, body);
    const hosts = cluster.hosts.slice(0, 3) as [ClusterHost, ClusterHost, ClusterHost];
    const pids = hosts.map(pid);
    writeFile(hosts, [], next);
    const loop = clientLoop(hosts);
    const r = await apply();
    const { seen, members } = await loop.stop();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    running = next;
    expect(members.restarts).toEqual([1, 1, 1]);
    expect(outage(seen, members)).toEqual([]);
    expect(hosts.map(pid).filter((p, i) => p === pids[i])).toEqual([]);
    // Each member now runs 3.7.4's binary, as it says over the API.
    for (const h of hosts) {
      const st = await etcdctl(h, [h], "endpoint", "status", "-w", "json");
      expect(st.status, st.stderr).toBe(0);
      expect((JSON.parse(st.stdout) as { Status: { version: string } }[])[0]!.Status.version, h.name).toBe(next);
    }
    // A snapshot of the data first, verified by etcd itself here.
    const snapshot = new RegExp(`etcd ${ETCD.replaceAll(".", "\\.")} -> ${next.replaceAll(".", "\\.")}: snapshot first, revision \\d+, in (\\S+)`).exec(
      r.stdout,
    )?.[1];
    expect(snapshot, r.stdout).toMatch(new RegExp(`^${dir}/backups/etcd-.*-before-${next.replaceAll(".", "\\.")}\\.db$`));
    const status = await runAsync(etcdTool(next, "etcdutl"), ["snapshot", "status", snapshot!, "-w", "json"]);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).totalKey).toBeGreaterThan(0);
    const tarball = `etcd-v${next}-linux-amd64.tar.gz`;
    const served = mirror.files.get(`/github.com/etcd-io/etcd/releases/download/v${next}/${tarball}`)!;
    const published = createHash("sha256")
      .update(Buffer.isBuffer(served) ? served : readFileSync(served.file))
      .digest("hex");
    for (const h of hosts) {
      const installed = createHash("sha256")
        .update(readFileSync(join(h.remoteRoot, "var/cache/dk-bootstrap", tarball)))
        .digest("hex");
      expect(installed, h.name).toBe(published);
    }
  }, 300_000);
  it("stops a rolling renewal at the first member that fails: the members after it keep running, writes go on", async () => {
    const hosts = cluster.hosts.slice(0, 3) as [ClusterHost, ClusterHost, ClusterHost];
    const [h1, h2, h3] = hosts;
    // Member 1's peer traffic is dropped inside its namespace (a blackhole route to each peer; ssh from this machine
    // still reaches it): restarted with renewed certificates, it cannot rejoin, and its health gate fails.
    const cutPeers = (verb: "add" | "del") => {
      for (const h of [h2, h3]) execFileSync("ip", ["-n", h1.netns, "route", verb, "blackhole", `${h.ip}/32`]);
    };
    const pids = hosts.map(pid);
    cutPeers("add");
    let r: Awaited<ReturnType<typeof apply>>;
    try {
      const renewed = await dkAsync(["certs", "renew", "all", "--dir", dir], { cwd: work });
      expect(renewed.status, renewed.stderr).toBe(0);
      r = await apply();
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`error: etcd: failed on ${h1.name}: `);
      // Members 2 and 3 in either order: the one that leads goes last.
      expect(
        [`stopped there: ${h2.name}, ${h3.name} not touched`, `stopped there: ${h3.name}, ${h2.name} not touched`].some((l) => r.stderr.includes(l)),
        r.stderr,
      ).toBe(true);
      expect(r.stderr).toMatch(/hint: fix .*, then run `apply` again/);
      expect(r.stderr).toContain(`[${h2.name}] not touched (the etcd roll stopped before it)`);
      // Members 2 and 3 were never restarted, and hold quorum: writes through them succeed.
      expect([pid(h2), pid(h3)]).toEqual([pids[1], pids[2]]);
      const put = await etcdctl(h2, [h2, h3], "put", "/dk/after-stop", "kept");
      expect(put.status, put.stderr).toBe(0);
      expect((await etcdctl(h3, [h3], "get", "/dk/after-stop", "--print-value-only")).stdout.trim()).toBe("kept");
    } finally {
      cutPeers("del");
    }
    // Once member 1 can reach its peers again, the next apply goes on from where the roll stopped.
    const resumed = await apply();
    expect(resumed.status, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    expect(hosts.map(pid).filter((p, i) => p === pids[i])).toEqual([]);
    const health = await etcdctl(h1, [h1], "endpoint", "health", "--cluster");
    expect(`${health.stdout}${health.stderr}`.match(/is healthy/g), health.stderr).toHaveLength(3);
  }, 400_000);
  it("--until preflight with a host marked reset removes no member and resets nothing (a check, nothing more)", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const [before, pids] = [await members(h1), [pid(h1), pid(h2), pid(h3)]];
    writeFile([h1, h2, h3], [h3]);
    const r = await dkAsync(["apply", "-f", join(work, "cluster.yaml"), "--dir", dir, "--until", "preflight"], { cwd: work });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`etcd: not in this run's range: ${h3.name} is not removed or reset`);
    expect(r.stdout).not.toContain("removing member");
    expect(await members(h1)).toEqual(before);
    expect([pid(h1), pid(h2), pid(h3)]).toEqual(pids);
    // The dry run says what a run with the etcd phase would do, as comments.
    // (--until etcd: the mirror serves etcd only, and the trusted table has no Kubernetes binaries to check.)
    const dry = await dkAsync(["apply", "-f", join(work, "cluster.yaml"), "--dir", dir, "--until", "etcd", "--dry-run"], { cwd: work });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`#   remove member ${h3.name}: member remove through a started member, then reset the host`);
  }, 300_000);

  it("with every member down, refuses to remove and reset a member: its data stays; the next apply brings them back", async () => {
    const hosts = cluster.hosts.slice(0, 3) as [ClusterHost, ClusterHost, ClusterHost];
    const [h1, h2, h3] = hosts;
    const ids = (await members(h1)).map((m) => m.id).sort();
    for (const h of hosts) execFileSync("pkill", ["-9", "-u", String(h.uid), "-x", "etcd"]);
    await eventually(async () => hosts.every((h) => !alive(h)), "every member is down");
    writeFile(hosts, [h3]);
    const r = await apply();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toContain(`error: etcd: no member answers, so no membership change is made (remove and reset ${h3.name})`);
    expect(r.stderr).toContain("etcd restore");
    expect(existsSync(join(h3.remoteRoot, "var/lib/etcd/member/snap/db")), "host 3's data").toBe(true);
    expect(hosts.filter(alive)).toEqual([]);
    writeFile(hosts);
    const back = await apply();
    expect(back.status, `${back.stdout}\n${back.stderr}`).toBe(0);
    expect(back.stdout).toContain(`etcd: no member answers: the recorded members (${h1.name}, ${h2.name}, ${h3.name}) start again with their data and IDs`);
    expect((await members(h1)).map((m) => m.id).sort()).toEqual(ids);
    expect((await etcdctl(h3, [h3], "get", "/dk/answer", "--print-value-only")).stdout.trim()).toBe("42");
  }, 300_000);

  it("starts a member that was added but never started (a run killed after member add), found by its peer URL", async () => {
    const [h1, h2, h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const h4 = cluster.hosts[3] ?? (await cluster.addHost());
    const pids = [pid(h1), pid(h2), pid(h3)];
    // What a run killed between `member add --learner` and the start leaves: a learner with no name, not started.
    // etcd refuses a change for a few seconds after a member (re)connects ("unhealthy cluster"): asked until it takes it.
    await eventually(
      async () => (await etcdctl(h1, [h1], "member", "add", h4.name, `--peer-urls=https://${h4.ip}:2380`, "--learner")).status === 0,
      "member add --learner",
    );
    writeFile([h1, h2, h3, h4]);
    const r = await apply();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`etcd: member ${h4.name} was added \\([0-9a-f]+\\) but never started: starting it, then promoting it`));
    const list = await etcdctl(h1, [h1], "member", "list", "-w", "simple");
    expect(
      list.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(", "))
        .map(([, status, name, , , learner]) => [name, status, learner])
        .sort(),
    ).toEqual([h1, h2, h3, h4].map((h) => [h.name, "started", "false"]).sort());
    expect([pid(h1), pid(h2), pid(h3)]).toEqual(pids);
    expect((await etcdctl(h4, [h4], "get", "/dk/answer", "--print-value-only")).stdout.trim()).toBe("42");
  }, 300_000);
  it("removes a dead controller's member (reset: true, SSH unreachable) through a healthy one, only with --forget-unreachable", async () => {
    const [h1, h2, h3, h4] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost, ClusterHost];
    const pids = [pid(h1), pid(h2), pid(h3)];
    cluster.cut(h4);
    try {
      writeFile([h1, h2, h3, h4], [h4]);
      const refused = await apply();
      expect(refused.status, `${refused.stdout}\n${refused.stderr}`).toBe(1);
      expect(refused.stderr).toContain(`error: could not connect to every host, nothing was changed: ${h4.ip}`);
      expect(refused.stderr).toContain("`apply --forget-unreachable` removes its member through a healthy one");
      expect((await members(h1)).map((m) => m.name).sort()).toEqual([h1, h2, h3, h4].map((h) => h.name).sort());
      const r = await apply("--forget-unreachable");
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`etcd: ${h4.name} removed; it cannot be reached, so its files stay on it`);
      expect((await members(h1)).map((m) => m.name).sort()).toEqual([h1, h2, h3].map((h) => h.name).sort());
      const health = await etcdctl(h1, [h1], "endpoint", "health", "--cluster");
      expect(`${health.stdout}${health.stderr}`.match(/is healthy/g), health.stderr).toHaveLength(3);
      expect([pid(h1), pid(h2), pid(h3)]).toEqual(pids);
      // Nothing could be cleaned on the dead machine: its data is still there.
      expect(existsSync(join(h4.remoteRoot, "var/lib/etcd/member/snap/db"))).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, "apply-record.json"), "utf8")).started[h4.name]).toBeUndefined();
    } finally {
      cluster.restore(h4);
    }
  }, 300_000);
});
