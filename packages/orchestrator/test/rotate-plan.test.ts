// The plan of a CA rotation on a one-node cluster folder (no Kubernetes binaries here): in each phase, which flags'
// files hold the bundle and which the single signer, and which steps restart (a step runs again when its files'
// bytes change: what apply does), checked against what the phase really wrote.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CaRotation, type ClusterFolder, advanceRotation, generateClusterPki, markRolledOut, startRotation, withClusterFolder } from "@dk-bootstrap/pki";
import { refreshComponentKubeconfigs, writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import { type NodeSpec, nodeSpec, plan, plannedContext, rotationImpact } from "../src/index.js";
import { fileContent, stepHash } from "../src/context.js";
import { tempDir } from "../../../test-support/peers.js";

const certs = (pem: string | Buffer) => String(pem).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

/** A one-node cluster folder as `certs` makes it, and the node's spec. */
async function oneNode(): Promise<NodeSpec> {
  const spec = nodeSpec({ dir: join(tempDir(), "cluster"), key: { algo: "ecdsa", size: 256 }, nodeName: "n1", nodeIPs: ["10.9.0.1"] });
  await withClusterFolder(spec.dir, undefined, async (folder) => {
    const pki = await generateClusterPki(spec, spec.dir, { folder });
    await writeComponentKubeconfigs(pki, spec, { folder });
  });
  return spec;
}

/** Each step's inputs, hashed as apply compares them. */
const hashes = async (spec: NodeSpec) => {
  const ctx = plannedContext(spec);
  return new Map(await Promise.all(plan({}, spec).map(async (s) => [s.id, await stepHash(ctx, s)] as const)));
};

/** One phase written as the CLI writes it: the PKI, then the kubeconfigs that embed it, as one set. */
const phase = (spec: NodeSpec, work: (f: ClusterFolder) => Promise<CaRotation>) =>
  withClusterFolder(spec.dir, undefined, async (f) => {
    const r = await work(f);
    await refreshComponentKubeconfigs(spec.dir, { folder: f });
    return r;
  });

/** The file a flag of a step's script names, as the node gets it. */
async function flagFile(spec: NodeSpec, stepId: string, flag: string): Promise<string> {
  const ctx = plannedContext(spec);
  const step = plan({}, spec).find((s) => s.id === stepId)!;
  const path = new RegExp(`${flag}=(\\S+)`).exec(step.script(ctx).text)?.[1];
  expect(path, `${stepId} ${flag}`).toBeDefined();
  const put = step.files(ctx).find((f) => f.path === path);
  expect(put, `${stepId} puts ${path}`).toBeDefined();
  return String(await fileContent(spec, put!));
}

const RESTARTS = {
  etcd: [
    ["etcd", "kube-apiserver"],
    ["etcd", "kube-apiserver"],
    ["etcd", "kube-apiserver"],
  ],
  cluster: [
    // cni: the pod-routes loop reads a copy of kube-proxy's kubeconfig
    ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "cni", "kube-proxy"],
    ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "cni", "kube-proxy"],
    ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "cni", "kube-proxy"],
  ],
  "front-proxy": [
    ["kube-apiserver", "kube-controller-manager"],
    ["kube-apiserver", "kube-controller-manager"],
    ["kube-apiserver", "kube-controller-manager"],
  ],
} as const;

describe("the plan of a CA rotation", () => {
  it.each(Object.keys(RESTARTS) as (keyof typeof RESTARTS)[])("%s: the steps that restart in each phase are those whose files changed", async (name) => {
    const spec = await oneNode();
    const ca = name === "etcd" ? "etcd/ca" : name === "cluster" ? "ca" : "front-proxy-ca";
    const impact = rotationImpact(plannedContext(spec), ca);
    let r = await phase(spec, (f) => startRotation(f, name));
    for (const n of [0, 1, 2]) {
      if (n > 0) {
        const before = await hashes(spec);
        const from = r;
        r = await phase(spec, async (f) => (await advanceRotation(f, await markRolledOut(f, from))).rotation);
        const after = await hashes(spec);
        const changed = [...after.keys()].filter((id) => after.get(id) !== before.get(id));
        expect(changed, `${name} phase ${n + 1}`).toEqual(RESTARTS[name][n]);
      }
      expect(impact[n]!.restarts, `${name} phase ${n + 1}`).toEqual(RESTARTS[name][n]);
    }
  });

  it("phase 1 too: the steps that read the CA file restart, and nothing else", async () => {
    const spec = await oneNode();
    const before = await hashes(spec);
    await phase(spec, (f) => startRotation(f, "front-proxy"));
    const after = await hashes(spec);
    expect([...after.keys()].filter((id) => after.get(id) !== before.get(id))).toEqual(RESTARTS["front-proxy"][0]);
  });

  it("cluster: the trust flags get the bundle; the controller-manager's signing and client CA files one certificate, the new one from phase 2 on", async () => {
    const spec = await oneNode();
    let r = await phase(spec, (f) => startRotation(f, "cluster"));
    const old = certs(await flagFile(spec, "kube-controller-manager", "--cluster-signing-cert-file"));
    expect(old).toHaveLength(1);
    const trust = ["kube-apiserver --client-ca-file", "kube-apiserver --kubelet-certificate-authority", "kube-controller-manager --root-ca-file"];
    const expected = [
      { bundle: 2, signer: "old" },
      { bundle: 2, signer: "new" },
      { bundle: 1, signer: "new" },
    ];
    for (const [n, want] of expected.entries()) {
      if (n > 0) {
        const from = r;
        r = await phase(spec, async (f) => (await advanceRotation(f, await markRolledOut(f, from))).rotation);
      }
      for (const t of trust) {
        const [step, flag] = t.split(" ") as [string, string];
        expect(certs(await flagFile(spec, step, flag)), `phase ${n + 1}: ${t}`).toHaveLength(want.bundle);
      }
      for (const flag of ["--cluster-signing-cert-file", "--client-ca-file"]) {
        const signing = certs(await flagFile(spec, "kube-controller-manager", flag));
        expect(signing, `phase ${n + 1}: ${flag}`).toHaveLength(1);
        expect(signing[0] === old[0], `phase ${n + 1}: ${flag} is the ${want.signer} CA`).toBe(want.signer === "old");
        // The signing certificate is the one whose key --cluster-signing-key-file holds.
        expect(certs(await flagFile(spec, "kube-controller-manager", "--root-ca-file"))[0]).toBe(signing[0]);
      }
      // Every kubeconfig the components use embeds the same CA data as the trust files.
      for (const conf of ["admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf", "kube-proxy.conf"]) {
        const text = String(await fileContent(spec, { path: conf, mode: 0o600, local: conf }));
        const data = /certificate-authority-data: (\S+)/.exec(text)![1]!;
        expect(certs(Buffer.from(data, "base64")), `phase ${n + 1}: ${conf}`).toHaveLength(want.bundle);
      }
    }
  });

  it("front-proxy: the requestheader CA flags get the bundle, the proxy client its re-issued certificate in phase 2", async () => {
    const spec = await oneNode();
    await phase(spec, (f) => startRotation(f, "front-proxy"));
    expect(certs(await flagFile(spec, "kube-apiserver", "--requestheader-client-ca-file"))).toHaveLength(2);
    expect(certs(await flagFile(spec, "kube-controller-manager", "--requestheader-client-ca-file"))).toHaveLength(2);
    const impact = rotationImpact(plannedContext(spec), "front-proxy-ca");
    expect(impact[1]!.files).toEqual(["pki/front-proxy-ca.crt", "pki/front-proxy-client.crt", "pki/front-proxy-client.key"]);
    expect(impact.map((p) => [p.trust, p.signer])).toEqual([
      ["old + new", "old"],
      ["new + old", "new"],
      ["new", "new"],
    ]);
  });
});
