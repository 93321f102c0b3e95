import { type ClusterFolder, type ClusterPki, generateClusterPki, withClusterFolder } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import type { ClusterFile } from "./cluster-file.js";
import { type NodeSpec, httpsUrl } from "./spec.js";

/**
 * The PKI of every node (`nodes/NAME`), the cluster's CAs once (`pki/`), and the admin's kubeconfigs
 * for this machine, pointed at the apiEndpoint or the first controller: written as one set, or not at all.
 */
export async function writeClusterPki(
  options: { dir: string; cluster: ClusterFile; force?: boolean; allowNameRemoval?: boolean },
  nodes: NodeSpec[],
  controllerIp: string,
  /** The cluster folder, already open: the files join its set, committed by the caller. */
  open?: ClusterFolder,
): Promise<void> {
  const first = nodes.find((n) => n.clusterSteps) ?? nodes[0]!;
  await withClusterFolder(options.dir, open, async (folder) => {
    const cluster = await generateClusterPki({ ...first, apiServerSans: [] }, options.dir, {
      folder,
      force: options.force ?? false,
      leaves: (d) => d.name === "clients/admin" || d.name === "clients/super-admin",
    });
    await writeComponentKubeconfigs(
      cluster,
      { clusterName: options.cluster.name, server: options.cluster.apiEndpoint ?? httpsUrl(controllerIp, 6443) },
      { folder },
    );
    for (const spec of nodes) {
      const pki: ClusterPki = await generateClusterPki(spec, spec.dir, {
        folder,
        node: { dir: spec.dir, role: spec.role, cluster },
        allowNameRemoval: options.allowNameRemoval ?? false,
      });
      await writeComponentKubeconfigs(pki, spec, { folder });
    }
  });
}
