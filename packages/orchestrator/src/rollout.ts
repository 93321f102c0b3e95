/**
 * How `apply` goes over the hosts of a phase: a policy per phase and per state of the cluster, as data (as the
 * steps are), and the one function that follows it. No phase decides by itself whether to go on after a failure.
 *
 * - A new cluster brings its hosts up together: etcd's first members wait for each other, and nothing runs yet
 *   that a failed host could take down. A host that fails stops its own work; the others finish the phase.
 * - A running cluster changes its etcd members and its controllers one at a time, and stops at the first host whose
 *   step or health gate fails: the hosts after it are not touched, so a change that breaks one member (a certificate
 *   its peers refuse, a release that does not start) never reaches the next one and quorum stays.
 * - A running cluster's workers change in batches of `--max-unavailable-workers`, and the roll stops after the first
 *   batch in which a host failed (the others of that batch were already going: they finish).
 */

/** The phases of `apply`, in their order. */
export type PhaseName = "etcd" | "control plane" | "workers" | "cluster-wide objects";

/** How a phase goes over its hosts. */
export interface RolloutPolicy {
  /** What the run says it does: `together`, `one at a time`, `in batches of 2`. */
  name: string;
  /** How many hosts change at once. */
  batch: number;
  /**
   * Stop after the first batch in which a host failed: the hosts after it are not touched. Without it, the hosts
   * are a pool (`batch` at a time, the next one starting as soon as one ends) and every host is tried.
   */
  stopAtFailure: boolean;
}

/** What the policies depend on: the run's flags. */
export interface RolloutLimits {
  /** `--concurrency`: how many hosts work at once while a cluster is made. */
  concurrency: number;
  /** `--max-unavailable-workers`: how many workers of a running cluster change at once. */
  maxUnavailableWorkers: number;
}

const together = (l: RolloutLimits): RolloutPolicy => ({ name: "together", batch: l.concurrency, stopAtFailure: false });
const oneAtATime = (): RolloutPolicy => ({ name: "one at a time", batch: 1, stopAtFailure: true });
const workerBatches = (l: RolloutLimits): RolloutPolicy =>
  l.maxUnavailableWorkers === 1 ? oneAtATime() : { name: `in batches of ${l.maxUnavailableWorkers}`, batch: l.maxUnavailableWorkers, stopAtFailure: true };

/** The policy of each phase, for a cluster being made (`new`) and one that runs (`running`). */
export const ROLLOUT_POLICIES: Readonly<Record<"new" | "running", Readonly<Record<PhaseName, (l: RolloutLimits) => RolloutPolicy>>>> = {
  new: { etcd: together, "control plane": together, workers: together, "cluster-wide objects": together },
  running: { etcd: oneAtATime, "control plane": oneAtATime, workers: workerBatches, "cluster-wide objects": oneAtATime },
};

/** The policy of `phase` for a new or a running cluster. */
export function rolloutPolicy(phase: PhaseName, running: boolean, limits: RolloutLimits): RolloutPolicy {
  return ROLLOUT_POLICIES[running ? "running" : "new"][phase](limits);
}

/** What a roll did: each host is in exactly one of the three lists, in the order it was given. */
export interface RolloutResult<H> {
  /** Hosts whose work ended without an error. */
  done: H[];
  failed: { host: H; error: Error }[];
  /** Hosts the roll stopped before (a batch before theirs failed): nothing was done on them. */
  notTouched: H[];
}

/** Runs `work` over the hosts as `policy` says. It never throws: failures are in the result. */
export async function rollOut<H>(hosts: readonly H[], policy: RolloutPolicy, work: (host: H) => Promise<void>): Promise<RolloutResult<H>> {
  const done = new Set<H>();
  const failed = new Map<H, Error>();
  const attempt = async (h: H) => {
    try {
      await work(h);
      done.add(h);
    } catch (e) {
      failed.set(h, e instanceof Error ? e : new Error(String(e)));
    }
  };
  const batch = Math.max(1, policy.batch);
  if (policy.stopAtFailure) {
    for (let i = 0; i < hosts.length && failed.size === 0; i += batch) await Promise.all(hosts.slice(i, i + batch).map(attempt));
  } else {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < hosts.length; i = next++) await attempt(hosts[i]!);
    };
    await Promise.all(Array.from({ length: Math.min(batch, hosts.length) }, worker));
  }
  return {
    done: hosts.filter((h) => done.has(h)),
    failed: hosts.filter((h) => failed.has(h)).map((host) => ({ host, error: failed.get(host)! })),
    notTouched: hosts.filter((h) => !done.has(h) && !failed.has(h)),
  };
}
