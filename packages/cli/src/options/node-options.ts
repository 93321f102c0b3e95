// The flags of the commands that plan or run a node (ssh, local, bundle, reset, explain, status, logs): declared once,
// here, below the commands, each group by what it shapes, so a command takes the groups it needs from this module
// rather than from the command that first had them.
import type { Command } from "commander";
import type { SshFlags } from "../connection.js";
import { type ClusterOptions, addClusterOptions } from "./cluster-options.js";

/** Every flag of `ssh` and `local`; the other node commands take a part of them. */
export interface NodeOptions extends ClusterOptions, SshFlags {
  k8sVersion?: string;
  etcdVersion?: string;
  containerdVersion?: string;
  runcVersion?: string;
  cniVersion?: string;
  podCidr?: string;
  cni?: string;
  ingress?: string;
  helmVersion?: string;
  mirror?: string;
  checksums?: string;
  allowHttpMirror?: boolean;
  upload?: string;
  images?: string;
  webImage?: string;
  remoteRoot?: string;
  from?: string;
  until?: string;
  dryRun?: boolean;
  verbose?: boolean;
  json?: boolean;
  mergeKubeconfig?: boolean;
  step?: boolean;
  arch?: string;
}

/** What the node downloads: versions, the optional add-ons, and where from (bundle takes these alone). */
export function addArtifactOptions(cmd: Command): Command {
  return cmd
    .option("--k8s-version <v>", "Kubernetes release (kube-apiserver, kubelet, ...)")
    .option("--etcd-version <v>", "etcd release")
    .option("--containerd-version <v>", "containerd release")
    .option("--runc-version <v>", "runc release")
    .option("--cni-version <v>", "CNI plugins release")
    .option("--cni <cni>", "bridge (host-local, no image to pull) or calico (tigera-operator through Helm, as the workshop)", "bridge")
    .option("--ingress <controller>", "add the workshop's ingress controller: traefik (through Helm)")
    .option("--helm-version <v>", "Helm release (for --cni calico and --ingress traefik)")
    .option("--mirror <url>", "get https://HOST/PATH from URL/HOST/PATH instead; its checksum files are not trusted (see --checksums)")
    .option("--checksums <file>", "with --mirror: trusted SHA-256 per upstream URL, `SHA256  URL` lines (default: the upstream's own checksum files)")
    .option("--allow-http-mirror", "accept an http:// mirror: the files are still checked, but anyone on the path sees and can withhold them");
}

/** Everything the node's plan depends on: its identity, what it downloads, and where things go on it. */
export function addPlanOptions(cmd: Command): Command {
  return addArtifactOptions(cmd)
    .option("--pod-cidr <cidr>", "pod CIDR (controller-manager, kube-proxy, CNI)", "10.244.0.0/16")
    .option("--upload <dir>", "air-gapped node: upload the binaries from this bundle folder (dk-bootstrap bundle) instead of downloading on the node")
    .option("--images <dir>", "air-gapped images: import this folder's image archives (OCI or docker save tars) into the node's containerd, pinned")
    .option("--web-image <name>", "the workshop web app's image (default zwindler/vhelloworld)")
    .option("--remote-root <dir>", "every path written on the node lives under it", "/")
    .option("--arch <arch>", "amd64 or arm64 (default: asked of the node; amd64 for --dry-run)");
}

/** Which steps run: `--from`, `--until`. */
export function addRangeOptions(cmd: Command): Command {
  return cmd.option("--from <step>", "start at this step").option("--until <step>", "stop after this step");
}

/** How a command that talks to a node prints: `--verbose`, `--json`. */
export function addOutputOptions(cmd: Command): Command {
  return cmd.option("--verbose", "show the commands' output").option("--json", "print the event stream as JSON lines");
}

/** Every flag of a run that bootstraps a node (ssh, local). */
export function addNodeOptions(cmd: Command): Command {
  return addOutputOptions(addRangeOptions(addPlanOptions(addClusterOptions(cmd))))
    .option("--step", "the guided run: why before each step, Enter to run it, q to stop; live observations after")
    .option("--merge-kubeconfig", "merge the admin kubeconfig into yours ($KUBECONFIG's first file, else ~/.kube/config), backup first");
}

export function sshOptions(cmd: Command): Command {
  return cmd
    .option("-p, --port <port>", "SSH port (default: ~/.ssh/config's, else 22)")
    .option("-J, --jump <hops>", "jump host(s), [user@]host[:port], comma-separated (default: ~/.ssh/config's ProxyJump)")
    .option("-i, --identity <file>", "private key (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)")
    .option("--known-hosts <file>", "known_hosts file (default: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts)")
    .option("--accept-new-host-key", "trust an unknown host key and record it (a changed key is always refused)")
    .option("--sudo-password-stdin", "read the sudo password from stdin (for a non-root login whose sudo asks for one)");
}
