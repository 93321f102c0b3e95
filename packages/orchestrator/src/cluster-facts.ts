// What is asked of the hosts before anything is decided or done: each host's node name and own addresses, and from
// them (with the cluster folder's record of the last apply) each host's node spec as apply made it. apply, the
// whole-cluster commands (status, reset, versions), etcd's backup and restore and the CA rotation all start from these
// facts; they live here, below all of them, so that none of those has to import another to learn them.
import { isIP } from "node:net";
import { DkError } from "@dk-bootstrap/pki";
import { chooseNodeIPs, nodeAddresses } from "./addresses.js";
import { pool, readApplyRecord } from "./apply-record.js";
import type { ClusterFile, ClusterHost } from "./cluster-file.js";
import { hostSpec } from "./host-spec.js";
import type { Versions } from "./releases.js";
import { sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import type { Transport } from "./transport/transport.js";

/** One host of the file with its open connection (root already, where the plan needs it). */
export interface HostConnection {
  host: ClusterHost;
  transport: Transport;
}

/** Facts asked of a host before anything is decided: its name and its own addresses. */
export interface Facts {
  nodeName: string;
  nodeIPs: string[];
}

/** A host's name (the file's, else its hostname) and its own addresses (the file's, which it must hold, else detected). */
export async function gatherFacts(c: HostConnection): Promise<Facts> {
  const nodeName = c.host.nodeName ?? (await c.transport.run(sh`hostname`)).stdout.trim().toLowerCase();
  const nodeIPs = chooseNodeIPs(await nodeAddresses(c.transport), c.host.nodeIPs, isIP(c.host.ssh.address) ? c.host.ssh.address : undefined, c.transport.host);
  return { nodeName, nodeIPs };
}

/** What {@link clusterNodes} needs of a run's options (a subset of apply's own). */
export interface ClusterNodesOptions {
  /** The local cluster folder, whose apply record holds the etcd members and versions of the last apply. */
  dir: string;
  cluster: ClusterFile;
  /** The versions to assume where the record holds none (a cluster never applied). */
  versions: Versions;
  /** How many hosts are asked at once. */
  concurrency: number;
}

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
  options: ClusterNodesOptions,
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
