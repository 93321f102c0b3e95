// `certs renew NAME` on the folder of a cluster of several (apply's: the CAs and the clients at its top, each node's
// own certificates in nodes/NAME): a name is renewed in every folder that holds it, only there, and a name no folder
// holds is refused in one line. No host: the folder is the one apply writes (rotate-ca-folder.ts).
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";
import { clusterFolder } from "./rotate-ca-folder.js";

const FILE = `apiVersion: dk-bootstrap/v1alpha1
kind: Cluster
metadata: { name: demo }
spec:
  hosts:
    - { ssh: { address: 10.9.0.1 }, role: controller+worker, nodeName: cp1 }
    - { ssh: { address: 10.9.0.2 }, role: controller+worker, nodeName: cp2 }
    - { ssh: { address: 10.9.0.3 }, role: worker, nodeName: w1 }
  versions: { kubernetes: 1.35.2 }
  pki: { keyAlgorithm: ecdsa }
`;
const NODES = ["cp1", "cp2", "w1"];

/** The fingerprint of a certificate of the folder, or undefined when it has none there. */
const fp = (dir: string, rel: string) => {
  const p = join(dir, rel);
  return existsSync(p) ? new X509Certificate(readFileSync(p)).fingerprint256 : undefined;
};

describe("certs renew NAME on a cluster of several", () => {
  it("renews the kubelet's certificate in every node's folder (the top folder has none), and nothing else", async () => {
    const cwd = tempDir();
    const dir = await clusterFolder(cwd, FILE);
    const watched = [...NODES.flatMap((n) => [`nodes/${n}/pki/kubelet.crt`, `nodes/${n}/pki/apiserver-kubelet-client.crt`]), "pki/clients/admin.crt"];
    const before = new Map(watched.map((f) => [f, fp(dir, f)]));
    expect(fp(dir, "pki/kubelet.crt")).toBeUndefined();

    const r = dk(["certs", "renew", "kubelet", "--dir", dir], { cwd });
    expect(r.status, r.stderr).toBe(0);
    for (const n of NODES) {
      expect(r.stdout).toContain(`[renew] ${n}: kubelet: renewed`);
      expect(fp(dir, `nodes/${n}/pki/kubelet.crt`), n).not.toBe(before.get(`nodes/${n}/pki/kubelet.crt`));
    }
    // Only the kubelet's: the others are the same files.
    for (const f of watched.filter((w) => !w.endsWith("/kubelet.crt"))) expect(fp(dir, f), f).toBe(before.get(f));
  });

  it("renews the admin's certificate wherever it is: at the top and in each controller's folder, not the kubelets'", async () => {
    const cwd = tempDir();
    const dir = await clusterFolder(cwd, FILE);
    const admins = ["pki/clients/admin.crt", "nodes/cp1/pki/clients/admin.crt", "nodes/cp2/pki/clients/admin.crt"];
    const before = admins.map((f) => fp(dir, f));
    expect(before.every(Boolean)).toBe(true);
    const kubelets = NODES.map((n) => fp(dir, `nodes/${n}/pki/kubelet.crt`));
    const r = dk(["certs", "renew", "clients/admin", "--dir", dir], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[renew\] clients\/admin: renewed/m);
    expect(r.stdout).not.toMatch(/w1: clients\/admin/);
    admins.forEach((f, i) => expect(fp(dir, f), f).not.toBe(before[i]));
    expect(NODES.map((n) => fp(dir, `nodes/${n}/pki/kubelet.crt`))).toEqual(kubelets);
  });

  it("refuses, in one line, a name no folder holds, and changes nothing", async () => {
    const cwd = tempDir();
    const dir = await clusterFolder(cwd, FILE);
    for (const n of NODES) rmSync(join(dir, "nodes", n, "pki", "kubelet.crt"));
    const admin = fp(dir, "pki/clients/admin.crt");
    const r = dk(["certs", "renew", "kubelet", "--dir", dir], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
      "error: NAME: neither the cluster's folder nor any node's holds this certificate, nothing to renew (got \"kubelet\")",
    ]);
    expect(r.stderr).not.toContain("    at ");
    expect(fp(dir, "pki/clients/admin.crt")).toBe(admin);
  });
});
