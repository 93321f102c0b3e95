import { DkError, InputError } from "@dk-bootstrap/pki";

/** The releases of one plan; each can be overridden. */
export interface Versions {
  kubernetes: string;
  etcd: string;
  containerd: string;
  runc: string;
  cni: string;
  /** Helm, for the Calico and Traefik options. */
  helm: string;
  /** The tigera-operator chart (Calico). */
  calicoChart: string;
  /** Traefik, the workshop's ingress controller (its image: `docker.io/library/traefik:vX`). */
  traefik: string;
}

/** One Kubernetes minor and the runtime releases dk-bootstrap pairs with it. */
export interface Release {
  /** `1.36`. */
  minor: string;
  /** The patch used when the newest one can't be asked for (offline): one known to be published. */
  knownPatch: string;
  etcd: string;
  containerd: string;
  runc: string;
  cni: string;
  /** The day upstream stops patching this minor (kubernetes.io/releases: about 14 months after its release). */
  endOfLife: string;
}

/**
 * The tested combinations, newest first: the minors upstream supports. etcd as kubeadm pairs it
 * (SupportedEtcdVersion: 3.7 from 1.37, 3.6 before), at its newest patch; containerd 2.x (1.35 was the last
 * minor to support 1.x) with the runc its release pins (script/setup/runc-version); the CNI plugins' newest
 * release. Each row is run for real by the tests: its components are built from their Go modules
 * (scripts/build-peers.sh) and the one-node workshop runs on them (packages/cli/test/workshop.test.ts; the
 * newest row in every CI run, the others with DK_TEST_ALL_RELEASES=1). Sources: ../shared/reference/lifecycle-and-ha.md §4,
 * kubeadm's cmd/kubeadm/app/constants of each release.
 */
export const RELEASES: readonly Release[] = [
  { minor: "1.37", knownPatch: "1.37.2", etcd: "3.7.4", containerd: "2.3.7", runc: "1.5.2", cni: "1.9.1", endOfLife: "2027-10-28" },
  { minor: "1.36", knownPatch: "1.36.4", etcd: "3.6.17", containerd: "2.3.7", runc: "1.5.2", cni: "1.9.1", endOfLife: "2027-06-28" },
  { minor: "1.35", knownPatch: "1.35.5", etcd: "3.6.17", containerd: "2.2.6", runc: "1.3.6", cni: "1.9.1", endOfLife: "2027-02-28" },
];

/** The plan's versions when nothing is asked and nothing can be resolved: the newest tested combination. */
export const DEFAULT_VERSIONS: Versions = {
  kubernetes: RELEASES[0]!.knownPatch,
  etcd: RELEASES[0]!.etcd,
  containerd: RELEASES[0]!.containerd,
  runc: RELEASES[0]!.runc,
  cni: RELEASES[0]!.cni,
  helm: "3.19.0",
  calicoChart: "3.31.4",
  traefik: "3.6.5",
};

/** What `--k8s-version` takes: `stable` (the default), a minor `1.N`, or a release `1.N.P` / `v1.N.P`. */
export type KubernetesRequest = { kind: "stable" } | { kind: "minor"; minor: string } | { kind: "exact"; version: string };

/** Reads a `--k8s-version` value. */
export function parseKubernetesRequest(value: string | undefined): KubernetesRequest {
  if (value === undefined || value === "stable") return { kind: "stable" };
  const m = /^v?(1\.\d+)(\.\d+(-[\w.]+)?)?$/.exec(value);
  if (!m) throw new InputError("expected stable, 1.N or 1.N.P (a v in front is fine)", { field: "--k8s-version", value });
  return m[2] === undefined ? { kind: "minor", minor: m[1]! } : { kind: "exact", version: `${m[1]}${m[2]}` };
}

/** How versions are resolved: where from, and what to tell the user. */
export interface ResolveOptions {
  /** Ask dl.k8s.io (through the mirror when given) for the newest patch; without it, the table's known patch is used. */
  online: boolean;
  /** Where a URL is fetched from (`--mirror`); as is by default. */
  mapUrl?: (url: string) => string;
  /** The one network call, replaceable in tests; returns the body or throws. */
  fetchText?: (url: string) => Promise<string>;
  /** Warnings: an offline fallback, a minor out of upstream support, an unknown minor. */
  warn: (line: string) => void;
  now?: Date;
}

/**
 * Every version of a plan from what was asked (undefined = not asked): Kubernetes resolved as kubeadm
 * resolves it (`stable.txt`, `stable-1.N.txt`; a newer minor than this table knows falls back to the
 * newest it knows; offline, the table's known patch), and etcd, containerd, runc and the CNI plugins
 * paired from the table for that minor unless asked for.
 */
export async function resolveVersions(asked: Partial<Record<keyof Versions, string>>, options: ResolveOptions): Promise<Versions> {
  const request = parseKubernetesRequest(asked.kubernetes);
  const kubernetes = request.kind === "exact" ? request.version : await resolvePatch(request, options);
  const minor = kubernetes.split(".").slice(0, 2).join(".");
  let release = RELEASES.find((r) => r.minor === minor);
  if (!release) {
    release = nearest(minor);
    options.warn(`Kubernetes ${minor} is not a combination dk-bootstrap has tested; etcd, containerd and runc are paired as for ${release.minor}`);
  }
  const now = options.now ?? new Date();
  if (now > new Date(`${release.endOfLife}T00:00:00Z`) && release.minor === minor)
    options.warn(`Kubernetes ${minor} is out of upstream support since ${release.endOfLife}: no more security fixes (upgrade one minor at a time)`);
  const strip = (v: string | undefined) => v?.replace(/^v/, "");
  const versions: Versions = {
    ...DEFAULT_VERSIONS,
    kubernetes,
    etcd: strip(asked.etcd) ?? release.etcd,
    containerd: strip(asked.containerd) ?? release.containerd,
    runc: strip(asked.runc) ?? release.runc,
    cni: strip(asked.cni) ?? release.cni,
    ...(asked.helm ? { helm: strip(asked.helm)! } : {}),
  };
  if (Number(minor.split(".")[1]) >= 36 && versions.containerd.startsWith("1."))
    throw new InputError(`Kubernetes ${minor} needs containerd 2.x (1.35 was the last minor to support 1.x)`, {
      field: "--containerd-version",
      value: versions.containerd,
    });
  return versions;
}

async function resolvePatch(request: KubernetesRequest & { kind: "stable" | "minor" }, options: ResolveOptions): Promise<string> {
  const newest = RELEASES[0]!;
  const known = request.kind === "minor" ? (RELEASES.find((r) => r.minor === request.minor)?.knownPatch ?? `${request.minor}.0`) : newest.knownPatch;
  if (!options.online) return known;
  const fetchText = options.fetchText ?? defaultFetch;
  const ask = async (name: string) => {
    const url = (options.mapUrl ?? ((u: string) => u))(`https://dl.k8s.io/release/${name}.txt`);
    const body = (await fetchText(url)).trim();
    const m = /^v(1\.\d+\.\d+)$/.exec(body);
    if (!m) throw new Error(`${url} says ${JSON.stringify(body.slice(0, 40))}, not a release such as v1.36.1`);
    return m[1]!;
  };
  try {
    let version = await ask(request.kind === "minor" ? `stable-${request.minor}` : "stable");
    // As kubeadm: a minor newer than the ones this table pairs falls back to the newest paired minor's stable patch.
    if (request.kind === "stable" && compareMinor(version, newest.minor) > 0) version = await ask(`stable-${newest.minor}`);
    return version;
  } catch (e) {
    options.warn(
      `could not ask for the newest ${request.kind === "minor" ? request.minor : "stable"} release (${e instanceof Error ? e.message : String(e)}); using ${known} (pin the version to skip the question: --k8s-version ${known}, or versions.kubernetes in the cluster file)`,
    );
    return known;
  }
}

/** kubeadm's 10 s limit; a failure says its cause (ENOTFOUND, ECONNREFUSED, ...), not just "fetch failed". */
async function defaultFetch(url: string): Promise<string> {
  let r: Response;
  try {
    r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

function compareMinor(version: string, minor: string): number {
  return Number(version.split(".")[1]) - Number(minor.split(".")[1]);
}

function nearest(minor: string): Release {
  const n = Number(minor.split(".")[1]);
  return [...RELEASES].sort((a, b) => Math.abs(Number(a.minor.split(".")[1]) - n) - Math.abs(Number(b.minor.split(".")[1]) - n))[0]!;
}

/** An upgrade the version-skew policy forbids: refused before anything changes. */
export class UpgradeError extends DkError {
  constructor(message: string) {
    super(message, "UPGRADE", { hint: "upgrade one minor at a time (kubernetes.io/releases/version-skew-policy); --force allows a patch downgrade" });
  }
}

/**
 * Checks a change of versions against what the cluster runs: Kubernetes one minor at a time and never
 * down (a patch down within the same minor only with `force`), etcd never down and one minor at a time
 * (etcd's upgrade guide; kubeadm never downgrades etcd).
 */
export function checkUpgrade(running: Versions, wanted: Versions, force: boolean): void {
  const parts = (v: string) => v.split("-")[0]!.split(".").map(Number) as [number, number, number];
  const check = (what: string, from: string, to: string) => {
    const [a, b] = [parts(from), parts(to)];
    if (a[0] !== b[0] || b[1] > a[1] + 1)
      throw new UpgradeError(`${what} ${from} -> ${to} skips a minor version: the version-skew policy allows one minor at a time (${a[0]}.${a[1] + 1} first)`);
    const down = b[1] < a[1] || (b[1] === a[1] && b[2] < a[2]);
    if (down && (b[1] < a[1] || !force))
      throw new UpgradeError(`${what} ${from} -> ${to} is a downgrade: refused${b[1] === a[1] ? " (--force allows a patch downgrade)" : ""}`);
  };
  check("Kubernetes", running.kubernetes, wanted.kubernetes);
  check("etcd", running.etcd, wanted.etcd);
}
