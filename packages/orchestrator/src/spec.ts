import { type ClusterSpec, InputError, clusterSpec } from "@dk-bootstrap/pki";
import { DEFAULT_KUBECONFIG_SPEC, type KubeconfigSpec } from "@dk-bootstrap/kubeconfig";
import { isAbsolute } from "node:path";
import { DEFAULT_VERSIONS, type Versions } from "./artifacts.js";

/** Every choice of a bootstrap: the PKI's, the kubeconfigs', and the node's. */
export interface NodeSpec extends ClusterSpec, KubeconfigSpec {
  /** Every path the plan writes on the node lives under it (`--remote-root`). */
  remoteRoot: string;
  versions: Versions;
  /** Pod CIDR, the same for the controller-manager, kube-proxy and the CNI; must not overlap the Service CIDR. */
  podCidr: string;
  /** `--mirror`: a static copy of the upstream download hosts. */
  mirror?: string;
  /** `--upload DIR`: a bundle folder (`dk-bootstrap bundle`); its verified files are uploaded, the node downloads nothing. */
  upload?: string;
  /** Pod networking: a bridge with host-local addresses (no image to pull), or Calico through its operator's Helm chart, as the workshop does. */
  cni: "bridge" | "calico";
  /** The workshop's optional ingress controller, installed with Helm after the web Service. */
  ingress?: "traefik";
  /** CPU architecture (`amd64`, `arm64`); detected on the node when absent. */
  arch?: string;
  /** The local cluster folder (PKI, kubeconfigs, state). */
  dir: string;
}

/** What {@link nodeSpec} takes: any choice left out (or undefined), down to a single version, gets its default. */
export type NodeSpecInput = Partial<Omit<NodeSpec, "versions">> & { dir: string; versions?: Partial<Versions> };

/** Fills defaults and checks the node-side choices; the PKI's are checked by the pki package. */
export function nodeSpec(partial: NodeSpecInput): NodeSpec {
  const spec: NodeSpec = {
    ...clusterSpec(partial),
    ...DEFAULT_KUBECONFIG_SPEC,
    remoteRoot: "/",
    podCidr: "10.244.0.0/16",
    cni: "bridge",
    ...stripUndefined(partial),
    versions: { ...DEFAULT_VERSIONS, ...stripUndefined(partial.versions ?? {}) },
  } as NodeSpec;
  if (!isAbsolute(spec.remoteRoot)) throw new InputError("must be an absolute path on the node", { field: "--remote-root", value: spec.remoteRoot });
  for (const [k, v] of Object.entries(spec.versions)) {
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(v))
      throw new InputError("not a release version such as 1.34.2", { field: `--${k === "kubernetes" ? "k8s" : k}-version`, value: v });
  }
  if (spec.cni !== "bridge" && spec.cni !== "calico") throw new InputError("must be bridge or calico", { field: "--cni", value: spec.cni });
  if (spec.ingress !== undefined && spec.ingress !== "traefik") throw new InputError("must be traefik", { field: "--ingress", value: spec.ingress });
  if (spec.mirror !== undefined && !/^https?:\/\/\S+$/.test(spec.mirror))
    throw new InputError("must be an http(s) URL", { field: "--mirror", value: spec.mirror });
  return spec;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The node's own /24 of the pod CIDR (what the controller-manager gives the first node), for the bridge CNI. */
export function nodePodSubnet(podCidr: string): string {
  const [addr] = podCidr.split("/");
  const o = addr!.split(".");
  return `${o[0]}.${o[1]}.${o[2]}.0/24`;
}
