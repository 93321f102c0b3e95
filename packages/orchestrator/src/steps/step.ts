import type { NodeLayout } from "../node.js";
import { type Artifact, mirrored } from "../artifacts.js";
import { type Shell, lines, sh } from "../shell.js";
import type { NodeSpec } from "../spec.js";

/** What a step sees: the spec, the node's layout, its architecture and what supervises the components. */
export interface StepContext {
  spec: NodeSpec;
  node: NodeLayout;
  arch: string;
  /**
   * `systemd` when `dk_start` makes units (systemd runs, the remote root is `/`, as root), else
   * `process` (detached processes). The kubelet's and containerd's cgroup driver follow it.
   */
  supervisor: Supervisor;
  /** The node's cgroup hierarchy, asked of the node by a real run; absent in a dry run (v2 is assumed, see steps/cgroups.ts). */
  cgroup?: CgroupVersion;
}

/**
 * The node's cgroup hierarchy: `v2` (the unified one, every distribution's default today), or `v1`
 * (the legacy one, or a hybrid with cgroup2 mounted beside it at `/sys/fs/cgroup/unified`).
 */
export type CgroupVersion = "v1" | "v2";

/** Who keeps the components running: systemd units, or dk-bootstrap's detached processes. */
export type Supervisor = "systemd" | "process";

/**
 * The cgroup driver the kubelet and containerd must share: `systemd` under systemd (it owns the
 * cgroup tree there), `cgroupfs` without it (nothing would create the systemd slices).
 */
export const cgroupDriver = (c: StepContext): "systemd" | "cgroupfs" => (c.supervisor === "systemd" ? "systemd" : "cgroupfs");

/** Fails the step when the node's supervisor is not the one its configs were written for (a dry run's guess, or a changed node). */
export const supervisorGuard = (c: StepContext): Shell =>
  c.supervisor === "systemd"
    ? sh`dk_systemd || { echo ${"this plan was made for a node where systemd runs, as root, with remote root /: its cgroup driver is systemd"} >&2; exit 1; }`
    : sh`! dk_systemd || { echo ${"this plan was made for a node without systemd: its cgroup driver is cgroupfs"} >&2; exit 1; }`;

/** The supervisor a plan assumes when the node is not asked (dry run, explain): systemd for remote root `/`. */
export const assumedSupervisor = (spec: NodeSpec): Supervisor => (spec.remoteRoot === "/" ? "systemd" : "process");

/** A file a step puts on the node: from the local cluster folder (`local`, relative to it) or generated (`content`). */
export interface FilePut {
  path: string;
  mode: number;
  local?: string;
  content?: string;
  /**
   * Only the first certificate of `local`: a CA file is a bundle (old + new) during a rotation, its signer first,
   * and kube-controller-manager's signing certificate must be a single one (kubernetes/kubeadm#1350).
   */
  signer?: boolean;
}

/** One step of the bootstrap, as data plus shell. */
export interface Step {
  /** Named after the component: `etcd`, `kube-apiserver`, ... */
  id: string;
  title: string;
  /** What the component does and what breaks without it, in the workshop's spirit. */
  why: string;
  /** What the user should see on the cluster once it is done. */
  observe: string;
  /**
   * Which nodes run it: the control plane's (`controller`), the kubelet's and its neighbours' (`worker`), or
   * the cluster-wide objects, applied once through the API by one controller (`cluster`); absent: every
   * node (the preflight).
   */
  runsOn?: "controller" | "worker" | "cluster";
  /** Whether the spec asks for this step (optional steps: Traefik); absent means always. */
  enabled?(spec: NodeSpec): boolean;
  /** Ports it listens on (checked free by the preflight before it first runs). */
  ports?: number[];
  /** It must run as root (containerd, kubelet, kube-proxy touch the host's namespaces and iptables). */
  needsRoot?: boolean;
  /** Programs it needs on the node that dk-bootstrap does not install, each with what needs it (checked by the preflight). */
  tools?(spec: NodeSpec): Record<string, string>;
  /** Kernel modules it needs, each with what needs it (the preflight checks they can be loaded; it loads none). */
  modules?: Record<string, string>;
  files(ctx: StepContext): FilePut[];
  /** Installs and starts; re-runnable. */
  script(ctx: StepContext): Shell;
  /** Exits 0 once the component works. */
  check(ctx: StepContext): Shell;
  /** How long the check may take to pass after a start, in seconds. */
  checkTimeout: number;
  /** Paths it creates on the node, removed by reset (files it puts are added automatically). */
  creates(ctx: StepContext): string[];
  /** Components it starts, stopped by reset. */
  components: string[];
  /**
   * What reset runs once the step's components are stopped, before its files go: undoes what the component made
   * outside them (containers, mounts, network interfaces, iptables rules, cgroups), for this node's only.
   */
  teardown?(ctx: StepContext): Shell;
  /** What it downloads (verified on the node, or uploaded from a bundle with `--upload`). */
  artifacts?(ctx: StepContext): Artifact[];
  /** The guided run's live observation: commands whose output shows what the step changed on the cluster. */
  show?(ctx: StepContext): Shell;
}

/** kubectl on the node with one of its kubeconfigs: `super-admin.conf` works before RBAC binds the admins. */
export const kubectlWith = (ctx: StepContext, kubeconfig: string, ...args: string[]): Shell =>
  sh`${`${ctx.node.bin}/kubectl`} --kubeconfig=${`${ctx.node.etc}/${kubeconfig}`} ${args}`;

/** kubectl on the node as the cluster admin (`admin.conf`). */
export const kubectl = (ctx: StepContext, ...args: string[]): Shell => kubectlWith(ctx, "admin.conf", ...args);

/** Downloads (verified) and installs artifacts' programs into `dir`. */
export function install(ctx: StepContext, artifacts: Artifact[], dir = ctx.node.bin): Shell {
  const parts = [sh`mkdir -p ${dir}`];
  for (const a of artifacts) {
    parts.push(sh`dk_fetch ${mirrored(a.url, ctx.spec.mirror)} ${checksumOf(ctx.spec, a)} ${a.file}`);
    const src = sh`"$DK_CACHE"/${a.file}`;
    if (a.kind === "binary") parts.push(sh`install -m 0755 ${src} ${`${dir}/${a.installs[0]}`}`);
    else {
      const tmp = sh`"$DK_CACHE"/${`${a.file}.d`}`;
      parts.push(sh`rm -rf ${tmp} && mkdir -p ${tmp} && tar -xzf ${src} -C ${tmp} --strip-components=${a.strip ?? 0}`);
      for (const name of a.installs) parts.push(sh`install -m 0755 ${tmp}/${name} ${`${dir}/${name}`}`);
      parts.push(sh`rm -rf ${tmp}`);
    }
  }
  return lines(parts);
}

/**
 * dk_fetch's second argument: without a mirror, the upstream's checksum file (served by the upstream, as the file
 * is); with one, `sha256:HEX` pinned from a source the mirror does not control, or `sha256:` (refused on the node)
 * when nothing was pinned, so a run that skipped pinning can never fall back to the mirror's own checksum files.
 * `--upload` puts the verified files into the node's cache first (dk_fetch keeps them): its fallback is the upstream's.
 */
function checksumOf(spec: NodeSpec, a: Artifact): string {
  if (!spec.mirror || (spec.upload && !spec.pinnedSha256?.[a.url])) return a.sumsUrl;
  return `sha256:${spec.pinnedSha256?.[a.url] ?? ""}`;
}

/** The installed paths of artifacts' programs. */
export function installed(artifacts: Artifact[], dir: string): string[] {
  return artifacts.flatMap((a) => a.installs.map((n) => `${dir}/${n}`));
}

/** The cluster folder's PKI files, put under the node's PKI folder with the same names. */
export function pkiFiles(ctx: StepContext, names: string[]): FilePut[] {
  return names.map((n) => ({ path: `${ctx.node.pki}/${n}`, mode: n.endsWith(".key") ? 0o600 : 0o644, local: `pki/${n}` }));
}
