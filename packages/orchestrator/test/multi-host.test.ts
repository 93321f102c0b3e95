// One node's plan inside a cluster of several: what each role runs, and etcd members that name each other.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type NodeSpecInput, explainStep, nodeSpec, plan, renderScript } from "@dk-bootstrap/orchestrator";

const members = [
  { name: "cp1", ip: "10.1.0.1" },
  { name: "cp2", ip: "10.1.0.2" },
  { name: "cp3", ip: "10.1.0.3" },
];
const spec = (over: Partial<NodeSpecInput>) => nodeSpec({ dir: "/tmp/x", ...over });

describe("steps by role", () => {
  const ids = (over: Partial<NodeSpecInput>) => plan({}, spec(over)).map((s) => s.id);
  it("a worker runs the kubelet and its neighbours only", () => {
    expect(ids({ role: "worker", clusterSteps: false })).toEqual(["containerd", "kubelet", "cni", "kube-proxy"]);
  });
  it("a controller runs the control plane, and the cluster-wide objects only when it is the one chosen", () => {
    expect(ids({ role: "controller", clusterSteps: false })).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
    expect(ids({ role: "controller", clusterSteps: true })).toEqual([
      "etcd",
      "kube-apiserver",
      "rbac",
      "kube-controller-manager",
      "kube-scheduler",
      "coredns",
      "web",
    ]);
  });
  it("the one-node cluster runs everything, as before", () => {
    expect(ids({})).toEqual([
      "etcd",
      "kube-apiserver",
      "rbac",
      "kube-controller-manager",
      "kube-scheduler",
      "containerd",
      "kubelet",
      "cni",
      "kube-proxy",
      "coredns",
      "web",
    ]);
  });
  it("a worker can't apply the cluster-wide objects", () => {
    expect(() => spec({ role: "worker" })).toThrow(/clusterSteps: the cluster-wide objects are applied by a controller/);
  });
});

describe("an etcd member of three", () => {
  const cp2 = spec({
    nodeName: "cp2",
    nodeIPs: ["10.1.0.2"],
    role: "controller",
    clusterSteps: false,
    etcdCluster: { members, state: "new", token: "demo-1234" },
  });
  const etcd = explainStep(cp2, "etcd");
  it("listens for its peers on its node IP and names every member", () => {
    expect(etcd).toContain("--listen-peer-urls=https://10.1.0.2:2380 --initial-advertise-peer-urls=https://10.1.0.2:2380");
    expect(etcd).toContain("--initial-cluster=cp1=https://10.1.0.1:2380,cp2=https://10.1.0.2:2380,cp3=https://10.1.0.3:2380");
    expect(etcd).toContain("--initial-cluster-state=new --initial-cluster-token=demo-1234");
    expect(etcd).toContain("--listen-client-urls=https://127.0.0.1:2379,https://10.1.0.2:2379");
  });
  it("joins a running cluster as existing", () => {
    const joining = spec({
      nodeName: "cp3",
      nodeIPs: ["10.1.0.3"],
      role: "controller",
      clusterSteps: false,
      etcdCluster: { members, state: "existing", token: "demo-1234" },
    });
    expect(explainStep(joining, "etcd")).toContain("--initial-cluster-state=existing");
  });
  it("its apiserver reaches every member, its own first", () => {
    expect(explainStep(cp2, "kube-apiserver")).toContain("--etcd-servers=https://127.0.0.1:2379,https://10.1.0.1:2379,https://10.1.0.3:2379");
  });
  it("the one-node etcd stays on loopback, with no token", () => {
    const one = explainStep(spec({}), "etcd");
    expect(one).toContain("--listen-peer-urls=https://127.0.0.1:2380");
    expect(one).not.toContain("--initial-cluster-token");
    expect(explainStep(spec({}), "kube-apiserver")).toContain("--etcd-servers=https://127.0.0.1:2379 ");
  });
});

describe("a worker's bridge network", () => {
  it("takes the node's own pod range from the API, as the node, under dash", () => {
    const root = mkdtempSync(join(tmpdir(), "dk-cni-"));
    try {
      const worker = spec({ nodeName: "w1", role: "worker", clusterSteps: false, remoteRoot: root });
      const script = renderScript(worker, { from: "cni", until: "cni" });
      // A kubectl that answers as the API would for node w1, and fails for anything else or another kubeconfig.
      mkdirSync(join(root, "usr/local/bin"), { recursive: true });
      writeFileSync(
        join(root, "usr/local/bin/kubectl"),
        `#!/bin/sh\ncase "$*" in *"--kubeconfig=${root}/etc/kubernetes/kubelet.conf get node w1 -o jsonpath={.spec.podCIDR}"*) echo 10.244.3.0/24 ;; *) exit 1 ;; esac\n`,
        { mode: 0o755 },
      );
      const template = /cat > (\S+10-bridge\.conflist\.template) <<'DK_EOF'\n([\s\S]*?)\nDK_EOF/.exec(script)!;
      mkdirSync(join(template[1]!, ".."), { recursive: true });
      writeFileSync(template[1]!, template[2]!);
      const bridge = /^.*dk_wait 120 .*podCIDR.*\n(subnet=.*\n.*cmp -s.*)$/m.exec(script)!;
      const r = spawnSync("dash", ["-c", bridge[1]!], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const path = join(root, "etc/cni/net.d/10-bridge.conflist");
      const conflist = JSON.parse(readFileSync(path, "utf8"));
      expect(conflist.plugins[0].ipam.ranges[0][0].subnet).toBe("10.244.3.0/24");
      // containerd reloads on every change in this folder: the same file again is left alone (same inode, nothing
      // written), and nothing is left beside it.
      const inode = statSync(path).ino;
      const again = spawnSync("dash", ["-c", bridge[1]!], { encoding: "utf8" });
      expect(again.status, again.stderr).toBe(0);
      expect(statSync(path).ino).toBe(inode);
      expect(readdirSync(join(root, "etc/cni/net.d"))).toEqual(["10-bridge.conflist"]);
      expect(script).toMatch(/--kubeconfig=\S+\/kubelet.conf get node w1 -o '\\''jsonpath=\{.status.conditions/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the preflight's port check on a step run again", () => {
  const script = renderScript(spec({}), { until: "etcd" });
  const fn = /^dk_own_port\(\) .*$/m.exec(script)![0];
  const own = (ss: string, owners: string) => spawnSync("dash", ["-c", `${fn}\ndk_own_port "$1" "$2"`, "sh", ss, owners]).status;
  it("lets the component that the step restarts hold its own port", () => {
    expect(script).toMatch(/for spec in 2379:etcd 2380:etcd;/);
    expect(own('LISTEN 0 4096 10.1.0.2:2380 0.0.0.0:* users:(("etcd",pid=127,fd=7))', "etcd")).toBe(0);
  });
  it("still refuses a port another program holds, or one whose holder it can't see", () => {
    expect(own('LISTEN 0 511 0.0.0.0:2380 0.0.0.0:* users:(("nginx",pid=9,fd=6))', "etcd")).not.toBe(0);
    expect(own("LISTEN 0 511 0.0.0.0:2380 0.0.0.0:*", "etcd")).not.toBe(0);
    expect(own('LISTEN 0 1 0.0.0.0:2380 0.0.0.0:* users:(("etcd",pid=1,fd=7))\nLISTEN 0 1 [::]:2380 [::]:* users:(("java",pid=2,fd=3))', "etcd")).not.toBe(0);
  });
});
