// `reset -f cluster.yaml`, loaded by `reset` only when it is given a cluster file.
import { resetCluster } from "@dk-bootstrap/orchestrator";
import { type ClusterCommandFlags, withCluster } from "../cluster-hosts.js";
import { RunOutput } from "../render/output.js";

/** `reset -f cluster.yaml`: every host, workers first. */
export function clusterResetCommand(o: ClusterCommandFlags): Promise<void> {
  return withCluster(o, async (nodes) => {
    const outputs = new Map<string, RunOutput>();
    const out = (host: string) =>
      outputs.get(host) ?? outputs.set(host, new RunOutput({ host, json: o.json ?? false, verbose: o.verbose ?? false })).get(host)!;
    try {
      await resetCluster(nodes, 10, (host, e) => out(host).sink(e));
      for (const n of nodes) process.stdout.write(`[${n.spec.nodeName}] reset done\n`);
    } finally {
      for (const x of outputs.values()) await x.close();
    }
  });
}
