import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type ClusterFolder, type ClusterPki, KEY_MODE, toBase64, utf8, withClusterFolder } from "@dk-bootstrap/pki";
import { COMPONENT_KUBECONFIGS, DEFAULT_KUBECONFIG_SPEC, type KubeconfigSpec, componentKubeconfigFiles, componentKubeconfigs } from "./components.js";
import { keepEdits } from "./kept-edits.js";
import { parseKubeconfig, toYaml } from "./yaml.js";

/** One component kubeconfig after a run: written or kept, and what to tell the user about it (an edit kept, a backup). */
export interface KubeconfigWrite {
  file: string;
  action: "kept" | "made";
  note?: string;
}

/**
 * Writes the component kubeconfigs next to `pki/` (0600); returns which files were written and which were
 * already up to date. With `folder` (the one the PKI was staged in), they join that run's set of files and
 * are written with it, all or none; without it, the folder is opened and committed here. A file the user
 * edited keeps the edit (see keepEdits); `previous` is the spec the folder was made with, when it differs.
 */
export function writeComponentKubeconfigs(
  pki: ClusterPki,
  spec: KubeconfigSpec = DEFAULT_KUBECONFIG_SPEC,
  options: { folder?: ClusterFolder; previous?: KubeconfigSpec } = {},
): Promise<KubeconfigWrite[]> {
  return withClusterFolder(pki.dir, options.folder, async (folder) => {
    const result: KubeconfigWrite[] = [];
    const fresh = componentKubeconfigs(pki, spec);
    for (const { path: file, content, mode } of componentKubeconfigFiles(pki, spec)) {
      const path = join(pki.dir, file);
      const existing = await folder.read(path);
      if (existing === content) {
        result.push({ file, action: "kept" });
        continue;
      }
      const plan =
        existing === undefined
          ? { content }
          : keepEdits(path, existing, fresh.get(file)!, spec, options.previous ?? spec, (s) => componentKubeconfigs(pki, s).get(file)!);
      if (plan.backup) await folder.stage(plan.backup.path, plan.backup.content, { mode: KEY_MODE });
      if (plan.content !== undefined) await folder.stage(path, plan.content, { mode });
      result.push({ file, action: plan.content === undefined ? "kept" : "made", ...(plan.note ? { note: plan.note } : {}) });
    }
    return result;
  });
}

/** The admin kubeconfig `dk-bootstrap ssh` writes for a node's address (`admin-192.0.2.10.conf`). */
const ADMIN_COPY = /^admin-[\w.-]+\.conf$/;

/**
 * After `renew` (or a phase of a CA rotation), puts the client certificates and keys of `<dir>/pki` and its CA
 * into the component kubeconfigs that exist in `dir`, and into the admin-HOST.conf copies `ssh` wrote there,
 * keeping their cluster, server and names. Returns the files rewritten.
 * With `folder` (the one `renewCertificates` staged in), it reads the renewed files staged there and its
 * kubeconfigs join the same set: the kubeconfigs never hold a certificate that `pki/` does not.
 */
export function refreshComponentKubeconfigs(dir: string, options: { folder?: ClusterFolder } = {}): Promise<string[]> {
  return withClusterFolder(dir, options.folder, async (folder) => {
    const b64 = (s: string) => toBase64(utf8(s));
    const base = resolve(dir);
    const inPki = (rel: string) => folder.read(join(base, "pki", rel));
    const ca = await inPki("ca.crt");
    const written: string[] = [];
    // `ssh` hands over admin.conf pointed at the node as admin-HOST.conf (the file users export): it follows too.
    const handedOver = (await readdir(base).catch(() => [] as string[])).filter((f) => ADMIN_COPY.test(f)).sort();
    for (const k of [...COMPONENT_KUBECONFIGS, ...handedOver.map((file) => ({ file, cert: "clients/admin" }))]) {
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
