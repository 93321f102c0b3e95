/**
 * The rules that turn the flags of `certs` (and of every command that makes the cluster folder) into a
 * ClusterSpec and a KubeconfigSpec. Kept apart from the commands, with no node: import, so that the page
 * (packages/web) checks its form with these very rules and messages.
 */
import {
  type ClusterSpec,
  DEFAULT_KEY_SIZES,
  InputError,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  clusterSpec,
  isDns1123Subdomain,
  parseDuration,
  validateKeySpec,
} from "@dk-bootstrap/pki";
import { DEFAULT_KUBECONFIG_SPEC, type KubeconfigSpec } from "@dk-bootstrap/kubeconfig";

/** What the node is called and where it is: the certificates and the node's plan both depend on it. */
export interface IdentityOptions {
  nodeName?: string;
  nodeIp?: string[];
  serviceCidr?: string;
  clusterDomain?: string;
  clusterName?: string;
}

/** How the PKI and the component kubeconfigs are made (certs, ssh, local). */
export interface PkiOptions {
  keyAlgo?: string;
  keySize?: string;
  keyFormat?: string;
  validity?: string;
  server?: string;
  contextName?: string;
  force?: boolean;
  allowNameRemoval?: boolean;
}

/** Turns the flags into a ClusterSpec, naming the flag when a value is wrong; flags a command lacks keep their defaults. */
export function specFromFlags(o: Partial<IdentityOptions & PkiOptions>): ClusterSpec {
  const algo = (o.keyAlgo ?? "rsa") as KeyAlgorithm;
  if (!KEY_ALGORITHMS.includes(algo)) throw new InputError("must be rsa, ecdsa or ed25519", { field: "--key-algo", value: o.keyAlgo });
  if (algo === "ed25519" && o.keySize !== undefined)
    throw new InputError("Ed25519 keys have one size: drop --key-size", { field: "--key-size", value: o.keySize });
  const size = o.keySize === undefined ? DEFAULT_KEY_SIZES[algo] : Number(o.keySize);
  if (!Number.isInteger(size)) throw new InputError("must be a whole number", { field: "--key-size", value: o.keySize });
  // Checked here to name the flag: the library names the field of a CSR JSON (key.size).
  try {
    validateKeySpec({ algo, size });
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message.replace(/^size: /, "").replace(/ \(got .*\)$/, ""), { field: "--key-size", value: size });
    throw e;
  }
  return clusterSpec({
    ...(o.nodeName !== undefined ? { nodeName: o.nodeName } : {}),
    nodeIPs: o.nodeIp ?? [],
    ...(o.serviceCidr !== undefined ? { serviceCidr: o.serviceCidr } : {}),
    ...(o.clusterDomain !== undefined ? { clusterDomain: o.clusterDomain } : {}),
    key: { algo, size },
    ...(o.keyFormat !== undefined ? { keyFormat: o.keyFormat as ClusterSpec["keyFormat"] } : {}),
    ...(o.validity !== undefined ? { certValidityMs: parseDuration(o.validity, { field: "--validity" }) } : {}),
  });
}

/** The kubeconfigs' choices from the flags; a flag a command lacks keeps its default. */
export function kubeconfigSpecFromFlags(o: PkiOptions & IdentityOptions): KubeconfigSpec {
  if (o.server !== undefined) checkServerUrl(o.server);
  // The name goes into cluster.yaml's metadata.name, which `apply -f` reads as a DNS-1123 subdomain.
  if (o.clusterName !== undefined && !isDns1123Subdomain(o.clusterName))
    throw new InputError("a cluster name must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.'), as cluster.yaml's metadata.name", {
      field: "--cluster-name",
      value: o.clusterName,
    });
  return {
    clusterName: o.clusterName ?? DEFAULT_KUBECONFIG_SPEC.clusterName,
    server: o.server ?? DEFAULT_KUBECONFIG_SPEC.server,
    ...(o.contextName !== undefined ? { contextName: o.contextName } : {}),
  };
}

/** The apiserver serves HTTPS only: a URL without a scheme, or with another, would give kubeconfigs no client can use. */
function checkServerUrl(server: string): void {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "https:" || url.hostname === "")
    throw new InputError("must be an https:// URL, e.g. https://192.168.1.10:6443", { field: "--server", value: server });
}
