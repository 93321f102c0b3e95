import { isIP } from "../ip.js";
import { InputError } from "../errors.js";
import { type KeySpec, type PrivateKeyFormat, validateKeySpec } from "../keys.js";
import { isDnsName } from "../san.js";
import { HOUR_MS } from "../duration.js";

/** Every choice about the cluster that the PKI depends on. Other packages extend it. */
export interface ClusterSpec {
  /** The node's name: the kubelet's identity and a SAN of the apiserver and etcd. */
  nodeName: string;
  /** The node's IP addresses, added to the serving certificates. */
  nodeIPs: string[];
  /** The Service CIDR; its first address is the `kubernetes` Service's ClusterIP. */
  serviceCidr: string;
  /** The cluster DNS domain. */
  clusterDomain: string;
  /** Key algorithm for every key, its size per algorithm when left out (the service-account key falls back to ECDSA P-256 for Ed25519). */
  key: KeySpec;
  /** How private keys are written: `traditional` (PKCS#1/SEC1, as kubeadm) or `pkcs8`. */
  keyFormat: PrivateKeyFormat;
  /** Leaf validity in ms (kubeadm's certificateValidityPeriod, 8760h). */
  certValidityMs: number;
  /** CA validity in ms (kubeadm's caCertificateValidityPeriod, 87600h). */
  caValidityMs: number;
  /** More names for the apiserver's certificate: the host of an `apiEndpoint` (a load balancer, a DNS name) in front of several apiservers. */
  apiServerSans?: string[];
}

/** Defaults that fit the workshop: a node called `kubernetes`, Services in 10.0.0.0/24, RSA-2048. */
export const DEFAULT_CLUSTER_SPEC: ClusterSpec = {
  nodeName: "kubernetes",
  nodeIPs: [],
  serviceCidr: "10.0.0.0/24",
  clusterDomain: "cluster.local",
  key: { algo: "rsa", size: 2048 },
  keyFormat: "traditional",
  certValidityMs: 8760 * HOUR_MS,
  caValidityMs: 87_600 * HOUR_MS,
};

/** Fills defaults and checks every field, naming the flag-like field that is wrong. */
export function clusterSpec(partial: Partial<ClusterSpec> = {}): ClusterSpec {
  const spec: ClusterSpec = { ...DEFAULT_CLUSTER_SPEC, ...partial };
  if (!isDns1123Subdomain(spec.nodeName))
    throw new InputError("a node name must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.'), as the kubelet requires", {
      field: "--node-name",
      value: spec.nodeName,
    });
  for (const ip of spec.nodeIPs) {
    // node:net takes fe80::1%eth0 as an IPv6 address, but a certificate's IP SAN is the bare address: no zone.
    if (ip.includes("%") && isIP(ip))
      throw new InputError("a zone cannot go in a certificate: give the address without its %zone", { field: "--node-ip", value: ip });
    if (!isIP(ip)) throw new InputError("not an IP address", { field: "--node-ip", value: ip });
  }
  firstServiceIP(spec.serviceCidr);
  if (!isDnsName(spec.clusterDomain)) throw new InputError("cluster domain must be a DNS name", { field: "--cluster-domain", value: spec.clusterDomain });
  spec.key = validateKeySpec(spec.key, { field: "key" });
  if (spec.keyFormat !== "traditional" && spec.keyFormat !== "pkcs8")
    throw new InputError("must be traditional or pkcs8", { field: "--key-format", value: spec.keyFormat });
  if (!(spec.certValidityMs > 0)) throw new InputError("validity must be positive", { field: "--validity", value: spec.certValidityMs });
  return spec;
}

/**
 * Kubernetes' rule for object names such as a Node's (apimachinery's IsDNS1123Subdomain): at most 253
 * characters, lower-case alphanumeric labels with inner '-', joined by '.'.
 */
export function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

/** The first usable address of a CIDR (IPv4 or IPv6), e.g. `10.0.0.1` for `10.0.0.0/24`, as kubeadm computes it. */
export function firstServiceIP(cidr: string): string {
  const [addr, bitsText] = cidr.split("/");
  const family = isIP(addr ?? "");
  const bits = Number(bitsText);
  const max = family === 4 ? 32 : 128;
  if (!family || bitsText === undefined || !Number.isInteger(bits) || bits < 0 || bits > max - 2) {
    throw new InputError("not a CIDR with room for a Service IP, e.g. 10.0.0.0/24", { field: "--service-cidr", value: cidr });
  }
  const value = family === 4 ? ipv4ToBig(addr!) : ipv6ToBig(addr!);
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(max - bits);
  const first = (value & mask) + 1n;
  return family === 4 ? bigToIpv4(first) : bigToIpv6(first);
}

function ipv4ToBig(a: string): bigint {
  return a.split(".").reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
}

function bigToIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((v >> s) & 255n).toString()).join(".");
}

function ipv6ToBig(a: string): bigint {
  const [head, tail] = a.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
}

function bigToIpv6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
