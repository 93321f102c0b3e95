import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateClusterPki } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import { type HeldLock, NODE_PORTS_LOCK, holdLock } from "../../../test-support/machine.js";
import { type Mirror, etcdMirrorFiles, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { until } from "../../../test-support/background.js";
import { run, tempDir } from "../../../test-support/peers.js";
import { ChecksumError, LocalTransport, RELEASES, type RunEvent, bootstrap, bundle, nodeSpec, reset } from "../src/index.js";

// Kubernetes 1.36 and the etcd the table pairs with it (3.6.17), built from etcd's modules (test-support/built-peers.ts).
const ROW = RELEASES[1]!;
const VERSION = ROW.etcd;

// This machine is the node, so etcd listens on the plan's own ports (2379, 2380) here. Another run of the suite
// on this machine would want them too: this file holds the node ports' lock from start to end, and the other
// run's waits. (A network namespace of its own would need another transport than the LocalTransport tested here,
// and the mirror and etcdctl inside it too.)
describe("bootstrap up to etcd on this machine (local transport)", () => {
  const work = tempDir();
  const root = join(work, "node");
  const dir = join(work, "cluster");
  let mirror: Mirror;
  const spec = () =>
    nodeSpec({
      dir,
      remoteRoot: root,
      key: { algo: "ecdsa", size: 256 },
      mirror: mirror.url,
      allowHttpMirror: true,
      checksums: mirror.checksums(),
      arch: "amd64",
      versions: { kubernetes: ROW.knownPatch, etcd: VERSION, containerd: "2.1.5", runc: "1.3.4", cni: "1.6.2" },
    });
  const t = new LocalTransport();
  let lock: HeldLock | undefined;
  // Up to 15 minutes: the other run's copy of this file, on a loaded machine, may hold the ports that long.
  beforeAll(async () => {
    lock = await holdLock(NODE_PORTS_LOCK, work);
    mirror = await startMirror("127.0.0.1", etcdMirrorFiles(work, VERSION, "amd64"));
    const pki = await generateClusterPki(spec(), dir);
    await writeComponentKubeconfigs(pki, spec());
  }, 960_000);
  afterAll(async () => {
    await reset(spec(), t).catch(() => undefined);
    await mirror?.close();
    await lock?.release();
  });

  const health = () =>
    run(
      etcdctlOf(VERSION).path,
      [
        "--endpoints=https://127.0.0.1:2379",
        `--cacert=${dir}/pki/etcd/ca.crt`,
        `--cert=${dir}/pki/apiserver-etcd-client.crt`,
        `--key=${dir}/pki/apiserver-etcd-client.key`,
        "endpoint",
        "health",
      ],
      { env: etcdctlOf(VERSION).env },
    );

  it("downloads, verifies, installs and starts etcd with the generated certificates", async () => {
    const events: RunEvent[] = [];
    const r = await bootstrap(spec(), t, { until: "etcd", events: (e) => events.push(e) });
    expect(r.done).toEqual(["etcd"]);
    expect(health().status).toBe(0);
    expect(events.filter((e) => e.type === "step-start").map((e) => (e as { step: string }).step)).toEqual(["preflight", "etcd"]);
    expect(mirror.requests.filter((u) => u.endsWith(".tar.gz"))).toHaveLength(1);
  });

  it("skips everything on a re-run, downloading nothing", async () => {
    const before = mirror.requests.length;
    const r = await bootstrap(spec(), t, { until: "etcd" });
    expect(r).toEqual({ done: [], skipped: ["etcd"] });
    expect(mirror.requests.length).toBe(before);
  });

  it("a member that cannot start fails its step with the last lines of its log under the failure", async () => {
    // etcd's data folder replaced by a file: etcd exits at start, saying why, and its check waits out its 60 s.
    const data = join(root, "var/lib/etcd");
    const pid = readFileSync(join(root, "run/dk-bootstrap/etcd.pid"), "utf8").trim();
    process.kill(Number(pid));
    await until("etcd stopped", () => health().status !== 0, 30_000);
    rmSync(data, { recursive: true });
    writeFileSync(data, "not a folder\n");
    const out: string[] = [];
    try {
      await expect(bootstrap(spec(), t, { until: "etcd", events: (e) => e.type === "output" && out.push(e.line) })).rejects.toThrow(/still failing|exit/);
      const at = out.indexOf("last lines of etcd's log:");
      expect(at, out.join("\n")).toBeGreaterThanOrEqual(0);
      // etcd's own words about its data folder, from its log, not ours.
      expect(out.slice(at + 1).join("\n")).toMatch(/data-dir|data dir|not a directory/i);
    } finally {
      rmSync(data, { force: true });
    }
  }, 120_000);

  it("reset stops etcd and removes everything under the remote root", async () => {
    await reset(spec(), t);
    expect(health().status).not.toBe(0);
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  });

  it("bundles the plan's binaries (verified) and, with --upload, the node downloads nothing", async () => {
    const dir = join(work, "bundle");
    const got: string[] = [];
    await bundle(spec(), dir, ["amd64"], { until: "etcd" }, (_p, action) => got.push(action));
    expect(got).toEqual(["fetched"]);
    await bundle(spec(), dir, ["amd64"], { until: "etcd" }, (_p, action) => got.push(action));
    expect(got).toEqual(["fetched", "kept"]);
    expect(existsSync(join(dir, "github.com/etcd-io/etcd/releases/download", `v${VERSION}`, "SHA256SUMS"))).toBe(true);
    const before = mirror.requests.length;
    // No mirror reachable at all: everything must come from the bundle.
    const r = await bootstrap({ ...spec(), mirror: "http://127.0.0.1:9", upload: dir }, t, { until: "etcd" });
    expect(r.done).toEqual(["etcd"]);
    expect(health().status).toBe(0);
    expect(mirror.requests.length).toBe(before);
    await reset(spec(), t);
    const tarball = join(dir, "github.com/etcd-io/etcd/releases/download", `v${VERSION}`, `etcd-v${VERSION}-linux-amd64.tar.gz`);
    appendFileSync(tarball, "tampered");
    await expect(bootstrap({ ...spec(), mirror: "http://127.0.0.1:9", upload: dir }, t, { until: "etcd" })).rejects.toThrow(ChecksumError);
    expect(existsSync(join(root, "usr/local/bin/etcd"))).toBe(false);
  });

  it("refuses a tarball whose checksum does not match, and starts nothing", async () => {
    // The tampering mirror publishes a SHA256SUMS that matches its tarball: the checksums trusted are the test's own.
    const bad = await startMirror("127.0.0.1", etcdMirrorFiles(join(work, "bad"), VERSION, "amd64", true));
    try {
      await expect(bootstrap({ ...spec(), mirror: bad.url }, t, { until: "etcd" })).rejects.toThrow(ChecksumError);
      await expect(bundle({ ...spec(), mirror: bad.url }, join(work, "bundle-bad"), ["amd64"], { until: "etcd" })).rejects.toThrow(ChecksumError);
      expect(existsSync(join(root, "usr/local/bin/etcd"))).toBe(false);
      expect(health().status).not.toBe(0);
    } finally {
      await bad.close();
      await reset(spec(), t);
    }
  });
});
