import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../../test-support/peers.js";
import { KeyPair, clusterSpec, generateClusterPki, type ClusterPki } from "@dk-bootstrap/pki";
import { checkKubeconfig, componentKubeconfigs, embeddedKubeconfig, parseKubeconfig, toYaml } from "../src/index.js";

describe("component kubeconfigs", () => {
  const dir = tempDir();
  let pki: ClusterPki;
  beforeAll(async () => {
    pki = await generateClusterPki(clusterSpec({ key: { algo: "ecdsa", size: 256 } }), dir);
  });

  it("load in @kubernetes/client-node 1.4 with their identity", () => {
    const admin = componentKubeconfigs(pki).get("admin.conf")!;
    const kc = new KubeConfig();
    kc.loadFromString(toYaml(admin));
    expect(kc.getCurrentContext()).toBe("kubernetes-admin@demystifions-kubernetes");
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.1:6443");
    const user = kc.getCurrentUser()!;
    expect(Buffer.from(user.certData!, "base64").toString()).toBe(pki.entries.get("clients/admin")!.certPem);
    expect(Buffer.from(kc.getCurrentCluster()!.caData!, "base64").toString()).toBe(pki.entries.get("ca")!.certPem);
  });

  it("pass the offline check, and the check finds what is wrong", async () => {
    for (const [file, cfg] of componentKubeconfigs(pki)) expect(await checkKubeconfig(cfg), file).toEqual([]);
    const other = await KeyPair.generate({ algo: "ecdsa", size: 256 });
    const ca = pki.entries.get("ca")!.certPem;
    const etcdClient = pki.entries.get("apiserver-etcd-client")!;
    const wrongKey = embeddedKubeconfig({ clusterName: "c", server: "https://x" }, "u", { ca, cert: etcdClient.certPem, key: other.privateKeyPem() });
    wrongKey.contexts![0]!.context.cluster = "missing";
    const problems = await checkKubeconfig(wrongKey);
    expect(problems.map((p) => p.where)).toEqual(["users[u].client-key", "contexts[u@c].cluster"]);
    const wrongCa = embeddedKubeconfig({ clusterName: "c", server: "https://x" }, "u", { ca, cert: etcdClient.certPem, key: etcdClient.key!.privateKeyPem() });
    expect((await checkKubeconfig(wrongCa))[0]?.problem).toMatch(/not issued by cluster "c"'s CA/);
  });

  it("reads a file that client-node exported (JSON) back", () => {
    const kc = new KubeConfig();
    kc.loadFromString(toYaml(componentKubeconfigs(pki).get("kubelet.conf")!));
    const path = join(dir, "exported.json");
    writeFileSync(path, kc.exportConfig());
    const back = parseKubeconfig(readFileSync(path, "utf8"), path);
    expect(back["current-context"]).toBe("system:node:kubernetes@demystifions-kubernetes");
    expect(back.users?.[0]?.name).toBe("system:node:kubernetes");
  });
});
