// `apply` refuses to push a PKI whose CA is not the one a node already trusts (issue 21): a cluster folder other than
// the one the cluster was applied from would cut the nodes off from each other. Refused before any host is changed,
// naming both fingerprints. The node's CA is put where a run puts it (the test hosts share this machine's files).
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dk, dkAsync, tempDir } from "../../../test-support/peers.js";
import { type TestCluster, clusterFileFor, startTestCluster } from "../../../test-support/test-cluster.js";

describe("apply and the CA the nodes trust", () => {
  const work = tempDir("dk-trusted-ca-");
  let cluster: TestCluster;
  let file = "";
  let trusted = "";
  beforeAll(async () => {
    cluster = await startTestCluster(work, 1);
    const host = cluster.hosts[0]!;
    // The CA of an earlier apply, from its folder, in the node's pki folder.
    expect(dk(["certs", "--dir", join(work, "earlier"), "--key-algo", "ecdsa"], { cwd: work }).status).toBe(0);
    trusted = readFileSync(join(work, "earlier", "pki", "ca.crt"), "utf8");
    const pki = join(host.remoteRoot, "etc", "kubernetes", "pki");
    mkdirSync(pki, { recursive: true });
    for (const d of [join(host.remoteRoot, "etc"), join(host.remoteRoot, "etc", "kubernetes"), pki]) chmodSync(d, 0o755);
    writeFileSync(join(pki, "ca.crt"), trusted, { mode: 0o644 });
    file = join(work, "site.yaml");
    writeFileSync(file, clusterFileFor(cluster, [host], { name: "site", mirror: "http://127.0.0.1:1", etcd: "3.6.5" }));
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("refuses a folder without that CA, naming both, and makes nothing", async () => {
    const fresh = join(work, "fresh");
    const r = await dkAsync(["apply", "-f", file, "--dir", fresh, "--until", "etcd"], { cwd: work });
    expect(r.status, r.stderr).toBe(1);
    const fp = new X509Certificate(trusted).fingerprint256;
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: the cluster folder ${fresh} holds no CA yet \\(a new one would be made\\), not the CA the nodes trust: ${cluster.hosts[0]!.ip} trusts ${fp}; nothing was changed$`,
        "m",
      ),
    );
    expect(r.stderr).toMatch(/^hint: pass --dir with the folder this cluster was applied from/m);
    expect(existsSync(fresh)).toBe(false);
    expect(readFileSync(join(cluster.hosts[0]!.remoteRoot, "etc", "kubernetes", "pki", "ca.crt"), "utf8")).toBe(trusted);
  });

  it("refuses another folder's CA too, naming it", async () => {
    const other = join(work, "other");
    expect(dk(["certs", "--dir", other, "--key-algo", "ecdsa"], { cwd: work }).status).toBe(0);
    const r = await dkAsync(["apply", "-f", file, "--dir", other, "--until", "etcd"], { cwd: work });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`holds CA ${new X509Certificate(readFileSync(join(other, "pki", "ca.crt"))).fingerprint256}, not the CA the nodes trust`);
  });

  it("lets the folder that holds it through", async () => {
    const r = await dkAsync(["apply", "-f", file, "--dir", join(work, "earlier"), "--until", "etcd"], { cwd: work });
    expect(r.stderr).not.toMatch(/not the CA the nodes trust/);
  });
});
