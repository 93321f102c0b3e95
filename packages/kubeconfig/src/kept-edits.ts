/**
 * What a `certs` re-run does with a component kubeconfig that is not what it would write: a file the user edited
 * (`kubectl config set-context --current --namespace=team-a`, a new `server:`) keeps the edit, and only what no
 * longer fits (the client certificate and key, the CA) is put in; one that cannot be kept (not a kubeconfig, its
 * cluster or user renamed, a file built by hand) is backed up beside itself before it is written anew. Never silent:
 * every outcome carries a note the command prints. kubeadm likewise keeps an existing kubeconfig that is valid for
 * its CA and warns when its server differs.
 */
import { type Config, findEntry } from "./model.js";
import { parseKubeconfig, toYaml } from "./yaml.js";
import type { KubeconfigSpec } from "./components.js";

/** What to do with one file: its new text (undefined: keep it as it is), a backup to write first, and what to say. */
export interface KeptEdits {
  content: string | undefined;
  backup?: { path: string; content: string };
  note?: string;
}

const contextName = (spec: KubeconfigSpec, user: string) =>
  (spec.contextName ?? "{user}@{cluster}").replaceAll("{user}", user).replaceAll("{cluster}", spec.clusterName);

/**
 * `existing` is the file's text, `fresh` what the run would write for `spec`; `previous` is the spec the folder was
 * made with (its saved settings), so that a flag change (`--server`) still reaches a file nobody edited.
 * `made` builds the file dk-bootstrap would write for a spec, with the certificates of `fresh`.
 */
export function keepEdits(
  path: string,
  existing: string,
  fresh: Config,
  spec: KubeconfigSpec,
  previous: KubeconfigSpec,
  made: (spec: KubeconfigSpec) => Config,
  now: Date = new Date(),
): KeptEdits {
  const freshText = toYaml(fresh);
  const backup = (why: string): KeptEdits => {
    const name = `${path}.bak-${now
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z")}`;
    return { content: freshText, backup: { path: name, content: existing }, note: `${why}: the old file is kept as ${name.split("/").pop()}` };
  };
  let cfg: Config;
  try {
    cfg = parseKubeconfig(existing, path);
  } catch {
    return backup("not a kubeconfig dk-bootstrap can read");
  }
  // Untouched since dk-bootstrap wrote it (with the folder's old settings or the new ones, and any certificates): rewrite.
  for (const s of [previous, spec]) if (sameButCredentials(cfg, made(s))) return { content: freshText };
  const userName = fresh.users![0]!.name;
  const user = findEntry(cfg, "users", userName);
  const cluster = findEntry(cfg, "clusters", spec.clusterName);
  if (!user || !cluster) return backup(`edited, and it has no ${!user ? `user "${userName}"` : `cluster "${spec.clusterName}"`} to update`);
  if (previous.clusterName !== spec.clusterName || contextName(previous, userName) !== contextName(spec, userName))
    return backup("edited, and the cluster or context names change");
  const put: string[] = [];
  const freshUser = fresh.users![0]!.user;
  // Only the embedded forms are ours: a user who pointed the file at certificate files of their own keeps them.
  for (const field of ["client-certificate-data", "client-key-data"] as const) {
    if (user.user[field] !== undefined && user.user[field] !== freshUser[field]) {
      user.user[field] = freshUser[field];
      if (!put.includes("the client certificate and key")) put.push("the client certificate and key");
    }
  }
  const freshCa = fresh.clusters![0]!.cluster["certificate-authority-data"];
  if (cluster.cluster["certificate-authority-data"] !== undefined && cluster.cluster["certificate-authority-data"] !== freshCa) {
    cluster.cluster["certificate-authority-data"] = freshCa;
    put.push("the CA");
  }
  // A changed --server reaches a server nobody edited; a server the user set is theirs.
  if (previous.server !== spec.server && cluster.cluster.server === previous.server) {
    cluster.cluster.server = spec.server;
    put.push(`server ${spec.server}`);
  }
  const serverNote = cluster.cluster.server !== spec.server ? `; its server ${cluster.cluster.server} is not --server ${spec.server}: kept yours` : "";
  const text = toYaml(cfg);
  if (text === existing) return { content: undefined, note: `edited: kept as it is, its certificates still fit${serverNote}` };
  return { content: text, note: `edited: kept your edits, put in ${put.join(", ")}${serverNote}` };
}

/** The two files are equal but for the embedded certificates and keys (each file has one cluster and one user). */
function sameButCredentials(existing: Config, made: Config): boolean {
  if (existing.clusters?.length !== 1 || existing.users?.length !== 1) return false;
  const copy = structuredClone(made);
  const [c, u] = [existing.clusters[0]!.cluster, existing.users[0]!.user];
  copy.clusters![0]!.cluster["certificate-authority-data"] = c["certificate-authority-data"]!;
  copy.users![0]!.user["client-certificate-data"] = u["client-certificate-data"]!;
  copy.users![0]!.user["client-key-data"] = u["client-key-data"]!;
  // Compared as kubectl would write them: a file kubectl rewrote (same bytes) is the same file.
  return toYaml(copy) === toYaml(existing);
}
