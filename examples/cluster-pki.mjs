// Generate a cluster's PKI and its component kubeconfigs offline, into a folder given as argument.
import { clusterSpec, generateClusterPki } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";

const dir = process.argv[2] ?? "./cluster";
const pki = await generateClusterPki(clusterSpec({ nodeName: "node1", nodeIPs: ["192.168.1.10"], key: { algo: "ecdsa", size: 256 } }), dir);
const kubeconfigs = await writeComponentKubeconfigs(pki, { clusterName: "lab", server: "https://192.168.1.10:6443" });
console.log(`${pki.actions.filter((a) => a.action === "made").length} made, ${pki.actions.filter((a) => a.action === "kept").length} kept`);
console.log(`kubeconfigs: ${kubeconfigs.map((k) => k.file).join(" ")}`);
