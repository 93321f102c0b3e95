// Generate a cluster's PKI and its component kubeconfigs offline, into the folder given as argument (else a new
// temporary folder: an example run leaves nothing behind in the folder it is run from).
//   node examples/cluster-pki.mjs [DIR]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterSpec, generateClusterPki, withClusterFolder } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "dk-cluster-"));
// One set, under the folder's lock: the PKI and the kubeconfigs that embed it are written all together or not at all.
const { pki, kubeconfigs } = await withClusterFolder(dir, undefined, async (folder) => {
  const pki = await generateClusterPki(clusterSpec({ nodeName: "node1", nodeIPs: ["192.168.1.10"], key: { algo: "ecdsa" } }), dir, { folder });
  return { pki, kubeconfigs: await writeComponentKubeconfigs(pki, { clusterName: "lab", server: "https://192.168.1.10:6443" }, { folder }) };
});
console.log(`${pki.actions.filter((a) => a.action === "made").length} made, ${pki.actions.filter((a) => a.action === "kept").length} kept`);
console.log(`kubeconfigs: ${kubeconfigs.map((k) => k.file).join(" ")}`);
console.log(`in ${dir}`);
