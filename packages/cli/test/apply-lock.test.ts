// `apply -f` and the cluster folder: the folder's lock is held from the PKI step to the end of the run, as `ssh` holds it
// (node-lock.test.ts), so that a `certs --force` started meanwhile waits instead of replacing the PKI halfway through the
// upload; and a run that fails before it writes leaves no folder behind. The runs are held at a known point: the test
// mirror answers a host's etcd tarball only when the test opens that host's gate.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { lockFolder } from "@dk-bootstrap/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdMirrorFiles, mirrorBuffers, trustedChecksums } from "../../../test-support/mirror.js";
import { background, until } from "../../../test-support/background.js";
import { dkAsync, tempDir } from "../../../test-support/peers.js";
import { type ClusterHost, type TestCluster, clusterFileFor, startTestCluster } from "../../../test-support/test-cluster.js";

/** Kubernetes 1.36's etcd (the release table), built from etcd's modules by test-support/built-peers.ts. */
const ETCD = "3.6.17";
/** A patch below ETCD: what a second run, started while the first one held the folder, asks for (refused before any download: the mirror does not serve it). */
const OLDER_ETCD = "3.6.16";

describe("apply -f and its cluster folder", () => {
  const work = tempDir("dk-apply-lock-");
  let cluster: TestCluster;
  const files = mirrorBuffers(etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
  /** The test built these files: it plays the upstream whose checksums the product trusts. */
  const checksums = trustedChecksums(join(work, "trusted.sha256"), files);
  /** Hosts (by address) that asked for the etcd tarball, and the gates that let the mirror answer them. */
  const asked = new Set<string>();
  const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
  const gate = (ip: string) => {
    if (!gates.has(ip)) {
      let open: () => void = () => undefined;
      const opened = new Promise<void>((r) => (open = r));
      gates.set(ip, { open, opened });
    }
    return gates.get(ip)!;
  };
  /** Every path the mirror was asked for. */
  const urls: string[] = [];
  const server = createServer((req, res) => {
    urls.push(req.url ?? "");
    const body = files.get(req.url ?? "");
    if (!body) return void res.writeHead(404).end();
    const send = () => res.writeHead(200, { "content-length": body.length }).end(body);
    if (!req.url!.endsWith(".tar.gz")) return send();
    const client = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    asked.add(client);
    void gate(client).opened.then(send);
  });
  let mirror = "";
  const clusterFile = (name: string, hosts: ClusterHost[], etcd = ETCD) => {
    const file = join(work, etcd === ETCD ? `${name}.yaml` : `${name}-${etcd}.yaml`);
    writeFileSync(file, clusterFileFor(cluster, hosts, { name, mirror, checksums, etcd }));
    return file;
  };

  /** An apply of one host started in the background and held past the PKI step: its host waits for the etcd tarball. */
  const heldAtEtcd = async (name: string, host: ClusterHost, dir: string) => {
    const run = background(["apply", "-f", clusterFile(name, [host]), "--dir", dir, "--until", "etcd"], work);
    await until("the host to ask for the etcd tarball", () => asked.has(host.ip) || run.out.ended);
    expect(asked.has(host.ip), run.out.stdout + run.out.stderr).toBe(true);
    return run;
  };

  beforeAll(async () => {
    cluster = await startTestCluster(work, 3);
    await new Promise<void>((r) => server.listen(0, cluster.hostIp, r));
    mirror = `http://${cluster.hostIp}:${(server.address() as { port: number }).port}`;
  }, 120_000);
  afterAll(async () => {
    for (const g of gates.values()) g.open();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await cluster?.stop();
  });

  it("certs --force waits for the run's end: the host gets the PKI the run made, whole", async () => {
    const h1 = cluster.hosts[0]!;
    const dir = join(work, "one");
    const run = await heldAtEtcd("lock-one", h1, dir);
    const made = readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8");
    const owner = JSON.parse(readFileSync(join(dir, ".dk-bootstrap.lock"), "utf8")) as { pid: number; command: string };
    expect(owner.pid).toBe(run.pid);
    expect(owner.command).toMatch(/^dk-bootstrap apply /);

    const force = background(["certs", "--force", "--dir", dir, "--key-algo", "ecdsa"], work);
    await until("certs --force to say it waits", () => force.out.stderr.includes("is in use by") || force.out.ended);
    expect(force.out.stderr).toContain(`${dir} is in use by PID ${run.pid} (dk-bootstrap apply `);
    // Still waiting: nothing of the folder replaced while the run uploads from it.
    expect(readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8")).toBe(made);
    gate(h1.ip).open();
    expect(await run.done, run.out.stderr + run.out.stdout).toEqual({ code: 0, signal: null });
    expect(readFileSync(join(h1.remoteRoot, "etc", "kubernetes", "pki", "etcd", "ca.crt"), "utf8")).toBe(made);
    // Then it goes on (or gives up after its 30 s): either way, only after the run has ended.
    const forced = await force.done;
    if (forced.code === 0) expect(readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8")).not.toBe(made);
    else expect(force.out.stderr).toMatch(/^error: .* is in use by PID \d+ \(dk-bootstrap apply /m);
  }, 300_000);

  it("a run stopped by Ctrl-C holds the folder no longer: the next command goes on at once", async () => {
    const h2 = cluster.hosts[1]!;
    const dir = join(work, "two");
    const run = await heldAtEtcd("lock-two", h2, dir);
    expect(JSON.parse(readFileSync(join(dir, ".dk-bootstrap.lock"), "utf8")).pid).toBe(run.pid);
    process.kill(run.pid, "SIGINT");
    expect(await run.done).toEqual({ code: null, signal: "SIGINT" });
    const next = await dkAsync(["certs", "--dir", dir, "--key-algo", "ecdsa"], { cwd: work });
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).not.toContain("is in use by");
    expect(next.stderr).toContain(`took over the lock of PID ${run.pid} (dk-bootstrap apply `);
  }, 300_000);

  it("a run that waited for the folder checks the versions again: it does not undo the versions applied meanwhile", async () => {
    const h3 = cluster.hosts[2]!;
    const dir = join(work, "race");
    gate(h3.ip).open();
    const first = await dkAsync(["apply", "-f", clusterFile("race", [h3]), "--dir", dir, "--until", "etcd"], { cwd: work });
    expect(first.status, first.stderr).toBe(0);
    // The interleaving of two runs, made by hand: the second run passes its early check while the folder is held and
    // holds no record yet; the record of the run that held the folder is there when the second run gets the folder.
    const record = join(dir, "apply-record.json");
    const held = await lockFolder(dir, { command: "the test, as another run" });
    renameSync(record, `${record}.aside`);
    const second = background(["apply", "-f", clusterFile("race", [h3], OLDER_ETCD), "--dir", dir, "--until", "etcd"], work);
    await until("the second run to wait for the folder", () => second.out.stderr.includes("is in use by") || second.out.ended);
    expect(second.out.ended, second.out.stderr).toBe(false);
    renameSync(`${record}.aside`, record);
    await held.release();
    expect(await second.done, second.out.stderr + second.out.stdout).toEqual({ code: 1, signal: null });
    expect(second.out.stderr).toMatch(new RegExp(`^error: etcd ${ETCD} -> ${OLDER_ETCD} is a downgrade: refused \\(--force allows a patch downgrade\\)$`, "m"));
    expect((JSON.parse(readFileSync(record, "utf8")) as { versions: { etcd: string } }).versions.etcd).toBe(ETCD);
    expect(urls.filter((u) => u.includes(`v${OLDER_ETCD}/`))).toEqual([]);
  }, 300_000);

  it("leaves no folder when it fails before writing: an unreachable host, a refused host key, a PKI it cannot make", async () => {
    const h1 = cluster.hosts[0]!;
    const dir = join(work, "never", "cluster");
    const unreachable = join(work, "unreachable.yaml");
    writeFileSync(
      unreachable,
      clusterFileFor(cluster, [h1], { name: "never", mirror, checksums, etcd: ETCD }).replace(
        /^ {4}- \{ ssh: \{ address: [^,]+,/m,
        "    - { ssh: { address: 127.0.0.1, port: 1,",
      ),
    );
    const refused = await dkAsync(["apply", "-f", unreachable, "--dir", dir], { cwd: work });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^error: could not connect to every host, nothing was changed: 127\.0\.0\.1: /m);
    expect(existsSync(join(work, "never"))).toBe(false);

    const empty = join(work, "empty_known_hosts");
    writeFileSync(empty, "");
    const unknownKey = await dkAsync(["apply", "-f", clusterFile("never", [h1]), "--dir", dir, "--known-hosts", empty], { cwd: work });
    expect(unknownKey.status).toBe(1);
    expect(unknownKey.stderr).toMatch(new RegExp(`^error: could not connect to every host, nothing was changed: ${h1.ip}: .*unknown host key`, "m"));
    expect(existsSync(join(work, "never"))).toBe(false);

    // Connected, and the folder opened (so made): the PKI step fails, and the folder it made goes again.
    const badKey = join(work, "bad-key.yaml");
    writeFileSync(badKey, readFileSync(join(work, "never.yaml"), "utf8").replace("pki: { keyAlgorithm: ecdsa }", "pki: { keyAlgorithm: ecdsa, keySize: 300 }"));
    const pki = await dkAsync(["apply", "-f", badKey, "--dir", dir, "--until", "etcd"], { cwd: work });
    expect(pki.status).toBe(1);
    expect(pki.stderr).toMatch(/^error: .*ECDSA key size must be 256, 384 or 521/m);
    expect(existsSync(dir)).toBe(false);
  }, 300_000);
});
