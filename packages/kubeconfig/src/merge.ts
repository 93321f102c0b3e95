import { copyFile, chmod } from "node:fs/promises";
import { exists } from "@dk-bootstrap/pki";
import { type Config, entryIndex, goStringCompare, sameValue } from "./model.js";
import { updateKubeconfig } from "./files.js";
import type { LockOptions } from "./lock.js";

/** What merging did: entries renamed because the target already had a different one of the same name. */
export interface MergeReport {
  config: Config;
  added: string[];
  renamed: { section: "clusters" | "users" | "contexts"; from: string; to: string }[];
  /** Where the target was copied before it was changed, when it existed. */
  backup?: string;
}

/**
 * Merges `incoming` into `target`, never changing what the target has: an identical entry is left
 * alone, a different one of the same name makes the incoming entry take a unique name (`name-2`, …),
 * and the incoming contexts follow their renamed clusters and users. The current context moves to the
 * incoming one with `setCurrent`, or when the target has none.
 */
export function mergeConfigs(target: Config, incoming: Config, options: { setCurrent?: boolean } = {}): MergeReport {
  // Shallow: the sections are rebuilt below and the target's entries are kept as they are, never changed.
  const out = { ...target };
  const report: MergeReport = { config: out, added: [], renamed: [] };
  const names = { clusters: new Map<string, string>(), users: new Map<string, string>(), contexts: new Map<string, string>() };
  const have = { clusters: entryIndex(out, "clusters"), users: entryIndex(out, "users"), contexts: entryIndex(out, "contexts") } as Record<
    "clusters" | "users" | "contexts",
    Map<string, { name: string }>
  >;
  const place = <S extends "clusters" | "users" | "contexts">(section: S, entry: { name: string }) => {
    // The first of name, name-2, name-3… that is free or already holds the same settings (a merge run twice adds nothing).
    let name = entry.name;
    for (let i = 2; ; i++) {
      const mine = have[section].get(name);
      if (!mine || sameValue({ ...mine, name: "" }, { ...entry, name: "" })) break;
      name = `${entry.name}-${i}`;
    }
    if (name !== entry.name) report.renamed.push({ section, from: entry.name, to: name });
    names[section].set(entry.name, name);
    if (!have[section].has(name)) {
      have[section].set(name, { ...structuredClone(entry), name });
      report.added.push(`${section}/${name}`);
    }
  };
  for (const c of incoming.clusters ?? []) place("clusters", c);
  for (const u of incoming.users ?? []) place("users", u);
  for (const c of incoming.contexts ?? []) {
    const context = {
      ...c.context,
      cluster: names.clusters.get(c.context.cluster) ?? c.context.cluster,
      user: names.users.get(c.context.user) ?? c.context.user,
    };
    place("contexts", { name: c.name, context } as { name: string });
  }
  for (const s of ["clusters", "users", "contexts"] as const) {
    const list = [...have[s].values()].sort((x, y) => goStringCompare(x.name, y.name));
    (out as unknown as Record<string, unknown>)[s] = list.length > 0 ? list : null;
  }
  // A target with no current context gets the incoming one (kind, k3d, minikube and k0sctl leave you ready to go).
  if ((options.setCurrent || !target["current-context"]) && incoming["current-context"])
    out["current-context"] = names.contexts.get(incoming["current-context"]) ?? incoming["current-context"];
  return report;
}

/** Merges `incoming` into the kubeconfig file `path` (made if missing), after a timestamped 0600 backup of it, all under the file's lock. */
export async function mergeIntoFile(path: string, incoming: Config, options: { setCurrent?: boolean; now?: Date } & LockOptions = {}): Promise<MergeReport> {
  return updateKubeconfig(
    path,
    async (current) => {
      const report = mergeConfigs(current, incoming, options);
      if (await exists(path)) {
        const stamp = (options.now ?? new Date())
          .toISOString()
          .replace(/[-:]/g, "")
          .replace(/\.\d+Z$/, "Z");
        report.backup = `${path}.bak-${stamp}`;
        await copyFile(path, report.backup);
        await chmod(report.backup, 0o600);
      }
      return { write: report.config, result: report };
    },
    options,
  );
}
