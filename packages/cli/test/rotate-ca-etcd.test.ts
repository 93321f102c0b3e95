// certs rotate-ca etcd on three network-namespace hosts with real sshd and etcd (3.6.17, the release table's for
// Kubernetes 1.35/1.36, built from etcd's modules by test-support/built-peers.ts), while a client loop writes and reads
// through every member: the three phases, a run killed in phase 2 and resumed, and what trusts what at the end.
import { execFileSync, spawn } from "node:child_process";
import { type KeyObject, X509Certificate, createPublicKey } from "node:crypto";
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mirror, etcdMirrorFiles, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { etcdClientLoop, loopReport, outage } from "../../../test-support/etcd-client-loop.js";
import { sampleMembers } from "../../../test-support/etcd-sampler.js";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { CLI, dkAsync, runAsync, tempDir } from "../../../test-support/peers.js";
import { type ClusterHost, type TestCluster, clusterFileFor, startTestCluster } from "../../../test-support/test-cluster.js";

const ETCD = RELEASES[1]!.etcd;

describe("certs rotate-ca etcd on network-namespace hosts", () => {
  const work = tempDir("dk-rotate-");
  const dir = join(work, "cluster");
  let cluster: TestCluster;
  let mirror: Mirror;
  let hosts: [ClusterHost, ClusterHost, ClusterHost];
  const file = () => join(work, "cluster.yaml");

  /** etcdctl from this machine with a client certificate, a CA file and some members. */
  const etcdctl = (tls: { ca: string; cert: string; key: string }, endpoints: ClusterHost[], ...args: string[]) =>
    runAsync(
      etcdctlOf(ETCD).path,
      [
        `--endpoints=${endpoints.map((h) => `https://${h.ip}:2379`).join(",")}`,
        `--cacert=${tls.ca}`,
        `--cert=${tls.cert}`,
        `--key=${tls.key}`,
        "--command-timeout=5s",
        ...args,
      ],
      { env: etcdctlOf(ETCD).env },
    );
  /** The health-check client of h1's folder, as the folder holds it now (a real client reloads its files on each call). */
  const folderClient = () => {
    const pki = join(dir, "nodes", hosts[0].name, "pki", "etcd");
    return { ca: join(pki, "ca.crt"), cert: join(pki, "healthcheck-client.crt"), key: join(pki, "healthcheck-client.key") };
  };
  const pid = (h: ClusterHost) => execFileSync("pgrep", ["-u", String(h.uid), "-x", "etcd"], { encoding: "utf8" }).trim();
  const pidOrNone = (h: ClusterHost) => {
    try {
      return pid(h);
    } catch {
      return "";
    }
  };

  /**
   * The folder's client as a real client reloads it: the CA bundle, certificate and key read afresh, and a pair that does
   * not match (read while a commit renames the two files: they are two files, swapped within the same instant) read
   * again, as client-go's certificate reloading keeps what it had until the pair matches. Each torn read is counted.
   */
  const reload = async (seen: { tornReads: number }) => {
    const c = folderClient();
    for (let i = 0; ; i++) {
      const [ca, cert, key] = [readFileSync(c.ca, "utf8"), readFileSync(c.cert, "utf8"), readFileSync(c.key, "utf8")];
      const pub = (k: KeyObject) => k.export({ type: "spki", format: "der" }).toString("hex");
      if (pub(new X509Certificate(cert).publicKey) === pub(createPublicKey(key))) {
        const at = join(work, "client");
        writeFileSync(`${at}.ca`, ca);
        writeFileSync(`${at}.crt`, cert);
        writeFileSync(`${at}.key`, key, { mode: 0o600 });
        return { ca: `${at}.ca`, cert: `${at}.crt`, key: `${at}.key` };
      }
      seen.tornReads++;
      if (i >= 50) throw new Error(`${c.cert} and ${c.key} do not match`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  /**
   * Every 100 ms a put then a get of a counter through all three members, with the folder's certificates and CA bundle
   * of the moment (test-support/etcd-client-loop.ts: a request one member drops as it stops is made again at once
   * through the others, none may take more than 5 s), and each member's etcd process sampled every 25 ms
   * (test-support/etcd-sampler.ts).
   */
  const clientLoop = () => {
    const torn = { tornReads: 0 };
    const watch = sampleMembers(hosts);
    const loop = etcdClientLoop(etcdctlOf(ETCD), hosts, () => reload(torn));
    return {
      stop: async () => {
        const seen = await loop.stop();
        const members = await watch.stop();
        console.log(`${loopReport(seen, members)}\n${torn.tornReads} torn reads of the certificate and key read again`);
        return { seen, members };
      },
    };
  };

  /** The certificate a member serves on a port, as PEM (the handshake is made with the folder's current client). */
  const served = async (h: ClusterHost, port: number) => {
    const c = folderClient();
    const r = await runAsync("sh", ["-c", `echo | openssl s_client -connect ${h.ip}:${port} -cert ${c.cert} -key ${c.key} 2>/dev/null | openssl x509`]);
    expect(r.stdout, `${h.name}:${port} ${r.stderr}`).toContain("BEGIN CERTIFICATE");
    const path = join(work, `served-${h.name}-${port}.pem`);
    writeFileSync(path, r.stdout);
    return path;
  };
  const verifies = (ca: string, cert: string) => {
    try {
      execFileSync("openssl", ["verify", "-CAfile", ca, cert], { stdio: "pipe" });
      return true;
    } catch {
      return false;
    }
  };
  /** A member's log (dk_start's, under its remote root), and the first line past `from` characters matching `line`, waited for. */
  const memberLog = (h: ClusterHost) => join(h.remoteRoot, "var", "log", "dk-bootstrap", "etcd.log");
  const logSize = (h: ClusterHost) => readFileSync(memberLog(h), "utf8").length;
  const logged = async (h: ClusterHost, from: number, line: RegExp) => {
    for (let i = 0; i < 150; i++) {
      const found = readFileSync(memberLog(h), "utf8")
        .slice(from)
        .split("\n")
        .find((l) => line.test(l));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${h.name} never logged ${line}: ${readFileSync(memberLog(h), "utf8").slice(from).slice(-2000)}`);
  };
  /** A client refused by a member for its certificate: etcdctl says only that its deadline passed, the member's log says why. */
  const refusedForItsCa = async (h: ClusterHost, client: { ca: string; cert: string; key: string }) => {
    const from = logSize(h);
    const r = await etcdctl(client, [h], "get", "/dk/counter");
    expect(r.status, `${h.name}: ${r.stdout}`).toBe(1);
    expect(r.stdout).toBe("");
    // etcd 3.6's JSON line: {"msg":"rejected connection on client endpoint",...,"error":"tls: failed to verify certificate: x509: certificate signed by unknown authority ..."}.
    expect(
      await logged(
        h,
        from,
        /"msg":"rejected connection on client endpoint".*"error":"tls: failed to verify certificate: x509: certificate signed by unknown authority/,
      ),
    ).toBeTruthy();
  };
  const rotation = () => JSON.parse(readFileSync(join(dir, "pki", "rotation", "state.json"), "utf8")) as { phase: number; rolledOut: boolean; archive: string };

  /** Runs `certs rotate-ca etcd` and kills it with SIGKILL once a member has restarted in phase 2's rollout. */
  const killInPhase2 = async () => {
    const run = spawn(process.execPath, [CLI, "certs", "rotate-ca", "etcd", "-f", file(), "--dir", dir], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    run.stdout.on("data", (d) => (out += d));
    run.stderr.on("data", (d) => (out += d));
    const exited = new Promise<NodeJS.Signals | null>((r) => run.on("close", (_code, signal) => r(signal)));
    let phase2Pids: string[] | undefined;
    for (let i = 0; i < 3000 && run.exitCode === null && run.signalCode === null; i++) {
      if (!phase2Pids && /phase 2\/3 .*rolling out: apply/.test(out)) phase2Pids = hosts.map(pidOrNone);
      if (phase2Pids && hosts.some((h, j) => pidOrNone(h) !== "" && pidOrNone(h) !== phase2Pids![j])) {
        run.kill("SIGKILL");
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await exited, out).toBe("SIGKILL");
    expect(rotation()).toMatchObject({ phase: 2, rolledOut: false });
  };

  beforeAll(async () => {
    cluster = await startTestCluster(work, 3);
    hosts = cluster.hosts.slice(0, 3) as [ClusterHost, ClusterHost, ClusterHost];
    mirror = await startMirror(cluster.hostIp, etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
    writeFileSync(file(), clusterFileFor(cluster, hosts, { name: "rotate-test", mirror: mirror.url, checksums: mirror.checksums(), etcd: ETCD }));
    const r = await dkAsync(["apply", "-f", file(), "--dir", dir, "--until", "etcd"], { cwd: work });
    if (r.status !== 0) throw new Error(`apply failed: ${r.stdout}\n${r.stderr}`);
  }, 300_000);
  afterAll(async () => {
    await mirror?.close();
    await cluster?.stop();
  });

  it("rotates through three phases, resumes after a kill in phase 2, with no failed request; then only the new CA is trusted", async () => {
    // A client of the old CA, kept aside before the rotation: it must be refused at the end.
    const before = folderClient();
    const old = { ca: join(work, "old-ca.crt"), cert: join(work, "old-client.crt"), key: join(work, "old-client.key") };
    copyFileSync(before.ca, old.ca);
    copyFileSync(before.cert, old.cert);
    copyFileSync(before.key, old.key);
    expect((await etcdctl(old, hosts, "get", "/dk/none")).status).toBe(0);

    const loop = clientLoop();
    // Run 1: killed with SIGKILL once a member has restarted in phase 2.
    await killInPhase2();
    expect(rotation()).toMatchObject({ phase: 2, rolledOut: false });
    const status = await dkAsync(["status", "-f", file(), "--dir", dir], { cwd: work });
    expect(status.stdout, status.stderr).toMatch(/^rotation: etcd CA rotation to a new CA: phase 2\/3 .*rolling out$/m);
    expect(status.stdout).toMatch(/^rotation: the etcd CA's phase 1 reached this node on /m);

    // Run 2: resumes where run 1 stopped, and completes.
    const second = await dkAsync(["certs", "rotate-ca", "etcd", "-f", file(), "--dir", dir], { cwd: work });
    const { seen, members } = await loop.stop();
    expect(second.status, `${second.stdout}\n${second.stderr}`).toBe(0);
    expect(second.stdout).toMatch(/resuming: etcd CA rotation to a new CA: phase 2\/3/);
    expect(second.stdout).not.toMatch(/re-issued:/);
    // Every member restarted in each phase's rollout (at least three times: the killed run's restart may come on top).
    for (const n of members.restarts) expect(n).toBeGreaterThanOrEqual(3);
    expect(outage(seen, members)).toEqual([]);
    expect(rotation()).toMatchObject({ phase: 3, rolledOut: true });

    // The old CA's key is kept 0600 in a 0700 folder; the new CA is the one every copy holds, alone.
    const archive = join(dir, rotation().archive);
    expect(statSync(archive).mode & 0o777).toBe(0o700);
    expect(statSync(join(archive, "old.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(archive, "old.crt"), "utf8")).toBe(readFileSync(old.ca, "utf8"));
    const newCa = join(archive, "new.crt");
    expect(readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8")).toBe(readFileSync(newCa, "utf8"));
    for (const h of hosts) {
      const pki = join(dir, "nodes", h.name, "pki");
      expect(readFileSync(join(pki, "etcd", "ca.crt"), "utf8")).toBe(readFileSync(newCa, "utf8"));
      expect(readFileSync(join(h.remoteRoot, "etc/kubernetes/pki/etcd/ca.crt"), "utf8")).toBe(readFileSync(newCa, "utf8"));
      expect(JSON.parse(readFileSync(join(h.remoteRoot, "etc/kubernetes/pki/ca-rotation.json"), "utf8"))).toMatchObject({ name: "etcd", phase: 3 });
      // Every leaf of the etcd CA, in the folder and on the node: signed by the new CA, not by the old.
      for (const leaf of ["etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"]) {
        expect(verifies(newCa, join(pki, `${leaf}.crt`)), `${h.name} ${leaf}`).toBe(true);
        expect(verifies(old.ca, join(pki, `${leaf}.crt`)), `${h.name} ${leaf}`).toBe(false);
      }
      // What each member serves, to clients and to peers.
      for (const port of [2379, 2380]) {
        const cert = await served(h, port);
        expect(verifies(newCa, cert), `${h.name}:${port}`).toBe(true);
        expect(verifies(old.ca, cert), `${h.name}:${port}`).toBe(false);
      }
    }
    // A client certificate of the old CA is refused by every member; the folder's client is served.
    for (const h of hosts) {
      await refusedForItsCa(h, { ...old, ca: newCa });
      const served = await etcdctl(folderClient(), [h], "get", "/dk/counter", "--print-value-only");
      expect(served.stdout.trim(), served.stderr).toBe(String(seen.rounds));
    }
    // The archive holds this one rotation.
    expect(readdirSync(join(dir, "pki", "rotation")).filter((n) => n.startsWith("etcd-ca-"))).toHaveLength(1);
  }, 900_000);

  it("--abort after a kill in phase 2 goes back to the CA of before, with no failed request: the abandoned CA's clients are refused", async () => {
    const before = readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8");
    const beforeClient = { ca: join(work, "before-ca.crt"), cert: join(work, "before-client.crt"), key: join(work, "before-client.key") };
    copyFileSync(folderClient().ca, beforeClient.ca);
    copyFileSync(folderClient().cert, beforeClient.cert);
    copyFileSync(folderClient().key, beforeClient.key);
    const loop = clientLoop();
    await killInPhase2();
    const abandoned = join(dir, rotation().archive, "new.crt");
    // A client of the abandoned CA, as phase 2 made it: refused once the abort is done.
    const phase2Client = { ca: join(work, "phase2-ca.crt"), cert: join(work, "phase2-client.crt"), key: join(work, "phase2-client.key") };
    copyFileSync(folderClient().ca, phase2Client.ca);
    copyFileSync(folderClient().cert, phase2Client.cert);
    copyFileSync(folderClient().key, phase2Client.key);
    expect(verifies(abandoned, phase2Client.cert)).toBe(true);
    const r = await dkAsync(["certs", "rotate-ca", "etcd", "-f", file(), "--dir", dir, "--abort"], { cwd: work });
    const { seen, members } = await loop.stop();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/aborting: back to the old etcd CA; re-issued by it: /);
    expect(r.stdout).toMatch(/etcd CA rotation aborted/);
    for (const n of members.restarts) expect(n).toBeGreaterThanOrEqual(1);
    expect(outage(seen, members)).toEqual([]);
    expect(rotation()).toMatchObject({ phase: 3, rolledOut: true, aborting: true });
    expect(readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8")).toBe(before);
    for (const h of hosts) {
      expect(readFileSync(join(h.remoteRoot, "etc/kubernetes/pki/etcd/ca.crt"), "utf8"), h.name).toBe(before);
      for (const leaf of ["etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"])
        expect(verifies(beforeClient.ca, join(dir, "nodes", h.name, "pki", `${leaf}.crt`)), `${h.name} ${leaf}`).toBe(true);
      const cert = await served(h, 2379);
      expect(verifies(beforeClient.ca, cert), h.name).toBe(true);
      expect(verifies(abandoned, cert), h.name).toBe(false);
      await refusedForItsCa(h, { ...phase2Client, ca: beforeClient.ca });
      // The CA of before never left: a client certificate it signed before the attempt is still served.
      expect((await etcdctl(beforeClient, [h], "get", "/dk/counter", "--print-value-only")).stdout.trim()).toBe(String(seen.rounds));
    }
  }, 900_000);
});
