import { join } from "node:path";
import { DEFAULT_KEY_SIZES, type KeyAlgorithm, type PrivateKeyFormat, parseDuration } from "@dk-bootstrap/pki";
import type { ClusterFile, ClusterHost } from "./cluster-file.js";
import type { Versions } from "./releases.js";
import { type EtcdCluster, type NodeSpec, httpsUrl, nodeSpec } from "./spec.js";

/** What a host's spec depends on besides its entry in the file. */
export interface HostContext {
  dir: string;
  versions: Versions;
  /** This host applies the cluster-wide objects (the file's first controller). */
  clusterSteps: boolean;
  /** Where workers reach the API without an apiEndpoint: the first controller's node IP. */
  controllerIp: string;
  etcdCluster?: EtcdCluster;
}

/** One host's node spec: the one-node machinery's input, for this host's role, name, addresses and folder. */
export function hostSpec(cl: ClusterFile, host: ClusterHost, facts: { nodeName: string; nodeIPs: string[] }, ctx: HostContext): NodeSpec {
  const controller = host.role !== "worker";
  return nodeSpec({
    nodeName: facts.nodeName,
    nodeIPs: facts.nodeIPs,
    ...pkiChoices(cl),
    ...(cl.network.serviceCIDR ? { serviceCidr: cl.network.serviceCIDR } : {}),
    ...(cl.network.clusterDomain ? { clusterDomain: cl.network.clusterDomain } : {}),
    ...(cl.network.podCIDR ? { podCidr: cl.network.podCIDR } : {}),
    ...(cl.network.cni ? { cni: cl.network.cni as NodeSpec["cni"] } : {}),
    ...(cl.addons.ingress ? { ingress: cl.addons.ingress as NonNullable<NodeSpec["ingress"]> } : {}),
    ...(cl.addons.webImage ? { webImage: cl.addons.webImage } : {}),
    ...(cl.mirror ? { mirror: cl.mirror } : {}),
    ...(cl.checksums ? { checksums: cl.checksums } : {}),
    ...(cl.allowHttpMirror ? { allowHttpMirror: true } : {}),
    ...(cl.images ? { images: cl.images } : {}),
    ...(cl.apiEndpoint ? { apiServerSans: [new URL(cl.apiEndpoint).hostname.replace(/^\[|\]$/g, "")] } : {}),
    remoteRoot: host.remoteRoot,
    versions: ctx.versions,
    dir: join(ctx.dir, "nodes", facts.nodeName),
    clusterName: cl.name,
    // A controller's components talk to its own apiserver; a worker's to the endpoint, else the first controller.
    server: controller ? "https://127.0.0.1:6443" : (cl.apiEndpoint ?? httpsUrl(ctx.controllerIp, 6443)),
    role: host.role,
    clusterSteps: ctx.clusterSteps,
    ...(controller && ctx.etcdCluster ? { etcdCluster: ctx.etcdCluster } : {}),
  });
}

/** The file's PKI choices as a node spec takes them (the file was checked: the algorithm is one of KEY_ALGORITHMS). */
function pkiChoices(cl: ClusterFile): Partial<NodeSpec> {
  const p = cl.pki;
  const algo = (p.keyAlgorithm ?? "rsa") as KeyAlgorithm;
  return {
    key: { algo, size: p.keySize ?? DEFAULT_KEY_SIZES[algo] },
    ...(p.keyFormat ? { keyFormat: p.keyFormat as PrivateKeyFormat } : {}),
    ...(p.certificateValidity ? { certValidityMs: parseDuration(p.certificateValidity, { field: "spec.pki.certificateValidity" }) } : {}),
    ...(p.contextName ? { contextName: p.contextName } : {}),
  };
}
