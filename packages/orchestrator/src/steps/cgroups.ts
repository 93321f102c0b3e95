import { createHash } from "node:crypto";
import { type Shell, sh } from "../shell.js";
import type { CgroupVersion, StepContext } from "./step.js";

/**
 * The hierarchy a plan assumes when the node is not asked (a dry run, explain): v2. A real run asks the
 * node ({@link CGROUP_PROBE}), and the kubelet's script refuses a node that differs ({@link cgroupGuard}).
 */
export const cgroupVersion = (c: StepContext): CgroupVersion => c.cgroup ?? "v2";

/** Prints `v2` on the unified hierarchy, `v1` on a legacy or hybrid one (its root is a tmpfs of controllers). */
export const CGROUP_PROBE: Shell = sh`case "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" in cgroup2fs) echo v2 ;; tmpfs) echo v1 ;; *) echo none ;; esac`;

/**
 * Fails the kubelet's step when the node's hierarchy is not the one its config was written for: on v1,
 * Kubernetes 1.35 and later refuse to start unless told `failCgroupV1: false` (KEP-5573).
 */
export const cgroupGuard = (c: StepContext): Shell =>
  sh`[ "$(${CGROUP_PROBE})" = ${cgroupVersion(c)} ] || { echo ${`this plan was made for cgroup ${cgroupVersion(c)}, and the node has cgroup $(${CGROUP_PROBE}): run dk-bootstrap again against the node (not a dry run's script)`} >&2; exit 1; }`;

/**
 * The cgroup the kubelet puts its Pods under (`cgroupRoot`), for a node that lives under a remote root of its own:
 * several such nodes can share one machine (a lab, the tests, the workshop's own working folder), and each keeps
 * its Pods' cgroups apart, `/dk-bootstrap/<node>-<hash of its root>`. A node whose root is `/` uses the machine's
 * root cgroup, as kubeadm's nodes do (undefined here).
 */
export function cgroupRoot(c: StepContext): string | undefined {
  if (c.node.root === "/") return undefined;
  const hash = createHash("sha256").update(c.node.root).digest("hex").slice(0, 8);
  return `/dk-bootstrap/${c.spec.nodeName}-${hash}`;
}

/**
 * Makes the kubelet's `cgroupRoot` where the kubelet looks for it: in every v1 hierarchy (the kubelet checks each
 * controller's), or in the unified one with its controllers handed down (cgroup.subtree_control at each level).
 */
export function cgroupRootSetup(c: StepContext): Shell {
  const root = cgroupRoot(c);
  if (root === undefined) return sh`:`;
  if (cgroupVersion(c) === "v1")
    return sh`for h in /sys/fs/cgroup/*/; do [ -f "$h/cgroup.procs" ] || continue; case "$h" in */unified/) continue ;; esac; mkdir -p "$h"${root}; done`;
  // cgroup.controllers is one line of names: each becomes "+name" in subtree_control (those the kernel refuses stay off).
  return sh`d=/sys/fs/cgroup; for part in ${root.split("/").filter(Boolean)}; do for ctl in $(tr ' ' '\n' < "$d/cgroup.controllers"); do echo "+$ctl" > "$d/cgroup.subtree_control" 2>/dev/null || true; done; d="$d/$part"; mkdir -p "$d"; done`;
}

/**
 * Removes what {@link cgroupRootSetup} made, deepest first, once the kubelet and its Pods are gone: a cgroup can
 * only be removed empty, so a cgroup that still holds a process stays (and `rmdir` says so).
 */
export function cgroupRootTeardown(c: StepContext): Shell {
  const root = cgroupRoot(c);
  if (root === undefined) return sh`:`;
  return sh`for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do [ -d "$h"${root} ] || continue; find "$h"${root} -depth -type d -exec rmdir {} + 2>/dev/null || true; done`;
}
