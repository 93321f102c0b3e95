import { isIP } from "node:net";
import { DkError } from "@dk-bootstrap/pki";
import { type ApplyOptions, type HostConnection, gatherFacts } from "./apply.js";
import { hostSpec } from "./host-spec.js";
import { pool, readApplyRecord } from "./apply-record.js";
import { EtcdControl, type ListedMember } from "./etcd-membership.js";
import type { EventSink } from "./events.js";
import { reset } from "./reset.js";
import { NodeLayout } from "./node.js";
import { sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import { type StepStatus, nodeStatus } from "./status.js";

/** A host of the file with the node spec its last apply used. */
export interface ClusterNode {
  conn: HostConnection;
  spec: NodeSpec;
}

/**
 * Each host's spec as `apply` made it (names and addresses asked of the hosts, etcd members as recorded
 * in the cluster folder), for commands that look at or take down the whole cluster.
 */
export async function clusterNodes(
  conns: HostConnection[],
  options: Pick<ApplyOptions, "dir" | "cluster" | "versions" | "concurrency">,
  unreachable: ReadonlySet<HostConnection> = new Set(),
): Promise<ClusterNode[]> {
  // A host that did not answer (status with a node down) is named and addressed as the file says, so that the
  // others' specs (the first controller, the etcd members) stay what they are when every host answers.
  const facts = await pool(conns, options.concurrency, (c) => (unreachable.has(c) ? Promise.resolve(fileFacts(c)) : gatherFacts(c)));
  const record = await readApplyRecord(options.dir);
  const active = conns.filter((c) => !c.host.reset);
  const first = active.find((c) => c.host.role !== "worker");
  if (!first) throw new DkError("no controller in the file", "INPUT");
  const controllerIp = facts[conns.indexOf(first)]!.nodeIPs[0] ?? first.host.ssh.address;
  const members = active
    .filter((c) => c.host.role !== "worker")
    .map((c) => ({ name: facts[conns.indexOf(c)]!.nodeName, ip: facts[conns.indexOf(c)]!.nodeIPs[0] ?? c.host.ssh.address }));
  return conns.map((conn, i) => {
    const f = facts[i]!;
    const started = record.started[f.nodeName] ?? { state: "new" as const, members };
    return {
      conn,
      spec: hostSpec(options.cluster, conn.host, f, {
        dir: options.dir,
        versions: record.versions ?? options.versions,
        clusterSteps: conn === first,
        controllerIp,
        ...(conn.host.role !== "worker" ? { etcdCluster: { ...started, token: record.token } } : {}),
      }),
    };
  });
}

/** A host's name and addresses as the file gives them (a name it leaves out: the address, as a dry run shows it). */
function fileFacts(c: HostConnection): { nodeName: string; nodeIPs: string[] } {
  const h = c.host;
  return {
    nodeName: h.nodeName ?? h.ssh.address.toLowerCase().replace(/[^a-z0-9.-]/g, "-"),
    nodeIPs: h.nodeIPs.length > 0 ? h.nodeIPs : isIP(h.ssh.address) ? [h.ssh.address] : [],
  };
}

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
