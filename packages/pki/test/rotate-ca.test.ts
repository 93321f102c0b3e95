// A CA rotation's local side: what each phase writes in the cluster folder and in each node's folder, --abort, and
// the refusals. openssl checks the chains; the rollout itself is tested on real hosts (packages/cli/test/rotate-ca-etcd).
import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CaRotation,
  type ClusterFolder,
  InputError,
  RotationError,
  abortRotation,
  advanceRotation,
  clusterSpec,
  generateClusterPki,
  markRolledOut,
  readRotation,
  startRotation,
  withClusterFolder,
} from "@dk-bootstrap/pki";
import { peer, run, tempDir } from "../../../test-support/peers.js";

const key = { algo: "ecdsa" as const, size: 256 };
const NODES = [
  { name: "cp1", ip: "10.1.0.1", role: "controller" as const },
  { name: "w1", ip: "10.1.0.9", role: "worker" as const },
];

async function makeCluster(dir: string): Promise<void> {
  await withClusterFolder(dir, undefined, async (folder) => {
    const cluster = await generateClusterPki(clusterSpec({ key }), dir, {
      folder,
      leaves: (d) => d.name === "clients/admin" || d.name === "clients/super-admin",
    });
    for (const n of NODES)
      await generateClusterPki(clusterSpec({ key, nodeName: n.name, nodeIPs: [n.ip] }), join(dir, "nodes", n.name), {
        folder,
        node: { dir: join(dir, "nodes", n.name), role: n.role, cluster },
      });
  });
}

const inFolder = <T>(dir: string, work: (f: ClusterFolder) => Promise<T>) => withClusterFolder(dir, undefined, work);
const openssl = (...args: string[]) => run(peer("openssl"), args);
const verifies = (ca: string, cert: string) => openssl("verify", "-CAfile", ca, cert).status === 0;
const certCount = (file: string) => (readFileSync(file, "utf8").match(/BEGIN CERTIFICATE/g) ?? []).length;
const fingerprintOf = (file: string) => openssl("x509", "-in", file, "-noout", "-fingerprint", "-sha256").stdout.trim().split("=")[1];
const pubOf = (file: string, what: "x509" | "pkey") =>
  what === "x509" ? openssl("x509", "-in", file, "-noout", "-pubkey").stdout : openssl("pkey", "-in", file, "-pubout").stdout;
/** Rolls the current phase out (nothing to roll out to here) and stages the next. */
const next = async (dir: string, r: CaRotation) => inFolder(dir, async (f) => (await advanceRotation(f, await markRolledOut(f, r))).rotation);

describe("certs rotate-ca, the cluster folder's side", () => {
  it("etcd: phase 1 bundles old + new (old signs), phase 2 re-issues every etcd leaf with new keys, phase 3 leaves the new CA alone", async () => {
    const dir = tempDir();
    await makeCluster(dir);
    const cp1 = join(dir, "nodes", "cp1", "pki");
    const oldCa = readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8");
    const oldKeys = Object.fromEntries(["etcd/server", "etcd/peer", "apiserver-etcd-client"].map((n) => [n, readFileSync(join(cp1, `${n}.key`), "utf8")]));
    const untouched = ["apiserver.crt", "front-proxy-client.crt", "ca.crt"].map((n) => readFileSync(join(cp1, n), "utf8"));

    const r1 = await inFolder(dir, (f) => startRotation(f, "etcd", new Date()));
    expect(r1).toMatchObject({ name: "etcd", ca: "etcd/ca", phase: 1, rolledOut: false, aborting: false });
    const archive = join(dir, r1.archive);
    expect(statSync(archive).mode & 0o777).toBe(0o700);
    for (const k of ["old.key", "new.key"]) expect(statSync(join(archive, k)).mode & 0o777, k).toBe(0o600);
    expect(readFileSync(join(archive, "old.crt"), "utf8")).toBe(oldCa);
    expect(pubOf(join(archive, "new.key"), "pkey")).toBe(pubOf(join(archive, "new.crt"), "x509"));
    expect(fingerprintOf(join(archive, "new.crt"))).toBe(r1.new);
    // Every copy is old + new, old first; the key is still the old one; no leaf changed.
    for (const place of [join(dir, "pki"), cp1, join(dir, "nodes", "w1", "pki")]) {
      const bundle = readFileSync(join(place, "etcd", "ca.crt"), "utf8");
      if (place.endsWith("w1/pki")) continue; // a worker holds nothing of etcd's
      expect(bundle).toBe(oldCa + readFileSync(join(archive, "new.crt"), "utf8"));
    }
    expect(pubOf(join(cp1, "etcd", "ca.key"), "pkey")).toBe(pubOf(join(archive, "old.crt"), "x509"));
    for (const n of Object.keys(oldKeys)) expect(readFileSync(join(cp1, `${n}.key`), "utf8")).toBe(oldKeys[n]);

    // A re-run while phase 1 is in progress resumes it: nothing new is made.
    const again = await inFolder(dir, (f) => startRotation(f, "etcd"));
    expect(again).toEqual(r1);

    const r2 = await next(dir, r1);
    expect(r2).toMatchObject({ phase: 2, rolledOut: false });
    expect(readFileSync(join(cp1, "etcd", "ca.crt"), "utf8")).toBe(readFileSync(join(archive, "new.crt"), "utf8") + oldCa);
    expect(pubOf(join(cp1, "etcd", "ca.key"), "pkey")).toBe(pubOf(join(archive, "new.crt"), "x509"));
    for (const n of ["etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"]) {
      const crt = join(cp1, `${n}.crt`);
      expect(verifies(join(archive, "new.crt"), crt), n).toBe(true);
      expect(verifies(join(archive, "old.crt"), crt), n).toBe(false);
      expect(pubOf(join(cp1, `${n}.key`), "pkey")).toBe(pubOf(crt, "x509"));
    }
    for (const n of Object.keys(oldKeys)) expect(readFileSync(join(cp1, `${n}.key`), "utf8"), n).not.toBe(oldKeys[n]);
    // The same identity and names.
    const ext = (f: string) => openssl("x509", "-in", f, "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage").stdout;
    expect(ext(join(cp1, "etcd", "server.crt"))).toContain("IP Address:10.1.0.1");
    expect(ext(join(cp1, "etcd", "server.crt"))).toMatch(/subject=CN\s*=\s*cp1/);
    expect(ext(join(cp1, "etcd", "server.crt"))).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(["apiserver.crt", "front-proxy-client.crt", "ca.crt"].map((n) => readFileSync(join(cp1, n), "utf8"))).toEqual(untouched);

    const r3 = await next(dir, r2);
    expect(r3).toMatchObject({ phase: 3 });
    for (const place of [join(dir, "pki"), cp1])
      expect(readFileSync(join(place, "etcd", "ca.crt"), "utf8")).toBe(readFileSync(join(archive, "new.crt"), "utf8"));
    const done = await inFolder(dir, (f) => markRolledOut(f, r3));
    expect(await inFolder(dir, readRotation)).toEqual(done);

    // The rotated folder is one `certs` and apply accept as it is: nothing is re-issued or replaced.
    await withClusterFolder(dir, undefined, async (folder) => {
      const cluster = await generateClusterPki(clusterSpec({ key }), dir, { folder, leaves: (d) => d.name.startsWith("clients/") && d.name.includes("admin") });
      expect(cluster.actions.filter((a) => a.action !== "kept")).toEqual([]);
      const node = await generateClusterPki(clusterSpec({ key, nodeName: "cp1", nodeIPs: ["10.1.0.1"] }), join(dir, "nodes", "cp1"), {
        folder,
        node: { dir: join(dir, "nodes", "cp1"), role: "controller", cluster },
      });
      expect(node.actions.filter((a) => a.action !== "kept")).toEqual([]);
      expect(folder.staged).toEqual([]);
    });
  });

  it("cluster: the admin's client certificates and every node's kubelet and apiserver leaves are re-issued; the service-account key is not touched", async () => {
    const dir = tempDir();
    await makeCluster(dir);
    const sa = readFileSync(join(dir, "pki", "sa.key"), "utf8");
    const r1 = await inFolder(dir, (f) => startRotation(f, "cluster"));
    expect(certCount(join(dir, "nodes", "w1", "pki", "ca.crt"))).toBe(2);
    const r2 = await next(dir, r1);
    const reissued = await inFolder(dir, async (f) => (await advanceRotation(f, await markRolledOut(f, r2))).rotation);
    expect(reissued.phase).toBe(3);
    const newCa = join(dir, r1.archive, "new.crt");
    for (const f of [
      "pki/clients/admin.crt",
      "nodes/w1/pki/kubelet.crt",
      "nodes/w1/pki/clients/kubelet.crt",
      "nodes/cp1/pki/apiserver.crt",
      "nodes/cp1/pki/clients/controller-manager.crt",
    ])
      expect(verifies(newCa, join(dir, f)), f).toBe(true);
    expect(verifies(newCa, join(dir, "nodes/cp1/pki/front-proxy-client.crt"))).toBe(false);
    expect(readFileSync(join(dir, "pki", "sa.key"), "utf8")).toBe(sa);
    expect(readFileSync(join(dir, "nodes", "cp1", "pki", "sa.key"), "utf8")).toBe(sa);
  });

  it("--abort in phase 2 makes the old CA sign again, re-issues by it what the new one signed, then drops the new CA", async () => {
    const dir = tempDir();
    await makeCluster(dir);
    const cp1 = join(dir, "nodes", "cp1", "pki");
    const r1 = await inFolder(dir, (f) => startRotation(f, "front-proxy"));
    const oldCa = join(dir, r1.archive, "old.crt");
    const r2 = await next(dir, r1);
    expect(verifies(oldCa, join(cp1, "front-proxy-client.crt"))).toBe(false);
    const aborted = await inFolder(dir, (f) => abortRotation(f, r2));
    expect(aborted.rotation).toMatchObject({ phase: 2, aborting: true, rolledOut: false });
    expect(aborted.reissued).toEqual(["nodes/cp1/pki/front-proxy-client.crt"]);
    expect(verifies(oldCa, join(cp1, "front-proxy-client.crt"))).toBe(true);
    expect(readFileSync(join(cp1, "front-proxy-ca.crt"), "utf8")).toBe(readFileSync(oldCa, "utf8") + readFileSync(join(dir, r1.archive, "new.crt"), "utf8"));
    expect(pubOf(join(cp1, "front-proxy-ca.key"), "pkey")).toBe(pubOf(oldCa, "x509"));
    const r3 = await next(dir, aborted.rotation);
    expect(r3).toMatchObject({ phase: 3, aborting: true });
    expect(readFileSync(join(cp1, "front-proxy-ca.crt"), "utf8")).toBe(readFileSync(oldCa, "utf8"));
    await expect(inFolder(dir, (f) => abortRotation(f, r3))).resolves.toMatchObject({ reissued: [] });
  });

  it("--abort in phase 1 drops the new CA at once (no leaf changed); phase 3 is too late to abort", async () => {
    const dir = tempDir();
    await makeCluster(dir);
    const before = readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8");
    const r1 = await inFolder(dir, (f) => startRotation(f, "etcd"));
    const aborted = await inFolder(dir, (f) => abortRotation(f, r1));
    expect(aborted).toMatchObject({ rotation: { phase: 3, aborting: true }, reissued: [] });
    expect(readFileSync(join(dir, "nodes", "cp1", "pki", "etcd", "ca.crt"), "utf8")).toBe(before);

    const dir2 = tempDir();
    await makeCluster(dir2);
    const s1 = await inFolder(dir2, (f) => startRotation(f, "etcd"));
    const s3 = await next(dir2, await next(dir2, s1));
    await expect(inFolder(dir2, (f) => abortRotation(f, s3))).rejects.toThrow(/phase 3 .*too late to abort/);
  });

  it("refuses to write from a stale state: a second run moved the rotation on while this one rolled it out", async () => {
    const dir = tempDir();
    await makeCluster(dir);
    const r1 = await inFolder(dir, (f) => startRotation(f, "etcd"));
    // Another run finishes phase 1 and writes phase 2 meanwhile.
    const r2 = await next(dir, r1);
    await expect(inFolder(dir, (f) => markRolledOut(f, r1))).rejects.toThrow(
      "the etcd CA rotation changed while this run rolled it out (another run?): now phase 2",
    );
    await expect(inFolder(dir, (f) => abortRotation(f, r1))).rejects.toBeInstanceOf(RotationError);
    expect(await inFolder(dir, readRotation)).toEqual(r2);
  });

  it("refuses a second CA while one rotates, and an unknown CA name, with one line each", async () => {
    const dir = tempDir();
    await makeCluster(dir);
    await inFolder(dir, (f) => startRotation(f, "etcd"));
    const other = inFolder(dir, (f) => startRotation(f, "cluster"));
    await expect(other).rejects.toBeInstanceOf(RotationError);
    await expect(other).rejects.toThrow("a rotation of the etcd CA is in progress (phase 1): one CA at a time");
    const mismatched = tempDir();
    await makeCluster(mismatched);
    copyFileSync(join(mismatched, "pki", "ca.key"), join(mismatched, "pki", "front-proxy-ca.key"));
    await expect(inFolder(mismatched, (f) => startRotation(f, "front-proxy"))).rejects.toThrow(/front-proxy-ca\.key: does not match .*front-proxy-ca\.crt$/);
    expect(existsSync(join(mismatched, "pki", "rotation"))).toBe(false);
    const unknown = inFolder(dir, (f) => startRotation(f, "etcd-ca"));
    await expect(unknown).rejects.toBeInstanceOf(InputError);
    await expect(unknown).rejects.toThrow(/CA: unknown CA; rotatable: etcd, cluster, front-proxy/);
  });
});
