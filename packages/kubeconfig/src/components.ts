import { type ClusterFile, type ClusterPki, KEY_MODE, PkiError, toBase64, utf8 } from "@dk-bootstrap/pki";
import { type Config, emptyConfig, putEntry } from "./model.js";
import { toYaml } from "./yaml.js";

/** Where the components reach the apiserver, and what the cluster is called in their kubeconfigs. */
export interface KubeconfigSpec {
  /** Cluster name in every kubeconfig (the workshop's `demystifions-kubernetes`). */
  clusterName: string;
  /** The apiserver URL (the workshop's `https://127.0.0.1:6443`). */
  server: string;
  /** Context names, with `{user}` and `{cluster}` filled in; kubeadm's `{user}@{cluster}` by default. */
  contextName?: string;
}

/** Defaults that fit the workshop. */
export const DEFAULT_KUBECONFIG_SPEC: KubeconfigSpec = { clusterName: "demystifions-kubernetes", server: "https://127.0.0.1:6443" };

/** The component kubeconfigs, as data: file name and the client certificate of the cluster PKI it embeds. */
export const COMPONENT_KUBECONFIGS: readonly { file: string; cert: string; purpose: string }[] = [
  { file: "admin.conf", cert: "clients/admin", purpose: "you, as a cluster admin through RBAC" },
  { file: "super-admin.conf", cert: "clients/super-admin", purpose: "break-glass system:masters access, and the bootstrap's RBAC set-up" },
  { file: "controller-manager.conf", cert: "clients/controller-manager", purpose: "kube-controller-manager" },
  { file: "scheduler.conf", cert: "clients/scheduler", purpose: "kube-scheduler" },
  { file: "kubelet.conf", cert: "clients/kubelet", purpose: "the kubelet, limited to its own node by the Node authorizer" },
  { file: "kube-proxy.conf", cert: "clients/kube-proxy", purpose: "kube-proxy" },
];

/**
 * A kubeconfig with one cluster, one user and one context, certificates embedded, named as
 * kubeadm names them: user = the certificate's CN, context `<CN>@<cluster>`.
 */
export function embeddedKubeconfig(spec: KubeconfigSpec, user: string, pem: { ca: string; cert: string; key: string }): Config {
  const cfg = emptyConfig();
  const b64 = (s: string) => toBase64(utf8(s));
  const context = (spec.contextName ?? "{user}@{cluster}").replaceAll("{user}", user).replaceAll("{cluster}", spec.clusterName);
  putEntry(cfg, "clusters", { name: spec.clusterName, cluster: { "certificate-authority-data": b64(pem.ca), server: spec.server } });
  putEntry(cfg, "users", { name: user, user: { "client-certificate-data": b64(pem.cert), "client-key-data": b64(pem.key) } });
  putEntry(cfg, "contexts", { name: context, context: { cluster: spec.clusterName, user } });
  cfg["current-context"] = context;
  return cfg;
}

/** Builds every component kubeconfig from the cluster PKI in memory. */
export function componentKubeconfigs(pki: ClusterPki, spec: KubeconfigSpec = DEFAULT_KUBECONFIG_SPEC): Map<string, Config> {
  const ca = pki.entries.get("ca");
  if (!ca) throw new PkiError("the cluster PKI has no CA");
  const out = new Map<string, Config>();
  for (const k of COMPONENT_KUBECONFIGS) {
    const e = pki.entries.get(k.cert);
    // A node of a cluster of several holds the client certificates of its role only (a worker: the kubelet's and kube-proxy's).
    if (!e) continue;
    if (!e.key) throw new PkiError(`the cluster PKI has no key for ${k.cert}`);
    out.set(k.file, embeddedKubeconfig(spec, e.def.cn(pki.spec), { ca: ca.certPem, cert: e.certPem, key: e.key.privateKeyPem(pki.spec.keyFormat) }));
  }
  return out;
}

/**
 * The component kubeconfigs as the files `dk-bootstrap certs` writes beside `pki/` (`admin.conf`..., 0600), in the
 * YAML kubectl writes: byte for byte what the CLI writes for the same PKI and spec.
 */
export function componentKubeconfigFiles(pki: ClusterPki, spec: KubeconfigSpec = DEFAULT_KUBECONFIG_SPEC): ClusterFile[] {
  // Certificates are embedded: there are no paths to make relative.
  return [...componentKubeconfigs(pki, spec)].map(([path, cfg]) => ({ path, content: toYaml(cfg), mode: KEY_MODE }));
}
