// The multi-host test infrastructure itself (test-support/test-cluster.ts): hosts that reach each other and this
// machine, a link cut and restored, a host added later, and nothing left behind.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { type Server, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { peer, run, runAsync, tempDir } from "../../../test-support/peers.js";
import { type ClusterHost, type TestCluster, startTestCluster } from "../../../test-support/test-cluster.js";

/** Runs a command on the host over SSH, with the cluster's key and known_hosts only (an unknown key fails). */
const ssh = (cluster: TestCluster, host: ClusterHost, command: string) =>
  run(peer("ssh"), [
    "-i",
    host.keyFile,
    "-o",
    `UserKnownHostsFile=${cluster.knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=30",
    `${host.user}@${host.ip}`,
    command,
  ]);

// A process left running when the SSH session ends, as dk-bootstrap leaves etcd; "started" once it is sleep.
const DAEMON = `sleep 600 </dev/null >/dev/null 2>&1 & until [ "$(cat /proc/$!/comm)" = sleep ]; do :; done; echo started`;

// Connects from inside `from`'s network namespace and prints the first bytes received; exits 1 when it cannot.
const CLIENT = `const s = require("net").connect(+process.argv[2], process.argv[1]);
s.setTimeout(3000, () => { console.error("timed out"); process.exit(1); });
s.once("data", (d) => { process.stdout.write(d.toString().split("\\n")[0]); process.exit(0); });
s.once("error", (e) => { console.error(e.message); process.exit(1); });`;
const tcpFrom = (from: ClusterHost, address: string, port: number) =>
  runAsync("ip", ["netns", "exec", from.netns, process.execPath, "-e", CLIENT, address, String(port)]);
const SERVER = `require("net").createServer((s) => s.end("hello from host 3\\n")).listen(2379, process.argv[1], () => console.log("listening"));`;

describe("a test cluster of network-namespace hosts on one switch", () => {
  const work = tempDir();
  let cluster: TestCluster;
  let stopped = false;
  let greeter: Server;
  let server: ChildProcess;
  const greeterPort = () => (greeter.address() as { port: number }).port;

  beforeAll(async () => {
    cluster = await startTestCluster(work, 3);
    // Where a mirror would listen: this machine, at the address the hosts see.
    greeter = createServer((s) => s.end("hello from this machine\n"));
    await new Promise<void>((r) => greeter.listen(0, cluster.hostIp, r));
  });
  afterAll(async () => {
    greeter?.close();
    if (!stopped) await cluster?.stop();
  });

  it("gives each host its own address, user, name and processes, reached over SSH with the cluster's key", () => {
    expect(cluster.hosts.map((h) => h.index)).toEqual([1, 2, 3]);
    expect(new Set(cluster.hosts.map((h) => h.ip)).size).toBe(3);
    expect(new Set(cluster.hosts.map((h) => h.uid)).size).toBe(3);
    for (const host of cluster.hosts) {
      expect(host.hostKeyLine.startsWith(`${host.ip} ssh-ed25519 `)).toBe(true);
      const r = ssh(cluster, host, "id -un; hostname; ip -o -4 addr show dev eth0; cat /proc/1/comm");
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const [user, name, addr, init] = r.stdout.split("\n");
      expect(user).toBe(host.user);
      expect(name).toBe(host.name);
      expect(addr).toContain(`inet ${host.ip}/24`);
      // Its own PID namespace: PID 1 is the host's init, not this machine's.
      expect(init).toBe("bash");
      // A daemon left running by the SSH session, as dk-bootstrap leaves etcd: stop() must end it.
      expect(ssh(cluster, host, DAEMON).stdout).toBe("started\n");
      expect(run("pgrep", ["-u", String(host.uid), "-x", "sleep"]).status).toBe(0);
      expect(readFileSync(`/proc/${run("pgrep", ["-u", String(host.uid), "-x", "sleep"]).stdout.trim()}/status`, "utf8")).toMatch(
        new RegExp(`^Uid:\\s+${host.uid}\\s`, "m"),
      );
    }
    // A host's processes are its own: host 1 does not see host 2's sleep.
    expect(ssh(cluster, cluster.hosts[0]!, "pgrep -c -x sleep").stdout).toBe("1\n");
  });

  it("lets host 1 reach a TCP server on host 3, and every host reach this machine", async () => {
    const [h1, , h3] = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    // An etcd stand-in on host 3's address, left running for stop() to end.
    server = spawn("ip", ["netns", "exec", h3.netns, process.execPath, "-e", SERVER, h3.ip], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((resolve, reject) => {
      server.stdout!.once("data", resolve);
      server.once("exit", reject);
    });
    expect((await tcpFrom(h1, h3.ip, 2379)).stdout).toBe("hello from host 3");
    for (const host of cluster.hosts) expect((await tcpFrom(host, cluster.hostIp, greeterPort())).stdout).toBe("hello from this machine");
  });

  it("cuts host 2 off from host 1 and brings it back", async () => {
    const [h1, h2] = cluster.hosts as [ClusterHost, ClusterHost];
    expect((await tcpFrom(h1, h2.ip, 22)).stdout).toMatch(/^SSH-2\.0-/);
    cluster.cut(h2);
    expect((await tcpFrom(h1, h2.ip, 22)).status).toBe(1);
    expect((await tcpFrom(h2, cluster.hostIp, greeterPort())).status).toBe(1);
    // The others still reach each other.
    expect((await tcpFrom(h1, cluster.hosts[2]!.ip, 22)).stdout).toMatch(/^SSH-2\.0-/);
    cluster.restore(h2);
    let back = await tcpFrom(h1, h2.ip, 22);
    for (let i = 0; i < 30 && back.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      back = await tcpFrom(h1, h2.ip, 22);
    }
    expect(back.stdout).toMatch(/^SSH-2\.0-/);
  });

  it("adds a fourth host on the same switch", async () => {
    const h4 = await cluster.addHost();
    expect(h4.index).toBe(4);
    expect(cluster.hosts).toHaveLength(4);
    const r = ssh(cluster, h4, `id -un; hostname; ${DAEMON}`);
    expect(r.stdout).toBe(`${h4.user}\n${h4.name}\nstarted\n`);
    expect((await tcpFrom(h4, cluster.hosts[0]!.ip, 22)).stdout).toMatch(/^SSH-2\.0-/);
    expect((await tcpFrom(cluster.hosts[0]!, h4.ip, 22)).stdout).toMatch(/^SSH-2\.0-/);
    expect((await tcpFrom(h4, cluster.hostIp, greeterPort())).stdout).toBe("hello from this machine");
  });

  it("stop() leaves no namespace, link, user, process or folder behind", async () => {
    const hosts = [...cluster.hosts];
    const names = [cluster.name, ...hosts.map((h) => h.name)];
    const alive = () => hosts.filter((h) => run("pgrep", ["-u", String(h.uid)]).status === 0);
    expect(alive()).toHaveLength(hosts.length);
    expect(server.exitCode).toBe(null);
    const serverEnded = new Promise((r) => server.once("exit", (_code, signal) => r(signal)));
    expect(run("ip", ["netns", "list"]).stdout).toContain(cluster.name);
    await cluster.stop();
    stopped = true;
    const netns = run("ip", ["netns", "list"])
      .stdout.split("\n")
      .map((l) => l.split(" ")[0]);
    const links = run("ip", ["-o", "link", "show"]).stdout;
    const users = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .map((l) => l.split(":")[0]);
    for (const name of names) {
      expect(netns).not.toContain(name);
      expect(links).not.toContain(`: ${name}@`);
      expect(users).not.toContain(name);
    }
    expect(alive()).toEqual([]);
    expect(await serverEnded).toBe("SIGKILL");
    expect(existsSync(`${work}/${cluster.name}`)).toBe(false);
    expect(existsSync(`/run/dk-test-clusters/${cluster.name}`)).toBe(false);
  });
});

describe("test clusters of runs that were killed", () => {
  const work = tempDir();

  it("end with their owner, and the next run removes their namespaces, links, users and records", async () => {
    // A real run in a process of its own, killed once its cluster is up. peers.ts imports vitest, which a plain
    // node process does not have: a stub stands in for it.
    const script = join(work, "child.mjs");
    await build({
      stdin: {
        contents: `import { startTestCluster } from "./test-cluster.ts";
          const c = await startTestCluster(process.argv[2], 2);
          console.log(JSON.stringify({ name: c.name, hosts: c.hosts.map((h) => ({ name: h.name, uid: h.uid })) }));
          setInterval(() => {}, 1 << 30);`,
        resolveDir: join(import.meta.dirname, "..", "..", "..", "test-support"),
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: script,
      logLevel: "silent",
      plugins: [
        { name: "no-vitest", setup: (b) => b.onResolve({ filter: /^vitest$/ }, () => ({ path: "vitest", namespace: "stub" })) },
        { name: "stub", setup: (b) => b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export const afterAll = () => {};" })) },
      ],
    });
    const child = spawn(process.execPath, [script, work], { stdio: ["ignore", "pipe", "inherit"] });
    const started = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve(out);
      });
      child.once("exit", (code) => reject(new Error(`the child run exited ${code} before its cluster was up`)));
    });
    const killed: { name: string; hosts: { name: string; uid: number }[] } = JSON.parse(started);
    expect(killed.hosts).toHaveLength(2);
    expect(run("ip", ["netns", "pids", killed.hosts[0]!.name]).stdout).not.toBe("");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    // Its hosts' processes end with it (their init dies with the unshare that dies with it), before any sweep.
    const running = () => killed.hosts.filter((h) => run("ip", ["netns", "pids", h.name]).stdout !== "").map((h) => h.name);
    for (let i = 0; i < 100 && running().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(running()).toEqual([]);
    // Leftovers of an earlier process that had this PID: a record whose start time is not this process's.
    const reused = `dkc${process.pid.toString(36)}-99`;
    expect(run("ip", ["netns", "add", reused]).status).toBe(0);
    writeFileSync(`/run/dk-test-clusters/${reused}`, "1\n");

    const cluster = await startTestCluster(work, 1);
    try {
      const netns = run("ip", ["netns", "list"])
        .stdout.split("\n")
        .map((l) => l.split(" ")[0]);
      const users = readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .map((l) => l.split(":")[0]);
      for (const name of [killed.name, reused, ...killed.hosts.map((h) => h.name)]) {
        expect(netns).not.toContain(name);
        expect(users).not.toContain(name);
        expect(existsSync(`/run/dk-test-clusters/${name}`)).toBe(false);
      }
      expect(run("ip", ["link", "show", killed.name]).status).not.toBe(0);
      // This run's own cluster is untouched by the sweep.
      expect(netns).toContain(cluster.name);
      expect(netns).toContain(cluster.hosts[0]!.name);
    } finally {
      await cluster.stop();
    }
  });
});
