import type { Versions } from "./releases.js";

/** CPU architectures Kubernetes publishes binaries for, as `uname -m` names them. */
export const ARCHES: Record<string, "amd64" | "arm64"> = { x86_64: "amd64", amd64: "amd64", aarch64: "arm64", arm64: "arm64" };

/** One file to download: where from, where its published checksum is, and what to install out of it. */
export interface Artifact {
  /** Cache file name on the node (the upstream file name). */
  file: string;
  url: string;
  /** A checksum file: either a bare digest, or `sha256  name` lines (then the line for `file` counts). */
  sumsUrl: string;
  /** `binary`: the file is the program; `tar`: these members are extracted (stripping `strip` leading folders). */
  kind: "binary" | "tar";
  /** Names installed into the target folder. */
  installs: string[];
  strip?: number;
}

const K8S = (v: string, arch: string, name: string): Artifact => {
  const url = `https://dl.k8s.io/release/v${v}/bin/linux/${arch}/${name}`;
  return { file: `${name}-v${v}-${arch}`, url, sumsUrl: `${url}.sha256`, kind: "binary", installs: [name] };
};

/** Whether an etcd release ships etcdutl (3.5 and later; etcd-io/etcd#16194: "3.4 doesn't have etcdutl"). */
export function hasEtcdutl(etcdVersion: string): boolean {
  const [major, minor] = etcdVersion.replace(/^v/, "").split(".").map(Number) as [number, number];
  return major > 3 || (major === 3 && minor >= 5);
}

/** The catalogue, as data: a component's artifacts for a version set and an architecture. */
export const ARTIFACTS = {
  etcd: (v: Versions, arch: string): Artifact[] => {
    const file = `etcd-v${v.etcd}-linux-${arch}.tar.gz`;
    const base = `https://github.com/etcd-io/etcd/releases/download/v${v.etcd}`;
    // etcdutl (in the tarball since 3.5) does the offline work, snapshot status and restore: 3.6's etcdctl cannot restore.
    const installs = hasEtcdutl(v.etcd) ? ["etcd", "etcdctl", "etcdutl"] : ["etcd", "etcdctl"];
    return [{ file, url: `${base}/${file}`, sumsUrl: `${base}/SHA256SUMS`, kind: "tar", installs, strip: 1 }];
  },
  "kube-apiserver": (v: Versions, arch: string) => [K8S(v.kubernetes, arch, "kube-apiserver"), K8S(v.kubernetes, arch, "kubectl")],
  "kube-controller-manager": (v: Versions, arch: string) => [K8S(v.kubernetes, arch, "kube-controller-manager")],
  "kube-scheduler": (v: Versions, arch: string) => [K8S(v.kubernetes, arch, "kube-scheduler")],
  // kubectl too: a worker runs no apiserver step, and its steps ask the API about their own node.
  kubelet: (v: Versions, arch: string) => [K8S(v.kubernetes, arch, "kubelet"), K8S(v.kubernetes, arch, "kubectl")],
  "kube-proxy": (v: Versions, arch: string) => [K8S(v.kubernetes, arch, "kube-proxy")],
  containerd: (v: Versions, arch: string): Artifact[] => {
    const file = `containerd-${v.containerd}-linux-${arch}.tar.gz`;
    const url = `https://github.com/containerd/containerd/releases/download/v${v.containerd}/${file}`;
    const runc = `https://github.com/opencontainers/runc/releases/download/v${v.runc}`;
    return [
      { file, url, sumsUrl: `${url}.sha256sum`, kind: "tar", installs: ["containerd", "containerd-shim-runc-v2", "ctr"], strip: 1 },
      { file: `runc.${arch}`, url: `${runc}/runc.${arch}`, sumsUrl: `${runc}/runc.sha256sum`, kind: "binary", installs: ["runc"] },
    ];
  },
  cni: (v: Versions, arch: string): Artifact[] => {
    const file = `cni-plugins-linux-${arch}-v${v.cni}.tgz`;
    const url = `https://github.com/containernetworking/plugins/releases/download/v${v.cni}/${file}`;
    return [{ file, url, sumsUrl: `${url}.sha256`, kind: "tar", installs: ["bridge", "host-local", "loopback", "portmap"], strip: 0 }];
  },
  helm: (v: Versions, arch: string): Artifact[] => {
    const file = `helm-v${v.helm}-linux-${arch}.tar.gz`;
    const url = `https://get.helm.sh/${file}`;
    return [{ file, url, sumsUrl: `${url}.sha256sum`, kind: "tar", installs: ["helm"], strip: 1 }];
  },
} satisfies Record<string, (v: Versions, arch: string) => Artifact[]>;

/**
 * `--mirror URL`: the file for `https://HOST/PATH` comes from `URL/HOST/PATH`, checksum files
 * included, so one static folder (filled by `dk-bootstrap bundle`) serves an air-gapped node.
 */
export function mirrored(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  return `${mirror.replace(/\/+$/, "")}/${url.replace(/^https?:\/\//, "")}`;
}
