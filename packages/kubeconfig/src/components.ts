import { join, resolve } from "node:path";
import { type ClusterFolder, type ClusterPki, PkiError, withClusterFolder } from "@dk-bootstrap/pki";
import { type Config, emptyConfig, putEntry } from "./model.js";
import { parseKubeconfig, toYaml } from "./yaml.js";

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
  const b64 = (s: string) => Buffer.from(s).toString("base64");
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
 * Writes the component kubeconfigs next to `pki/` (0600); returns which files were written and which were
 * already up to date. With `folder` (the one the PKI was staged in), they join that run's set of files and
 * are written with it, all or none; without it, the folder is opened and committed here.
 */
export function writeComponentKubeconfigs(
  pki: ClusterPki,
  spec: KubeconfigSpec = DEFAULT_KUBECONFIG_SPEC,
  options: { folder?: ClusterFolder } = {},
): Promise<{ file: string; action: "kept" | "made" }[]> {
  return withClusterFolder(pki.dir, options.folder, async (folder) => {
    const result: { file: string; action: "kept" | "made" }[] = [];
    for (const [file, cfg] of componentKubeconfigs(pki, spec)) {
      const path = join(pki.dir, file);
      const yaml = toYaml(cfg); // certificates are embedded: no paths to make relative
      if ((await folder.read(path)) === yaml) result.push({ file, action: "kept" });
      else {
        await folder.stage(path, yaml, { mode: 0o600 });
        result.push({ file, action: "made" });
      }
    }
    return result;
  });
}

/**
 * After `renew`, puts the renewed client certificates and keys of `<dir>/pki` into the component
 * kubeconfigs that exist in `dir`, keeping their cluster, server and names. Returns the files rewritten.
 * With `folder` (the one `renewCertificates` staged in), it reads the renewed files staged there and its
 * kubeconfigs join the same set: the kubeconfigs never hold a certificate that `pki/` does not.
 */
export function refreshComponentKubeconfigs(dir: string, options: { folder?: ClusterFolder } = {}): Promise<string[]> {
  return withClusterFolder(dir, options.folder, async (folder) => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const base = resolve(dir);
    const inPki = (rel: string) => folder.read(join(base, "pki", rel));
    const ca = await inPki("ca.crt");
    const written: string[] = [];
    for (const k of COMPONENT_KUBECONFIGS) {
      const path = join(base, k.file);
      const [text, cert, key] = await Promise.all([folder.read(path), inPki(`${k.cert}.crt`), inPki(`${k.cert}.key`)]);
      if (text === undefined || cert === undefined || key === undefined) continue;
      const cfg = parseKubeconfig(text, path);
      for (const { user } of cfg.users ?? []) Object.assign(user, { "client-certificate-data": b64(cert), "client-key-data": b64(key) });
      if (ca !== undefined) for (const { cluster } of cfg.clusters ?? []) cluster["certificate-authority-data"] = b64(ca);
      const yaml = toYaml(cfg);
      if (yaml === text) continue;
      await folder.stage(path, yaml, { mode: 0o600 });
      written.push(k.file);
    }
    return written;
  });
}
