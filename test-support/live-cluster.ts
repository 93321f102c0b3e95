// A live Kubernetes cluster for the tests: test hosts that can run kubelets (test-cluster.ts, `nodes: true`), the
// components of the newest row of the release table built from their Go modules and served by a test mirror in
// their upstream layout, the images a node with no registry needs, and a cluster file for `apply -f` with some
// controllers (that are nodes too, as kubeadm's are) and some workers. What the cluster tests share: how to reach
// the cluster (kubectl, etcdctl, a root shell on a host) and how to wait for it.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { DEFAULT_VERSIONS, RELEASES, corednsVersion } from "@dk-bootstrap/orchestrator";
import { TEST_WEB_IMAGE, corednsImage, pauseImage, traefikImage, webImage } from "./images.js";
import { builtPeer, etcdMirror, releaseMirrorFiles } from "./built-peers.js";
import { type Mirror, etcdctlOf, startMirror } from "./mirror.js";
import { dkAsync, runAsync } from "./peers.js";
import { type ClusterHost, type TestCluster, etcdctlFlags, startTestCluster } from "./test-cluster.js";

/** The release the live clusters run: the newest row of the table (built in every CI run). */
export const LIVE_RELEASE = RELEASES[0]!;
export const LIVE_VERSIONS = {
  kubernetes: LIVE_RELEASE.knownPatch,
  etcd: LIVE_RELEASE.etcd,
  containerd: LIVE_RELEASE.containerd,
  runc: LIVE_RELEASE.runc,
  cni: LIVE_RELEASE.cni,
};

/** How long one `apply` may take: it starts every component of several nodes and waits for their checks. */
export const APPLY_MS = 900_000;

type Result = Awaited<ReturnType<typeof runAsync>>;

export interface LiveCluster {
  cluster: TestCluster;
  mirror: Mirror;
  /** The cluster folder `apply` writes (`--dir`), and the cluster file. */
  dir: string;
  file: string;
  controllers: ClusterHost[];
  workers: ClusterHost[];
  all: ClusterHost[];
  /** `dk-bootstrap apply -f FILE --dir DIR ...extra`. */
  apply(...extra: string[]): Promise<Result>;
  /** Any dk-bootstrap command, in the work folder. */
  dk(args: string[]): Promise<Result>;
  /** kubectl of the release as the cluster's admin (the folder's admin.conf). */
  kubectl(...args: string[]): Promise<Result>;
  /** The same, at one controller's apiserver. */
  kubectlAt(h: ClusterHost, ...args: string[]): Promise<Result>;
  /** etcdctl of the release as the health-check client of the first controller's folder, at every member. */
  etcdctl(...args: string[]): Promise<Result>;
  /** A command in the host's network namespace (this machine's PID namespace and files). */
  onHost(h: ClusterHost, ...cmd: string[]): Promise<Result>;
  /** A shell command on the host as root, over its sshd: in the host's PID namespace, where its PID files' PIDs are. */
  asRoot(h: ClusterHost, command: string): Promise<Result>;
  /** A component's PID file on the host (dk_start's). */
  pidFile(h: ClusterHost, component: string): string;
  /** The apiserver of `h` answers `/readyz`. */
  ready(h: ClusterHost): Promise<boolean>;
  /** Every apiserver ready and every etcd member healthy. */
  allBack(seconds?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Polls `probe` every half second until it holds; fails naming `what` after `seconds`. */
export async function until(what: string, probe: () => Promise<boolean>, seconds = 180): Promise<void> {
  for (let i = 0; i < seconds * 2; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not seen within ${seconds} s: ${what}`);
}

/**
 * Starts `controllers + workers` hosts and writes the cluster file for them (ECDSA keys, the Traefik ingress, the
 * test web image, the images as archives). Nothing is applied yet.
 */
export async function startLiveCluster(
  work: string,
  o: {
    controllers: number;
    workers: number;
    name?: string;
    /** The etcd release to start with (default: the row's); the mirror serves the row's too, for an upgrade to it. */
    etcd?: string;
    /**
     * The row of the release table to start with (default: the newest, LIVE_RELEASE); the mirror and the images
     * serve the newest row's too, for an upgrade to it.
     */
    release?: (typeof RELEASES)[number];
  },
): Promise<LiveCluster> {
  const row = o.release ?? LIVE_RELEASE;
  const versions = { kubernetes: row.knownPatch, etcd: o.etcd ?? row.etcd, containerd: row.containerd, runc: row.runc, cni: row.cni };
  const upgradeTo = row === LIVE_RELEASE ? [] : [LIVE_VERSIONS.kubernetes];
  const kubectlBin = join(builtPeer("kubernetes", versions.kubernetes), "kubectl");
  const images = join(work, "images");
  mkdirSync(images, { recursive: true });
  const archives: string[] = [];
  const built = [];
  for (const k of [versions.kubernetes, ...upgradeTo]) built.push(await pauseImage(k), await corednsImage(corednsVersion(k)));
  built.push(await webImage(), await traefikImage(DEFAULT_VERSIONS.traefik));
  for (const image of built) {
    // One archive per image: two releases that pair the same pause or CoreDNS share it.
    if (archives.some((a) => basename(a) === basename(image.path))) continue;
    const to = join(images, basename(image.path));
    symlinkSync(image.path, to);
    archives.push(to);
  }
  const cluster = await startTestCluster(work, o.controllers + o.workers, { nodes: true });
  const all = cluster.hosts;
  const controllers = all.slice(0, o.controllers);
  const workers = all.slice(o.controllers);
  const files = releaseMirrorFiles(versions);
  for (const [path, body] of Object.entries(etcdMirror(LIVE_VERSIONS.etcd))) files.set(path, body);
  if (upgradeTo.length > 0) for (const [path, body] of releaseMirrorFiles(LIVE_VERSIONS)) files.set(path, body);
  const mirror = await startMirror(cluster.hostIp, files);
  const dir = join(work, "cluster");
  const file = join(work, "cluster.yaml");
  writeFileSync(
    file,
    [
      "apiVersion: dk-bootstrap/v1alpha1",
      "kind: Cluster",
      `metadata: { name: ${o.name ?? "live"} }`,
      "spec:",
      "  hosts:",
      ...all.map(
        (h) =>
          `    - { ssh: { address: ${h.ip}, user: root, keyPath: ${h.keyFile} }, role: ${workers.includes(h) ? "worker" : "controller+worker"}, remoteRoot: ${h.remoteRoot} }`,
      ),
      `  knownHosts: ${cluster.knownHosts}`,
      `  mirror: ${mirror.url}`,
      // The test mirror is plain http on a private link; the checksums come from the test, which built the files.
      "  allowHttpMirror: true",
      `  checksums: ${mirror.checksums()}`,
      `  versions: { kubernetes: "${versions.kubernetes}", etcd: "${versions.etcd}", containerd: "${versions.containerd}", runc: "${versions.runc}", cniPlugins: "${versions.cni}" }`,
      "  pki: { keyAlgorithm: ecdsa }",
      `  addons: { ingress: traefik, webImage: "${TEST_WEB_IMAGE}" }`,
      `  images: [${archives.join(", ")}]`,
      "",
    ].join("\n"),
  );
  const dk = (args: string[]) => dkAsync(args, { cwd: work, timeoutMs: APPLY_MS });
  const kubectl = (...args: string[]) => runAsync(kubectlBin, [`--kubeconfig=${join(dir, "admin.conf")}`, ...args]);
  const kubectlAt = (h: ClusterHost, ...args: string[]) => kubectl(`--server=https://${h.ip}:6443`, "--request-timeout=5s", ...args);
  const etcd = etcdctlOf(versions.etcd);
  const ready = async (h: ClusterHost) => (await kubectlAt(h, "get", "--raw", "/readyz")).stdout.trim() === "ok";
  const live: LiveCluster = {
    cluster,
    mirror,
    dir,
    file,
    controllers,
    workers,
    all,
    apply: (...extra) => dk(["apply", "-f", file, "--dir", dir, ...extra]),
    dk,
    kubectl,
    kubectlAt,
    etcdctl: (...args) => runAsync(etcd.path, [...etcdctlFlags({ dir, via: controllers[0]!, endpoints: controllers }), ...args], { env: etcd.env }),
    onHost: (h, ...cmd) => runAsync("ip", ["netns", "exec", h.netns, ...cmd]),
    asRoot: (h, command) =>
      runAsync("ssh", ["-i", h.keyFile, "-o", `UserKnownHostsFile=${cluster.knownHosts}`, "-o", "BatchMode=yes", `root@${h.ip}`, command]),
    pidFile: (h, component) => join(h.remoteRoot, "run", "dk-bootstrap", `${component}.pid`),
    ready,
    async allBack(seconds = 300) {
      await until(`${controllers.length} apiservers ready`, async () => (await Promise.all(controllers.map(ready))).every(Boolean), seconds);
      await until(
        `${controllers.length} etcd members healthy`,
        async () => {
          const r = await live.etcdctl("endpoint", "health");
          return r.status === 0 && (`${r.stdout}${r.stderr}`.match(/is healthy/g) ?? []).length === controllers.length;
        },
        seconds,
      );
    },
    async stop() {
      await mirror.close();
      await cluster.stop();
      // The cluster folder and the images' links: the hosts' folders (gigabytes of binaries and images) went with the cluster.
      rmSync(work, { recursive: true, force: true });
    },
  };
  return live;
}
