// The real components, built from their Go modules by scripts/build-peers.sh (cached per module and version
// outside the clone), laid out as their upstream release hosts publish them, with their checksum files: what a
// test mirror serves, so the tests exercise the product's own download, verify and install path.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Versions } from "@dk-bootstrap/orchestrator";

const ROOT = join(import.meta.dirname, "..");
/** The peers' cache: the build script's default unless DK_PEERS_CACHE says otherwise. */
export const PEERS_CACHE = process.env.DK_PEERS_CACHE ?? "/var/cache/dk-bootstrap-peers";

/** The kinds of peer the build script makes. */
export type PeerFamily = "kubernetes" | "etcd" | "containerd" | "runc" | "cni" | "coredns" | "traefik" | "cfssl" | "pause" | "webapp";

/**
 * The folder holding a peer's binaries, built now if this machine has not built that version yet (a build takes
 * minutes: `npm test` builds the newest release's peers before the tests start). A build that fails throws with
 * the script's own line (a missing Go, a module the proxy refuses): a test that needs a peer never skips.
 */
export function builtPeer(family: PeerFamily, version: string): string {
  const done = join(PEERS_CACHE, "bin", family, version.replace(/^v/, ""));
  // Our own programs (pause, the web app) are checked against their sources by the script itself: it is quick when built.
  if (existsSync(join(done, ".done")) && family !== "pause" && family !== "webapp") return done;
  try {
    return execFileSync("bash", [join(ROOT, "scripts", "build-peers.sh"), family, version], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 3_600_000,
      maxBuffer: 64 << 20,
    }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`could not build the peer ${family} ${version}: ${(err.stderr ?? err.message).trim().split("\n").pop()}`);
  }
}

/** A file the mirror serves: its bytes, or the path of a file that holds them (release binaries are large). */
export type MirrorBody = Buffer | { file: string };

const sha256File = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/**
 * A release tarball made once per version in the peers' cache (`tar` with fixed owner and times, so it is the same
 * file every time): `folder/` holding `members` copied from `from`.
 */
function tarball(name: string, folder: string | undefined, from: string, members: string[]): string {
  const dir = join(PEERS_CACHE, "mirror");
  const out = join(dir, name);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const work = join(dir, `.${name}.${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const inner = folder ? join(work, folder) : work;
  mkdirSync(inner, { recursive: true });
  for (const m of members) execFileSync("cp", [join(from, m), join(inner, m)]);
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync("tar", ["--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "--sort=name", "-czf", tmp, "-C", work, folder ?? "."]);
  renameSync(tmp, out);
  rmSync(work, { recursive: true, force: true });
  return out;
}

/**
 * The upstream files of one release set for `arch` (amd64 here), by URL path as `--mirror` asks for them
 * (`/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet`, ...), each with the checksum file its upstream
 * publishes beside it: dl.k8s.io's bare `.sha256`, etcd's `SHA256SUMS`, containerd's `.sha256sum`, runc's
 * `runc.sha256sum`, the CNI plugins' `.sha256`. Builds what is not built yet.
 */
export function releaseMirrorFiles(v: Pick<Versions, "kubernetes" | "etcd" | "containerd" | "runc" | "cni">, arch = "amd64"): Map<string, MirrorBody> {
  const files = new Map<string, MirrorBody>();
  const k8s = builtPeer("kubernetes", v.kubernetes);
  for (const bin of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl", "kubeadm"]) {
    const path = `/dl.k8s.io/release/v${v.kubernetes}/bin/linux/${arch}/${bin}`;
    files.set(path, { file: join(k8s, bin) });
    files.set(`${path}.sha256`, Buffer.from(`${sha256File(join(k8s, bin))}\n`));
  }
  Object.entries(etcdMirror(v.etcd, arch)).forEach(([p, b]) => files.set(p, b));

  const ctrName = `containerd-${v.containerd}-linux-${arch}.tar.gz`;
  const ctr = tarball(ctrName, "bin", builtPeer("containerd", v.containerd), ["containerd", "containerd-shim-runc-v2", "ctr"]);
  const ctrPath = `/github.com/containerd/containerd/releases/download/v${v.containerd}/${ctrName}`;
  files.set(ctrPath, { file: ctr });
  files.set(`${ctrPath}.sha256sum`, Buffer.from(`${sha256File(ctr)}  ${ctrName}\n`));

  const runc = join(builtPeer("runc", v.runc), "runc");
  const runcBase = `/github.com/opencontainers/runc/releases/download/v${v.runc}`;
  files.set(`${runcBase}/runc.${arch}`, { file: runc });
  files.set(`${runcBase}/runc.sha256sum`, Buffer.from(`${sha256File(runc)}  runc.${arch}\n`));

  const cniName = `cni-plugins-linux-${arch}-v${v.cni}.tgz`;
  const cniBin = builtPeer("cni", v.cni);
  const cni = tarball(cniName, undefined, cniBin, ["bridge", "host-local", "loopback", "portmap", "ptp", "host-device", "bandwidth", "firewall", "tuning"]);
  const cniPath = `/github.com/containernetworking/plugins/releases/download/v${v.cni}/${cniName}`;
  files.set(cniPath, { file: cni });
  files.set(`${cniPath}.sha256`, Buffer.from(`${sha256File(cni)}  ${cniName}\n`));
  return files;
}

/** etcd's release tarball (`etcd-vX-linux-ARCH/` with etcd, etcdctl and etcdutl, built from the modules) and its SHA256SUMS. */
export function etcdMirror(version: string, arch = "amd64"): Record<string, MirrorBody> {
  const name = `etcd-v${version}-linux-${arch}`;
  const file = tarball(`${name}.tar.gz`, name, builtPeer("etcd", version), ["etcd", "etcdctl", "etcdutl"]);
  const base = `/github.com/etcd-io/etcd/releases/download/v${version}`;
  return {
    [`${base}/${name}.tar.gz`]: { file },
    // As upstream's: every asset of the release has its line; the node must pick its own.
    [`${base}/SHA256SUMS`]: Buffer.from(`${"0".repeat(64)}  etcd-v${version}-darwin-arm64.zip\n${sha256File(file)}  ${name}.tar.gz\n`),
  };
}
