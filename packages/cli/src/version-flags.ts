// The version flags resolved as kubeadm resolves them, and what a dry run says of a version it resolved offline.
// Shared by the one-node commands (ssh, local, bundle, reset, explain, status) and apply's dry run.
import { mirrored, parseKubernetesRequest, resolveVersions } from "@dk-bootstrap/orchestrator";
import type { Command } from "commander";
import type { NodeOptions } from "./options/node-options.js";

/** The version flags and where each resolved version goes. */
const VERSION_FLAGS = {
  kubernetes: "k8sVersion",
  etcd: "etcdVersion",
  containerd: "containerdVersion",
  runc: "runcVersion",
  cni: "cniVersion",
  helm: "helmVersion",
} as const;

/**
 * Resolves the versions as kubeadm does (`stable`, `1.N`, `v1.N.P`; the newest patch asked of dl.k8s.io,
 * through --mirror, when `online`) and pairs the runtime from the table of tested combinations. The
 * resolved versions take the flags' place, so the saved settings record them: a re-run never upgrades
 * by itself.
 */
export async function resolveVersionFlags(cmd: Command, o: NodeOptions, online: boolean, say: (line: string) => void): Promise<void> {
  const asked = Object.fromEntries(Object.entries(VERSION_FLAGS).map(([k, attr]) => [k, o[attr]])) as Partial<Record<keyof typeof VERSION_FLAGS, string>>;
  const versions = await resolveVersions(asked, { online, mapUrl: (u) => mirrored(u, o.mirror), warn: (w) => say(`warning: ${w}`) });
  for (const [k, attr] of Object.entries(VERSION_FLAGS)) {
    if (k === "helm" && o.helmVersion === undefined) continue;
    cmd.setOptionValueWithSource(attr, versions[k as keyof typeof VERSION_FLAGS], cmd.getOptionValueSource(attr) === "cli" ? "cli" : "config");
  }
}

/**
 * What a dry run says of a Kubernetes version it did not ask dl.k8s.io for (`stable` or `1.N`): the table's patch, and
 * that a real run asks. An exact version asked (or saved) needs no note.
 */
export function offlineVersionsNote(asked: string | undefined, resolved: string): string | undefined {
  if (parseKubernetesRequest(asked).kind === "exact") return undefined;
  return `versions: resolved offline from dk-bootstrap's table (Kubernetes ${resolved}, the newest patch it knows for ${asked ?? "stable"}); a real run asks dl.k8s.io for the newest patch`;
}
