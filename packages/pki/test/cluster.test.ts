import { readFileSync, statSync, writeFileSync, rmSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../../test-support/peers.js";
import {
  CERT_DEFS,
  type ClusterPki,
  KeyPair,
  checkExpiration,
  clusterSpec,
  describeCertificate,
  generateClusterPki,
  generateWorkshopPki,
  parseCertificate,
  renewCertificates,
  verifyChain,
} from "../src/index.js";

const ecdsa = { algo: "ecdsa", size: 256 } as const;
const read = (dir: string, rel: string) => readFileSync(join(dir, "pki", rel), "utf8");

describe("the cluster PKI", () => {
  const dir = tempDir();
  let pki: ClusterPki;
  beforeAll(async () => {
    pki = await generateClusterPki(clusterSpec({ key: ecdsa, nodeIPs: ["192.0.2.10"] }), dir);
  });

  it("has every certificate of kubeadm's layout plus the component clients", () => {
    for (const def of CERT_DEFS) {
      expect(existsSync(join(dir, "pki", `${def.name}.crt`)), def.name).toBe(true);
      expect(existsSync(join(dir, "pki", `${def.name}.key`)), def.name).toBe(true);
    }
    expect(read(dir, "sa.pub")).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(read(dir, "sa.key")).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(pki.actions.every((a) => a.action === "made")).toBe(true);
  });

  it("gives each component kubeadm's identity", async () => {
    const id = async (name: string) => {
      const info = await describeCertificate(parseCertificate(read(dir, `${name}.crt`)));
      return { cn: info.subject.CN, o: info.subject.O ?? [], eku: info.extKeyUsage, issuer: info.issuer.CN, ca: info.isCA };
    };
    expect(await id("ca")).toEqual({ cn: "kubernetes", o: [], eku: [], issuer: "kubernetes", ca: true });
    expect(await id("etcd/ca")).toMatchObject({ cn: "etcd-ca", ca: true });
    expect(await id("front-proxy-ca")).toMatchObject({ cn: "front-proxy-ca", ca: true });
    expect(await id("apiserver")).toEqual({ cn: "kube-apiserver", o: [], eku: ["server auth"], issuer: "kubernetes", ca: false });
    expect(await id("apiserver-kubelet-client")).toEqual({
      cn: "kube-apiserver-kubelet-client",
      o: [],
      eku: ["client auth"],
      issuer: "kubernetes",
      ca: false,
    });
    expect(await id("front-proxy-client")).toMatchObject({ cn: "front-proxy-client", issuer: "front-proxy-ca" });
    expect(await id("etcd/server")).toEqual({ cn: "kubernetes", o: [], eku: ["server auth", "client auth"], issuer: "etcd-ca", ca: false });
    expect(await id("etcd/healthcheck-client")).toMatchObject({ cn: "kube-etcd-healthcheck-client", o: [], issuer: "etcd-ca" });
    expect(await id("apiserver-etcd-client")).toMatchObject({ cn: "kube-apiserver-etcd-client", o: [], issuer: "etcd-ca" });
    expect(await id("clients/admin")).toMatchObject({ cn: "kubernetes-admin", o: ["kubeadm:cluster-admins"] });
    expect(await id("clients/super-admin")).toMatchObject({ cn: "kubernetes-super-admin", o: ["system:masters"] });
    expect(await id("clients/controller-manager")).toMatchObject({ cn: "system:kube-controller-manager", o: [] });
    expect(await id("clients/scheduler")).toMatchObject({ cn: "system:kube-scheduler", o: [] });
    expect(await id("clients/kube-proxy")).toMatchObject({ cn: "system:kube-proxy", o: [] });
    expect(await id("clients/kubelet")).toMatchObject({ cn: "system:node:kubernetes", o: ["system:nodes"], eku: ["client auth"] });
    expect(await id("kubelet")).toMatchObject({ cn: "system:node:kubernetes", eku: ["server auth"] });
  });

  it("puts every name clients dial in the serving certificates", async () => {
    const api = await describeCertificate(parseCertificate(read(dir, "apiserver.crt")));
    expect(api.sans.dns.sort()).toEqual(["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"]);
    expect(api.sans.ip).toEqual(["10.0.0.1", "192.0.2.10", "127.0.0.1"]);
    const etcd = await describeCertificate(parseCertificate(read(dir, "etcd/server.crt")));
    expect(etcd.sans.dns).toEqual(["kubernetes", "localhost"]);
    expect(etcd.sans.ip).toEqual(["192.0.2.10", "127.0.0.1", "::1"]);
  });

  it("chains every leaf to its own CA and no other", async () => {
    const cas = {
      ca: parseCertificate(read(dir, "ca.crt")),
      "etcd/ca": parseCertificate(read(dir, "etcd/ca.crt")),
      "front-proxy-ca": parseCertificate(read(dir, "front-proxy-ca.crt")),
    };
    for (const def of CERT_DEFS.filter((d) => d.ca)) {
      const leaf = parseCertificate(read(dir, `${def.name}.crt`));
      expect(await verifyChain(leaf, [cas[def.ca!]]), def.name).toEqual([]);
      const other = def.ca === "ca" ? cas["etcd/ca"] : cas.ca;
      expect((await verifyChain(leaf, [other])).join()).toMatch(/unknown authority/);
    }
  });

  it("writes keys 0600 in 0700 folders and certificates 0644", () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const sub of ["pki", "pki/etcd", "pki/clients"]) expect(statSync(join(dir, sub)).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "pki/ca.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "pki/sa.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "pki/clients/admin.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "pki/ca.crt")).mode & 0o777).toBe(0o644);
  });

  it("keeps everything on a re-run with the same spec", async () => {
    const before = CERT_DEFS.map((d) => read(dir, `${d.name}.crt`) + read(dir, `${d.name}.key`)).join();
    const again = await generateClusterPki(clusterSpec({ key: ecdsa, nodeIPs: ["192.0.2.10"] }), dir);
    expect(again.actions.every((a) => a.action === "kept")).toBe(true);
    expect(CERT_DEFS.map((d) => read(dir, `${d.name}.crt`) + read(dir, `${d.name}.key`)).join()).toBe(before);
  });

  it("re-issues only what a new node IP changes, with the existing keys and CA", async () => {
    const keyBefore = read(dir, "apiserver.key");
    const caBefore = read(dir, "ca.crt");
    const r = await generateClusterPki(clusterSpec({ key: ecdsa, nodeIPs: ["192.0.2.10", "192.0.2.11"] }), dir);
    const renewed = r.actions
      .filter((a) => a.action === "renewed")
      .map((a) => a.name)
      .sort();
    expect(renewed).toEqual(["apiserver", "etcd/peer", "etcd/server", "kubelet"]);
    expect(read(dir, "apiserver.key")).toBe(keyBefore);
    expect(read(dir, "ca.crt")).toBe(caBefore);
    expect((await describeCertificate(parseCertificate(read(dir, "apiserver.crt")))).sans.ip).toContain("192.0.2.11");
  });

  it("replaces CAs and keys only with force", async () => {
    const caBefore = read(dir, "ca.crt");
    const forced = await generateClusterPki(clusterSpec({ key: ecdsa, nodeIPs: ["192.0.2.10", "192.0.2.11"] }), dir, { force: true });
    expect(forced.actions.find((a) => a.name === "ca")?.action).toBe("made");
    expect(read(dir, "ca.crt")).not.toBe(caBefore);
    expect(forced.actions.filter((a) => a.action !== "made")).toEqual([]);
  });

  it("reports expiry as kubeadm does, and renew keeps identity and SANs with a new key", async () => {
    const now = new Date();
    const report = await checkExpiration(dir, now);
    expect(report.authorities.map((r) => r.name)).toEqual(["ca", "etcd/ca", "front-proxy-ca"]);
    const api = report.certificates.find((r) => r.name === "apiserver")!;
    expect(api.ca).toBe("ca");
    expect(api.residualMs! / 3_600_000).toBeGreaterThan(8759);

    const oldKey = read(dir, "apiserver.key");
    const oldInfo = await describeCertificate(parseCertificate(read(dir, "apiserver.crt")));
    const [res] = await renewCertificates(dir, "apiserver", { validityMs: 48 * 3_600_000 });
    const info = await describeCertificate(parseCertificate(read(dir, "apiserver.crt")));
    expect(read(dir, "apiserver.key")).not.toBe(oldKey);
    expect(info.sans).toEqual(oldInfo.sans);
    expect(info.subject).toEqual(oldInfo.subject);
    expect(info.extKeyUsage).toEqual(oldInfo.extKeyUsage);
    expect(res!.notAfter.getTime() - Date.now()).toBeLessThan(49 * 3_600_000);
    const key = await KeyPair.fromPem(read(dir, "apiserver.key"));
    expect(await key.matches(parseCertificate(read(dir, "apiserver.crt")).publicKey.rawData)).toBe(true);
    await expect(renewCertificates(dir, "ca")).rejects.toThrow(/unknown certificate/);
  });

  it("renews a key in the form the old one had", async () => {
    const pkcs8Dir = tempDir();
    await generateClusterPki(clusterSpec({ key: ecdsa, keyFormat: "pkcs8" }), pkcs8Dir);
    await renewCertificates(pkcs8Dir, "apiserver");
    expect(read(pkcs8Dir, "apiserver.key")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    await renewCertificates(dir, "apiserver");
    expect(read(dir, "apiserver.key")).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
  });
});

describe("an existing PKI that can't be used", () => {
  it("refuses a CA key that doesn't match its certificate, and writes nothing", async () => {
    const dir = tempDir();
    await generateClusterPki(clusterSpec({ key: ecdsa }), dir);
    const other = await KeyPair.generate(ecdsa);
    writeFileSync(join(dir, "pki/ca.key"), other.privateKeyPem());
    rmSync(join(dir, "pki/apiserver.crt"));
    await expect(generateClusterPki(clusterSpec({ key: ecdsa }), dir)).rejects.toThrow(/ca.key: does not match .*ca.crt/);
    expect(existsSync(join(dir, "pki/apiserver.crt"))).toBe(false);
  });

  it("refuses an expired CA", async () => {
    const dir = tempDir();
    await generateClusterPki(clusterSpec({ key: ecdsa }), dir, { now: new Date(Date.now() - 20 * 365 * 86_400_000) });
    await expect(generateClusterPki(clusterSpec({ key: ecdsa }), dir)).rejects.toThrow(/the CA expired on/);
  });

  it("uses a CA without its key as external, and issues nothing under it", async () => {
    const dir = tempDir();
    await generateClusterPki(clusterSpec({ key: ecdsa }), dir);
    rmSync(join(dir, "pki/front-proxy-ca.key"));
    const r = await generateClusterPki(clusterSpec({ key: ecdsa }), dir);
    expect(r.actions.find((a) => a.name === "front-proxy-ca")?.action).toBe("external");
    rmSync(join(dir, "pki/front-proxy-client.crt"));
    // apiserver is settled before front-proxy-client: it must not be written when the run fails.
    rmSync(join(dir, "pki/apiserver.crt"));
    await expect(generateClusterPki(clusterSpec({ key: ecdsa }), dir)).rejects.toThrow(/external CA/);
    expect(existsSync(join(dir, "pki/apiserver.crt"))).toBe(false);
  });

  it("renews nothing when one of the CAs it needs has no key", async () => {
    const dir = tempDir();
    await generateClusterPki(clusterSpec({ key: ecdsa }), dir);
    const before = read(dir, "apiserver.crt");
    rmSync(join(dir, "pki/etcd/ca.key"));
    await expect(renewCertificates(dir, "all")).rejects.toThrow(/etcd\/ca.key: missing/);
    expect(read(dir, "apiserver.crt")).toBe(before);
  });

  it("never uses Ed25519 for the service-account key", async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const r = await generateClusterPki(clusterSpec({ key: { algo: "ed25519", size: 0 } }), dir);
    expect(r.serviceAccountKey.spec).toEqual({ algo: "ecdsa", size: 256 });
    expect(read(dir, "ca.key")).toMatch(/BEGIN PRIVATE KEY/);
  });
});

describe("the workshop's PKI", () => {
  // The new CA has the same subject, so the old admin certificate finds it by name and fails on its key.
  it("keeps its CA and admin certificate, and refuses an admin certificate of another CA", async () => {
    const dir = tempDir();
    expect((await generateWorkshopPki(dir)).map((a) => a.action)).toEqual(["made", "made"]);
    expect((await generateWorkshopPki(dir)).map((a) => a.action)).toEqual(["kept", "kept"]);
    rmSync(join(dir, "certs/ca.pem"));
    rmSync(join(dir, "certs/ca-key.pem"));
    await expect(generateWorkshopPki(dir)).rejects.toThrow(/admin.pem: .*(authority key ID does not match|signature does not verify)/);
  });
});
