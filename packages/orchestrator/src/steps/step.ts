import type { NodeLayout } from "../node.js";
import { type Artifact, mirrored } from "../artifacts.js";
import { type Shell, lines, sh } from "../shell.js";
import type { NodeSpec } from "../spec.js";

/** What a step sees: the spec, the node's layout and its architecture. */
export interface StepContext {
  spec: NodeSpec;
  node: NodeLayout;
  arch: string;
}

/** A file a step puts on the node: from the local cluster folder (`local`, relative to it) or generated (`content`). */
export interface FilePut {
  path: string;
  mode: number;
  local?: string;
  content?: string;
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
  /** Whether the spec asks for this step (optional steps: Traefik); absent means always. */
  enabled?(spec: NodeSpec): boolean;
  /** Ports it listens on (checked free by the preflight before it first runs). */
  ports?: number[];
  /** It must run as root (containerd, kubelet, kube-proxy touch the host's namespaces and iptables). */
  needsRoot?: boolean;
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
    parts.push(sh`dk_fetch ${mirrored(a.url, ctx.spec.mirror)} ${mirrored(a.sumsUrl, ctx.spec.mirror)} ${a.file}`);
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

/** The installed paths of artifacts' programs. */
export function installed(artifacts: Artifact[], dir: string): string[] {
  return artifacts.flatMap((a) => a.installs.map((n) => `${dir}/${n}`));
}

/** The cluster folder's PKI files, put under the node's PKI folder with the same names. */
export function pkiFiles(ctx: StepContext, names: string[]): FilePut[] {
  return names.map((n) => ({ path: `${ctx.node.pki}/${n}`, mode: n.endsWith(".key") ? 0o600 : 0o644, local: `pki/${n}` }));
}
