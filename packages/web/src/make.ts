/** Makes the whole cluster folder in memory, as `dk-bootstrap certs` writes it, and packs it as cluster.tar.gz. */
import { clusterPkiFiles, makeClusterPki } from "@dk-bootstrap/pki";
import { componentKubeconfigFiles } from "@dk-bootstrap/kubeconfig";
import type { Settings } from "./settings.js";
import { type TarFile, gzip, writeTar } from "./tar.js";

/** The archive's top folder: `certs`' default `--dir ./cluster`. */
export const ARCHIVE_ROOT = "cluster";

const enc = new TextEncoder();

/** Every file of the cluster folder, paths relative to it (`pki/ca.crt`, `admin.conf`, `cluster.yaml`), with `certs`' modes. */
export async function makeClusterFiles(settings: Settings, now: Date = new Date()): Promise<TarFile[]> {
  const pki = await makeClusterPki(settings.spec, { now });
  const files: TarFile[] = [...clusterPkiFiles(pki), ...componentKubeconfigFiles(pki, settings.kubeconfig)].map((f) => ({
    path: f.path,
    content: enc.encode(f.content),
    mode: f.mode,
  }));
  files.push({ path: "cluster.yaml", content: enc.encode(settings.clusterYaml), mode: 0o644 });
  return files;
}

/** cluster.tar.gz: the files under `cluster/`, as `tar czf cluster.tar.gz cluster` of the folder `certs` made. */
export async function clusterArchive(files: readonly TarFile[], now: Date = new Date()): Promise<Uint8Array> {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return gzip(
    writeTar(
      sorted.map((f) => ({ ...f, path: `${ARCHIVE_ROOT}/${f.path}` })),
      now,
    ),
  );
}
