// The kubeconfig core's portable tests: one source run by vitest on Node (portable.test.ts) and, bundled, in
// Chromium, Bun and Deno (browser.test.ts). The YAML below is what Node writes: every runtime must write it byte for byte.
import { describe, expect, it } from "vitest";
import { COMPONENT_KUBECONFIGS, checkKubeconfig, componentKubeconfigFiles, embeddedKubeconfig, parseKubeconfig, toYaml } from "@dk-bootstrap/kubeconfig/core";
import { clusterSpec, fromBase64, makeClusterPki } from "@dk-bootstrap/pki/core";

const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
const PEMS = { ca: pem("CERTIFICATE", "Q0E="), cert: pem("CERTIFICATE", "Y2VydA=="), key: pem("EC PRIVATE KEY", "a2V5") };
const text = (b64: string) => new TextDecoder().decode(fromBase64(b64));

describe("kubeconfigs written as kubectl writes them, on every runtime", () => {
  it("a component's kubeconfig: non-ASCII names, an IPv6 server", () => {
    const cfg = embeddedKubeconfig({ clusterName: "démo", server: "https://[fd00::1]:6443" }, "system:node:node-1", PEMS);
    expect(toYaml(cfg)).toBe(
      "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwRT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n    server: https://[fd00::1]:6443\n  name: démo\ncontexts:\n- context:\n    cluster: démo\n    user: system:node:node-1\n  name: system:node:node-1@démo\ncurrent-context: system:node:node-1@démo\nkind: Config\npreferences: {}\nusers:\n- name: system:node:node-1\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClkyVnlkQT09Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K\n    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCmEyVjUKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=\n",
    );
  });

  it("strings YAML would read as something else are quoted as go-yaml quotes them", () => {
    const cfg = embeddedKubeconfig({ clusterName: "yes", server: "https://10.0.0.1:6443", contextName: "0755:{user}" }, "null", PEMS);
    cfg.contexts![0]!.context.namespace = "- x: y";
    const yaml = toYaml(cfg);
    expect(yaml).toBe(
      'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwRT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n    server: https://10.0.0.1:6443\n  name: "yes"\ncontexts:\n- context:\n    cluster: "yes"\n    namespace: \'- x: y\'\n    user: "null"\n  name: 0755:null\ncurrent-context: 0755:null\nkind: Config\npreferences: {}\nusers:\n- name: "null"\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClkyVnlkQT09Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K\n    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCmEyVjUKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=\n',
    );
    expect(toYaml(parseKubeconfig(yaml, "x.conf"))).toBe(yaml);
  });

  it("the component kubeconfigs of a PKI made in memory: one per component, 0600, each embedding its client's pair", async () => {
    const pki = await makeClusterPki(clusterSpec({ nodeName: "node-1", key: { algo: "ecdsa" } }));
    const files = componentKubeconfigFiles(pki, { clusterName: "lab", server: "https://10.1.2.3:6443" });
    expect(files.map((f) => f.path)).toEqual(COMPONENT_KUBECONFIGS.map((k) => k.file));
    for (const [i, f] of files.entries()) {
      const entry = pki.entries.get(COMPONENT_KUBECONFIGS[i]!.cert)!;
      expect(f.mode).toBe(0o600);
      const cfg = parseKubeconfig(f.content, f.path);
      expect(toYaml(cfg)).toBe(f.content);
      expect(cfg.clusters![0]).toMatchObject({ name: "lab", cluster: { server: "https://10.1.2.3:6443" } });
      expect(text(cfg.clusters![0]!.cluster["certificate-authority-data"]!)).toBe(pki.entries.get("ca")!.certPem);
      expect(text(cfg.users![0]!.user["client-certificate-data"]!)).toBe(entry.certPem);
      expect(text(cfg.users![0]!.user["client-key-data"]!)).toBe(entry.key!.privateKeyPem("traditional"));
      expect(cfg["current-context"]).toBe(`${entry.def.cn(pki.spec)}@lab`);
    }
  });
});

describe("a kubeconfig checked offline, with no file to read", () => {
  it("a component kubeconfig is usable; another CA's client, a missing user and a named file are not", async () => {
    const [a, b] = await Promise.all([1, 2].map(() => makeClusterPki(clusterSpec({ key: { algo: "ecdsa" } }))));
    const admin = (pki: typeof a) => parseKubeconfig(componentKubeconfigFiles(pki!).find((f) => f.path === "admin.conf")!.content, "admin.conf");
    expect(await checkKubeconfig(admin(a))).toEqual([]);
    const mixed = admin(a);
    mixed.users![0]!.user = admin(b).users![0]!.user;
    expect((await checkKubeconfig(mixed)).map((p) => p.where)).toEqual(["contexts[kubernetes-admin@demystifions-kubernetes]"]);
    const named = admin(a);
    delete named.clusters![0]!.cluster["certificate-authority-data"];
    named.clusters![0]!.cluster["certificate-authority"] = "/etc/kubernetes/pki/ca.crt";
    named.contexts![0]!.context.user = "nobody";
    expect(await checkKubeconfig(named)).toEqual([
      {
        where: "clusters[demystifions-kubernetes].certificate-authority",
        problem: "cannot read /etc/kubernetes/pki/ca.crt: files named in a kubeconfig are not readable here",
      },
      { where: "contexts[kubernetes-admin@demystifions-kubernetes].user", problem: 'names the missing user "nobody"' },
    ]);
  });
});
