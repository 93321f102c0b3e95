// What the whole-cluster commands do across the hosts apply made (status, versions, reset), starting from each host's
// spec as cluster-facts.ts rebuilds it.
import type { ClusterNode } from "./cluster-facts.js";
import { pool } from "./apply-record.js";
import { EtcdControl, type ListedMember } from "./etcd-membership.js";
import type { EventSink } from "./events.js";
import { reset } from "./reset.js";
import { NodeLayout } from "./node.js";
import { sh } from "./shell.js";
import { type StepStatus, nodeStatus } from "./status.js";

/** The releases of the programs on a node, read from the node (`--version`), not assumed: `etcd`, `kubelet`, ... */
export async function installedVersions(node: ClusterNode): Promise<Record<string, string>> {
  const bin = new NodeLayout(node.spec.remoteRoot).bin;
  const programs = ["etcd", "kube-apiserver", "kubelet", "kube-proxy", "containerd", "runc"];
  const r = await node.conn.transport.run(
    sh`for p in ${programs}; do if [ -x ${bin}/"$p" ]; then printf '%s %s\n' "$p" "$(${bin}/"$p" --version 2>&1 | head -1)"; fi; done`,
  );
  const out: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const m = /^(\S+) .*?v?(\d+\.\d+\.\d+[\w.-]*)/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Every host's steps (done, current, healthy) and etcd's members as a healthy controller reports them. */
export async function clusterStatus(
  nodes: ClusterNode[],
  concurrency: number,
): Promise<{ hosts: { node: ClusterNode; steps: StepStatus[] | Error }[]; members: ListedMember[] | undefined; health: Map<string, boolean> }> {
  const hosts = await pool(nodes, concurrency, async (node) => ({ node, steps: await nodeStatus(node.spec, node.conn.transport).catch((e: Error) => e) }));
  let members: ListedMember[] | undefined;
  let health = new Map<string, boolean>();
  for (const n of nodes.filter((x) => x.spec.role !== "worker")) {
    const control = new EtcdControl(n.conn.transport, n.spec.remoteRoot);
    members = await control.members();
    if (members) {
      health = await control.health();
      break;
    }
  }
  return { hosts, members, health };
}

/** Takes the whole cluster down: workers first, then the controllers, each host cleaned of what dk-bootstrap made. */
export async function resetCluster(nodes: ClusterNode[], concurrency: number, events?: (host: string, e: Parameters<EventSink>[0]) => void): Promise<void> {
  const workers = nodes.filter((n) => n.spec.role === "worker");
  const controllers = nodes.filter((n) => n.spec.role !== "worker");
  for (const group of [workers, controllers])
    await pool(group, concurrency, (n) => reset(n.spec, n.conn.transport, { events: (e) => events?.(n.spec.nodeName, e) }));
}
