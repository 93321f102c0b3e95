// The cluster folder the rotate-ca tests start from, as apply leaves it: its PKI, nothing ran on any host.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_VERSIONS, hostSpec, parseClusterFile, writeClusterPki } from "@dk-bootstrap/orchestrator";

/** Writes `file` as CWD/cluster.yaml and the PKI apply would write for it (first controller 10.9.0.1) to CWD/cluster. */
export async function clusterFolder(cwd: string, file: string): Promise<string> {
  writeFileSync(join(cwd, "cluster.yaml"), file);
  const dir = join(cwd, "cluster");
  const { cluster } = parseClusterFile(file, "cluster.yaml");
  const specs = cluster.hosts.map((h) =>
    hostSpec(
      cluster,
      h,
      { nodeName: h.nodeName!, nodeIPs: [h.ssh.address] },
      { dir, versions: DEFAULT_VERSIONS, clusterSteps: h.role !== "worker", controllerIp: "10.9.0.1" },
    ),
  );
  await writeClusterPki({ dir, cluster }, specs, "10.9.0.1");
  return dir;
}
