// `logs -f cluster.yaml HOST COMPONENT`, loaded by `logs` only when it is given a cluster file.
import { DkError, InputError } from "@dk-bootstrap/pki";
import { type ClusterNode, componentLogs } from "@dk-bootstrap/orchestrator";
import { type ClusterCommandFlags, withCluster } from "../cluster-hosts.js";

/** `logs --file cluster.yaml HOST COMPONENT`: HOST is a node name or an address of the file. */
export function clusterLogsCommand(o: ClusterCommandFlags, host: string, component: string, options: { follow: boolean; lines: number }): Promise<void> {
  // Only the host named must answer: a log is what one reads when another node is down.
  return withCluster(
    o,
    async (nodes, unreachable) => {
      const named = (n: ClusterNode) => n.spec.nodeName === host || n.conn.host.ssh.address === host;
      const down = unreachable.find((u) => named(u.node));
      if (down) throw new DkError(`${host} did not answer: ${down.reason}`, "SSH");
      const node = nodes.find(named);
      const all = [...nodes, ...unreachable.map((u) => u.node)];
      if (!node) throw new InputError(`no such host in ${o.file}; hosts: ${all.map((n) => n.spec.nodeName).join(", ")}`, { field: "HOST", value: host });
      await componentLogs(node.spec, node.conn.transport, component, { ...options, onLine: (line) => process.stdout.write(`${line}\n`) });
    },
    { partial: true },
  );
}
