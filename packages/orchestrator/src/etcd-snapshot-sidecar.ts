import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { DkError, writeFileAtomic } from "@dk-bootstrap/pki";

/**
 * Whose snapshot a file is: written beside it (`FILE.json`) when `etcd snapshot` takes it, and compared by `etcd
 * restore` before anything stops, so that a snapshot of another cluster (another folder's, another etcd CA's) is
 * never restored by mistake over this one's data.
 */
export interface SnapshotSidecar {
  /** The snapshot's file name and its SHA-256 (of the whole file): a sidecar of another file does not vouch for this one. */
  snapshot: string;
  sha256: string;
  /** The cluster's name (`spec.clusterName`) and the SHA-256 fingerprint of its etcd CA's certificate (DER). */
  cluster: string;
  etcdCA: string;
  /** The members when it was taken (IDs as etcd prints them: 64-bit, kept as text). */
  members: { id: string; name: string }[];
  /** etcd's revision of the snapshot, as `snapshot status` read it. */
  revision: number;
  /** The node whose member gave it, and when. */
  from: string;
  takenAt: string;
}

/** The sidecar's path for a snapshot file. */
export const sidecarPath = (file: string): string => `${file}.json`;

/** The SHA-256 fingerprints (hex, of the DER) of every certificate of the cluster folder's etcd CA file (a bundle during a rotation). */
export async function etcdCaFingerprints(dir: string): Promise<string[]> {
  const pem = await readFile(join(dir, "pki", "etcd", "ca.crt"), "utf8").catch(() => "");
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    createHash("sha256")
      .update(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"))
      .digest("hex"),
  );
}

/** Writes the sidecar whole (0600, beside the snapshot it describes). */
export async function writeSidecar(file: string, sidecar: SnapshotSidecar): Promise<void> {
  await writeFileAtomic(sidecarPath(file), `${JSON.stringify(sidecar, null, 2)}\n`, { mode: 0o600 });
}

/** The sidecar of `file`, checked field by field; undefined when there is none; an error when it is not one. */
export async function readSidecar(file: string): Promise<SnapshotSidecar | undefined> {
  const text = await readFile(sidecarPath(file), "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (text === undefined) return undefined;
  const bad = () => new DkError(`${sidecarPath(file)}: not the record \`etcd snapshot\` writes beside a snapshot`, "SNAPSHOT");
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad();
  }
  const strings = ["snapshot", "sha256", "cluster", "etcdCA", "from", "takenAt"];
  const members = s?.members;
  if (
    !strings.every((k) => typeof s[k] === "string") ||
    typeof s.revision !== "number" ||
    !Array.isArray(members) ||
    !members.every((m: { id?: unknown; name?: unknown }) => typeof m?.id === "string" && typeof m?.name === "string")
  )
    throw bad();
  return s as unknown as SnapshotSidecar;
}

/** What this restore expects of a snapshot's sidecar. */
export interface RestoreTarget {
  /** The file's own SHA-256 and name. */
  sha256: string;
  file: string;
  cluster: string;
  /** The cluster folder's etcd CA fingerprints (any of them: a rotation's bundle). */
  etcdCAs: string[];
}

/** Why a snapshot is not this cluster's, one reason each; empty when its sidecar says it is. */
export function foreignReasons(sidecar: SnapshotSidecar | undefined, want: RestoreTarget): string[] {
  if (!sidecar) return [`no ${basename(sidecarPath(want.file))} beside it says whose snapshot it is`];
  const out: string[] = [];
  if (sidecar.sha256 !== want.sha256) out.push(`its ${basename(sidecarPath(want.file))} describes another file (${sidecar.snapshot})`);
  if (sidecar.cluster !== want.cluster) out.push(`it is cluster ${JSON.stringify(sidecar.cluster)}'s, not ${JSON.stringify(want.cluster)}'s`);
  if (!want.etcdCAs.includes(sidecar.etcdCA)) out.push(`its etcd CA (SHA-256 ${sidecar.etcdCA.slice(0, 16)}…) is not this cluster folder's`);
  return out;
}
