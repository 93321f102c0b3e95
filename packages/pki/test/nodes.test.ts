// The PKI of a cluster of several hosts: the CAs once, each node's own leaves in nodes/NAME, as kubeadm lays them out per node.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ClusterPki, clusterSpec, generateClusterPki, openClusterFolder } from "@dk-bootstrap/pki";
import { peer, run, tempDir } from "../../../test-support/peers.js";

const key = { algo: "ecdsa" as const, size: 256 };
const NODES = [
  { name: "cp1", ip: "10.1.0.1", role: "controller+worker" as const },
  { name: "cp2", ip: "10.1.0.2", role: "controller" as const },
  { name: "w1", ip: "10.1.0.9", role: "worker" as const },
];

async function makeCluster(dir: string): Promise<{ cluster: ClusterPki; nodes: ClusterPki[] }> {
  const folder = await openClusterFolder(dir);
  try {
    const cluster = await generateClusterPki(clusterSpec({ key }), dir, {
      folder,
      leaves: (d) => d.name === "clients/admin" || d.name === "clients/super-admin",
    });
    const nodes = [];
    for (const n of NODES) {
      nodes.push(
        await generateClusterPki(clusterSpec({ key, nodeName: n.name, nodeIPs: [n.ip] }), join(dir, "nodes", n.name), {
          folder,
          node: { dir: join(dir, "nodes", n.name), role: n.role, cluster },
        }),
      );
    }
    await folder.commit();
    return { cluster, nodes };
  } finally {
    await folder.release();
  }
}

const openssl = (...args: string[]) => run(peer("openssl"), args);
const sans = (file: string) => openssl("x509", "-in", file, "-noout", "-ext", "subjectAltName").stdout;
const subject = (file: string) => openssl("x509", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253").stdout.trim();

describe("a cluster of three hosts", () => {
  const dir = tempDir();
  it("has its CAs once, and each node the leaves of its role for its own name and IP", async () => {
    const { nodes } = await makeCluster(dir);
    expect(existsSync(join(dir, "pki", "apiserver.crt"))).toBe(false);
    expect(existsSync(join(dir, "pki", "clients", "admin.crt"))).toBe(true);
    for (const n of NODES) {
      const pki = join(dir, "nodes", n.name, "pki");
      expect(readFileSync(join(pki, "ca.crt"), "utf8")).toBe(readFileSync(join(dir, "pki", "ca.crt"), "utf8"));
      const controller = n.role !== "worker";
      const worker = n.role !== "controller";
      // Only a controller signs with the CAs and the service-account key: a worker's folder holds none of them.
      expect(existsSync(join(pki, "ca.key")), `${n.name} ca.key`).toBe(controller);
      expect(existsSync(join(pki, "sa.key")), `${n.name} sa.key`).toBe(controller);
      if (controller) expect(readFileSync(join(pki, "ca.key"), "utf8")).toBe(readFileSync(join(dir, "pki", "ca.key"), "utf8"));
      expect(existsSync(join(pki, "apiserver.crt")), `${n.name} apiserver`).toBe(controller);
      expect(existsSync(join(pki, "kubelet.crt")), `${n.name} kubelet`).toBe(worker);
      if (controller) {
        expect(sans(join(pki, "apiserver.crt"))).toContain(`IP Address:${n.ip}`);
        expect(sans(join(pki, "etcd", "peer.crt"))).toMatch(new RegExp(`DNS:${n.name}.*IP Address:${n.ip}`));
        expect(subject(join(pki, "etcd", "peer.crt"))).toBe(`subject=CN=${n.name}`);
      }
      if (worker) {
        expect(subject(join(pki, "clients", "kubelet.crt"))).toBe(`subject=CN=system:node:${n.name},O=system:nodes`);
        expect(sans(join(pki, "kubelet.crt"))).toContain(`IP Address:${n.ip}`);
      }
      for (const leaf of nodes.find((p) => p.dir.endsWith(n.name))!.entries.values()) {
        if (!leaf.def.ca) continue;
        const caFile = join(dir, "pki", `${leaf.def.ca}.crt`);
        const r = openssl("verify", "-x509_strict", "-CAfile", caFile, join(pki, `${leaf.def.name}.crt`));
        expect(r.status, `${n.name} ${leaf.def.name}: ${r.stdout}${r.stderr}`).toBe(0);
      }
    }
  });

  it("keeps everything on a re-run", async () => {
    const before = readFileSync(join(dir, "nodes", "cp2", "pki", "apiserver.key"), "utf8");
    const { cluster, nodes } = await makeCluster(dir);
    for (const p of [cluster, ...nodes])
      expect(
        p.actions.filter((a) => a.action !== "kept"),
        p.dir,
      ).toEqual([]);
    expect(readFileSync(join(dir, "nodes", "cp2", "pki", "apiserver.key"), "utf8")).toBe(before);
  });
});
