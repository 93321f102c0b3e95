import { type ClusterSpec, InputError, clusterSpec, firstServiceIP } from "@dk-bootstrap/pki";
import { DEFAULT_KUBECONFIG_SPEC, type KubeconfigSpec } from "@dk-bootstrap/kubeconfig";
import { isAbsolute } from "node:path";
import { isCidr } from "./cidr.js";
import { normalRemoteRoot } from "./remote-root.js";
import { DEFAULT_VERSIONS, type Versions } from "./releases.js";

/** What a host runs: etcd and the control plane, the kubelet and its neighbours, or both (the one-node cluster). */
export type Role = "controller" | "worker" | "controller+worker";

/** One etcd member of a cluster of several: its name (the node's) and the address its peers dial. */
export interface EtcdMember {
  name: string;
  ip: string;
}

/** The etcd cluster a controller's member belongs to, when there are several controllers. */
export interface EtcdCluster {
  /** Every member, this node's included: `--initial-cluster`, and the apiserver's `--etcd-servers`. */
  members: EtcdMember[];
  /** `new` when the members start together; `existing` for a member added to a running cluster (`member add` first). */
  state: "new" | "existing";
  /** `--initial-cluster-token`: unique per cluster, so members of two clusters never join each other. */
  token: string;
}

/** Every choice of a bootstrap: the PKI's, the kubeconfigs', and the node's. */
export interface NodeSpec extends ClusterSpec, KubeconfigSpec {
  /** What this node runs; `controller+worker` for the one-node cluster. */
  role: Role;
  /** This node applies the cluster-wide objects (RBAC, CoreDNS, the workshop's app): one controller of the cluster. */
  clusterSteps: boolean;
  /** Several controllers: the etcd members. Absent: one member on loopback, as the workshop runs it. */
  etcdCluster?: EtcdCluster;
  /** Every path the plan writes on the node lives under it (`--remote-root`). */
  remoteRoot: string;
  versions: Versions;
  /** Pod CIDR, the same for the controller-manager, kube-proxy and the CNI; must not overlap the Service CIDR. */
  podCidr: string;
  /** `--mirror`: a static copy of the upstream download hosts. Its own checksum files are never trusted (see checksums.ts). */
  mirror?: string;
  /** `--checksums FILE`: the operator's table of trusted SHA-256 per upstream URL (`SHA256  URL` lines). */
  checksums?: string;
  /**
   * `--allow-http-mirror`: a plain `http://` mirror. The files are still checked against trusted checksums, but
   * anyone on the path sees which versions the nodes install and can withhold or stall them.
   */
  allowHttpMirror?: boolean;
  /** The trusted SHA-256 of each download by upstream URL, pinned before a run with a mirror (`trustedSha256`). */
  pinnedSha256?: Readonly<Record<string, string>>;
  /** `--upload DIR`: a bundle folder (`dk-bootstrap bundle`); its verified files are uploaded, the node downloads nothing. */
  upload?: string;
  /** Pod networking: a bridge with host-local addresses (no image to pull), or Calico through its operator's Helm chart, as the workshop does. */
  cni: "bridge" | "calico";
  /** Cluster DNS: CoreDNS as kubeadm installs it (the kubelet then points Pods at it), or none. */
  dns: "coredns" | "none";
  /** The workshop's optional ingress controller, installed with Helm after the web Service. */
  ingress?: "traefik";
  /** The workshop's web app image (the web step's Deployment); default `zwindler/vhelloworld`, the seed's. */
  webImage: string;
  /**
   * Image archives (local, absolute paths; OCI layout or `docker save` tars) imported into the node's
   * containerd before the kubelet needs them, for nodes that reach no registry (images/node-images.ts).
   */
  images?: string[];
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
    role: "controller+worker",
    clusterSteps: true,
    podCidr: "10.244.0.0/16",
    cni: "bridge",
    dns: "coredns",
    webImage: "zwindler/vhelloworld",
    ...stripUndefined(partial),
    versions: { ...DEFAULT_VERSIONS, ...stripUndefined(partial.versions ?? {}) },
  } as NodeSpec;
  // One spelling (`//` and `/./` are `/`), before anything compares it with `/`.
  spec.remoteRoot = normalRemoteRoot(spec.remoteRoot);
  for (const [k, v] of Object.entries(spec.versions)) {
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(v))
      throw new InputError("not a release version such as 1.34.2", { field: `--${k === "kubernetes" ? "k8s" : k}-version`, value: v });
  }
  if (!["controller", "worker", "controller+worker"].includes(spec.role))
    throw new InputError("must be controller, worker or controller+worker", { field: "role", value: spec.role });
  if (spec.clusterSteps && !spec.role.startsWith("controller"))
    throw new InputError("the cluster-wide objects are applied by a controller", { field: "clusterSteps", value: spec.role });
  if (!isCidr(spec.podCidr)) throw new InputError("not a CIDR, e.g. 10.244.0.0/16", { field: "--pod-cidr", value: spec.podCidr });
  if (spec.cni !== "bridge" && spec.cni !== "calico") throw new InputError("must be bridge or calico", { field: "--cni", value: spec.cni });
  if (spec.dns !== "coredns" && spec.dns !== "none") throw new InputError("must be coredns or none", { field: "--dns", value: spec.dns });
  if (spec.dns === "coredns") dnsServiceIP(spec.serviceCidr);
  if (spec.ingress !== undefined && spec.ingress !== "traefik") throw new InputError("must be traefik", { field: "--ingress", value: spec.ingress });
  for (const p of spec.images ?? []) if (!isAbsolute(p)) throw new InputError("an image archive's path must be absolute", { field: "--images", value: p });
  if (spec.mirror !== undefined && !/^https?:\/\/\S+$/.test(spec.mirror))
    throw new InputError("must be an http(s) URL", { field: "--mirror", value: spec.mirror });
  if (spec.mirror?.startsWith("http://") && spec.allowHttpMirror !== true)
    throw new InputError(
      "is plain http: anyone on the path sees which versions the nodes install and can withhold or stall them",
      { field: "--mirror", value: spec.mirror },
      {
        hint: "serve it over https, or accept that with --allow-http-mirror (spec.allowHttpMirror: true); checksums still come from --checksums or the upstream",
      },
    );
  return spec;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Whether a node of this role runs a step of this kind. */
export function runsOn(spec: Pick<NodeSpec, "role" | "clusterSteps">, kind: "controller" | "worker" | "cluster" | undefined): boolean {
  if (kind === undefined) return true;
  if (kind === "cluster") return spec.clusterSteps;
  return spec.role === "controller+worker" || spec.role === kind;
}

/** The client URL of an address: IPv6 in brackets. */
export const httpsUrl = (ip: string, port: number): string => `https://${ip.includes(":") ? `[${ip}]` : ip}:${port}`;

/**
 * The cluster DNS Service's address: the tenth IP of the Service CIDR (`10.96.0.10` for `10.96.0.0/12`),
 * as kubeadm's GetDNSIP picks it. IPv4 or IPv6; the range must hold it.
 */
export function dnsServiceIP(serviceCidr: string): string {
  const first = firstServiceIP(serviceCidr); // checks the CIDR
  const [, bits] = serviceCidr.split("/");
  const v6 = first.includes(":");
  const size = 1n << BigInt((v6 ? 128 : 32) - Number(bits));
  // Index 10 and the range's last address (its broadcast, for IPv4) must both fit.
  if (size <= 11n) throw new InputError("too small to hold the cluster DNS Service IP (its tenth address)", { field: "--service-cidr", value: serviceCidr });
  const ip = toBig(first) + 9n;
  return v6 ? fromBig6(ip) : [24n, 16n, 8n, 0n].map((s) => ((ip >> s) & 255n).toString()).join(".");
}

function toBig(ip: string): bigint {
  if (!ip.includes(":")) return ip.split(".").reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/** An IPv6 address in its canonical text (RFC 5952, as the URL parser writes a host). */
function fromBig6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}
