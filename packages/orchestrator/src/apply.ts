import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { type ClusterFolder, type ClusterPki, DkError, ensureFolder, generateClusterPki, openClusterFolder, withClusterFolder } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import { chooseNodeIPs, nodeAddresses } from "./addresses.js";
import { pool, readApplyRecord, writeApplyRecord } from "./apply-record.js";
import { takeSnapshot } from "./etcd-backup.js";
import { stamp } from "./etcd-snapshot-file.js";
import type { ClusterFile, ClusterHost } from "./cluster-file.js";
import { EtcdControl, type ListedMember, planMembership } from "./etcd-membership.js";
import type { EventSink } from "./events.js";
import { STEPS, plan } from "./plan.js";
import type { Step } from "./steps/step.js";
import { reset } from "./reset.js";
import { runSteps } from "./runner.js";
import { type PhaseName, type RolloutPolicy, rollOut, rolloutPolicy } from "./rollout.js";
import { nodeStatus } from "./status.js";
import { type Versions, checkUpgrade } from "./releases.js";
import { sh } from "./shell.js";
import { type EtcdCluster, type EtcdMember, type NodeSpec, httpsUrl } from "./spec.js";
import { hostSpec } from "./host-spec.js";
import type { Transport } from "./transport/transport.js";

/** One host of the file with its open connection (root already, where the plan needs it). */
export interface HostConnection {
  host: ClusterHost;
  transport: Transport;
}

/** How {@link applyCluster} runs. */
export interface ApplyOptions {
  /** The local cluster folder: the CAs in `pki/`, each node in `nodes/NAME`. */
  dir: string;
  cluster: ClusterFile;
  /** Resolved versions (see resolveVersions). */
  versions: Versions;
  from?: string;
  until?: string;
  /** How many hosts work at once while a cluster is made. */
  concurrency: number;
  /** How many workers change at once in a running cluster (renewed certificates, an upgrade); 1 by default. */
  maxUnavailableWorkers?: number;
  /** Each host's events, for a UI that prefixes lines with the host. */
  events?: (host: string, event: Parameters<EventSink>[0]) => void;
  /** What the run decides and does at the cluster's level (membership, phases), one line each. */
  say?: (line: string) => void;
  force?: boolean;
  allowNameRemoval?: boolean;
  /** Let `versions` go down within a patch release from what the cluster runs (the CLI's `apply --force`). */
  allowPatchDowngrade?: boolean;
}

/** What happened on one host. */
export interface HostOutcome {
  nodeName: string;
  role: ClusterHost["role"] | "removed";
  done: string[];
  skipped: string[];
  error?: Error;
  /** The phase a rolling change stopped before this host got to it (a host before it failed): nothing of it was done here. */
  notTouched?: string;
}

/**
 * The phases, in the order the cluster needs them: etcd members (together: they wait for each other),
 * control planes once etcd has quorum, workers once the API answers, the cluster-wide objects once.
 */
const PHASES: readonly { name: PhaseName; from: string; until: string }[] = [
  { name: "etcd", from: "etcd", until: "etcd" },
  { name: "control plane", from: "kube-apiserver", until: "kube-scheduler" },
  { name: "workers", from: "containerd", until: "kube-proxy" },
  { name: "cluster-wide objects", from: "coredns", until: STEPS[STEPS.length - 1]!.id },
];

/** Facts asked of a host before anything is decided: its name and its own addresses. */
export interface Facts {
  nodeName: string;
  nodeIPs: string[];
}

/**
 * `apply -f cluster.yaml`: makes or reconciles a cluster of several hosts over their connections. Facts
 * first (names, addresses), then the PKI for every node as one set, then etcd's membership (removals,
 * then additions, one at a time, each followed by a health check; a change that would cost quorum is
 * refused before anything is touched), then the phases, each over its hosts in parallel. A host that
 * fails stops its own work; the others finish the phase, and the next phase does not start.
 *
 * The cluster folder (`options.dir`) is locked from the PKI step to the end of the run, whatever the end (the caller
 * must not hold it): the phases upload what it holds, so a `certs --force` or `certs renew` started meanwhile waits
 * rather than leave the hosts with a mix of old and new files, as it waits for `ssh`. A folder this run made is
 * removed again when the run fails before the PKI is written.
 */
export async function applyCluster(conns: HostConnection[], options: ApplyOptions): Promise<HostOutcome[]> {
  const facts = await pool(conns, options.concurrency, async (c) => gatherFacts(c));
  const folder = await openClusterFolder(options.dir);
  try {
    return await applyLocked(conns, facts, options, folder);
  } finally {
    await folder.release();
  }
}

/** {@link applyCluster} once the hosts' facts are known, with the cluster folder open (and locked) as `folder`. */
async function applyLocked(conns: HostConnection[], facts: Facts[], options: ApplyOptions, folder: ClusterFolder): Promise<HostOutcome[]> {
  const say = options.say ?? (() => undefined);
  const limits = { concurrency: options.concurrency, maxUnavailableWorkers: options.maxUnavailableWorkers ?? 1 };
  const active = conns.filter((c) => !c.host.reset);
  const firstController = active.find((c) => c.host.role !== "worker");
  if (!firstController) throw new DkError("no controller left in the file", "INPUT");
  const controllerIp = facts[conns.indexOf(firstController)]!.nodeIPs[0]!;
  const wanted: EtcdMember[] = active
    .filter((c) => c.host.role !== "worker")
    .map((c) => ({ name: facts[conns.indexOf(c)]!.nodeName, ip: facts[conns.indexOf(c)]!.nodeIPs[0]! }));
  const record = await readApplyRecord(options.dir);
  const running = record.versions;
  // Again here, under the folder's lock: a run that waited for another one must not undo the versions it just applied.
  if (running) checkUpgrade(running, options.versions, options.allowPatchDowngrade ?? false);
  record.versions = options.versions;

  const specOf = (c: HostConnection, etcdCluster?: EtcdCluster): NodeSpec =>
    hostSpec(options.cluster, c.host, facts[conns.indexOf(c)]!, {
      dir: options.dir,
      versions: options.versions,
      clusterSteps: c === firstController,
      controllerIp,
      ...(etcdCluster ? { etcdCluster } : {}),
    });

  // The PKI of every node (and the admin's kubeconfig for this machine), written as one set or not at all.
  const token = record.token || `${options.cluster.name}-${createHash("sha256").update(`${Date.now()}${Math.random()}`).digest("hex").slice(0, 12)}`;
  const provisional = (c: HostConnection) => specOf(c, c.host.role === "worker" ? undefined : { members: wanted, state: "new", token });
  await writeClusterPki(options, active.map(provisional), controllerIp, folder);
  await folder.commit();

  const outcomes = new Map<HostConnection, HostOutcome>(
    conns.map((c) => [c, { nodeName: facts[conns.indexOf(c)]!.nodeName, role: c.host.reset ? "removed" : c.host.role, done: [], skipped: [] }]),
  );
  const runRange = (c: HostConnection, spec: NodeSpec, from: string, until: string) =>
    runSteps(spec, c.transport, rangeOf(spec, from, until, options), (e) => options.events?.(outcomes.get(c)!.nodeName, e)).then((r) => {
      const o = outcomes.get(c)!;
      o.done.push(...r.done);
      o.skipped.push(...r.skipped.filter((s) => s !== "preflight"));
    });

  // etcd: who is a member already, and what changes.
  const controllers = active.filter((c) => c.host.role !== "worker");
  const leaving = conns.filter((c) => c.host.reset);
  const listed = await firstAnswer(
    [...controllers, ...leaving].filter((c) => c.host.role !== "worker"),
    (c) => new EtcdControl(c.transport, c.host.remoteRoot).members(),
  );
  const specs = new Map<HostConnection, NodeSpec>();
  const removed = new Set<HostConnection>();
  const memberSpec = (c: HostConnection, name: string, fallback: { state: "new" | "existing"; members: EtcdMember[] }) => {
    const started = record.started[name] ?? fallback;
    record.started[name] = started;
    return specOf(c, { ...started, token });
  };
  if (!listed) {
    say(`etcd: a new cluster of ${wanted.length} member(s): ${wanted.map((m) => m.name).join(", ")}`);
    for (const c of active) specs.set(c, c.host.role === "worker" ? specOf(c) : memberSpec(c, outcomes.get(c)!.nodeName, { state: "new", members: wanted }));
  } else {
    const { via, members } = listed;
    const health = await new EtcdControl(via.transport, via.host.remoteRoot).health();
    const change = planMembership(
      wanted,
      leaving.map((c) => outcomes.get(c)!.nodeName),
      members,
      health,
    );
    for (const m of change.unknown) say(`etcd: member ${m.name || m.id} is in no host of the file: left alone`);
    for (const m of change.remove) {
      const gone = leaving.find((c) => outcomes.get(c)!.nodeName === m.name)!;
      const helper = controllers.find((c) => c !== gone)!;
      say(`etcd: removing member ${m.name}`);
      await new EtcdControl(helper.transport, helper.host.remoteRoot).remove(m.id);
      await waitHealthy(helper, members.length - 1);
      await reset(specOf(gone), gone.transport, { events: (e) => options.events?.(m.name, e) });
      delete record.started[m.name];
      removed.add(gone);
      await rm(join(options.dir, "nodes", m.name), { recursive: true, force: true });
      say(`etcd: ${m.name} removed, and reset`);
    }
    const present = members.filter((m) => !change.remove.includes(m)).map((m) => ({ name: m.name, ip: peerIp(m) }));
    for (const c of controllers) {
      const name = outcomes.get(c)!.nodeName;
      if (change.add.some((a) => a.name === name)) continue;
      specs.set(c, memberSpec(c, name, { state: "new", members: present }));
    }
    for (const c of active.filter((x) => x.host.role === "worker")) specs.set(c, specOf(c));
    // An etcd upgrade starts from a snapshot of the data it is about to rewrite (etcd's upgrade guide, kubeadm's too).
    if (inRange(PHASES[0]!, options) && running && running.etcd !== options.versions.etcd) {
      const out = join(options.dir, "backups", `etcd-${stamp()}-before-${options.versions.etcd}.db`);
      await ensureFolder(join(options.dir, "backups"), 0o700);
      const taken = await takeSnapshot(
        controllers.map((c) => ({ conn: c, spec: specOf(c) })),
        out,
        { say },
      );
      say(`etcd ${running.etcd} -> ${options.versions.etcd}: snapshot first, revision ${taken.status.revision}, in ${out}`);
    }
    // Members that exist go first, one at a time: a dead one comes back with its data and ID, and one whose files
    // changed (renewed certificates, a new release) restarts only after the one before it is healthy again.
    // Asked of every member at once first: on a cluster with nothing to change, no member waits for another.
    const settled = await pool(controllers, options.concurrency, async (c) => {
      if (!specs.has(c)) return true;
      const [etcd] = await nodeStatus(specs.get(c)!, c.transport, ["etcd"]);
      return etcd !== undefined && etcd.done && etcd.current && etcd.healthy;
    });
    for (const c of controllers.filter((x, i) => settled[i] && specs.has(x))) outcomes.get(c)!.skipped.push("etcd");
    if (inRange(PHASES[0]!, options))
      await phase(
        controllers.filter((c, i) => specs.has(c) && !settled[i]),
        "etcd",
        rolloutPolicy("etcd", true, limits),
        async (c) => {
          const before = outcomes.get(c)!.done.length;
          await runRange(c, specs.get(c)!, "etcd", "etcd");
          if (outcomes.get(c)!.done.length > before) await waitHealthy(c, present.length);
        },
        outcomes,
      );
    for (const add of inRange(PHASES[0]!, options) ? change.add : []) {
      const c = controllers.find((x) => outcomes.get(x)!.nodeName === add.name)!;
      const helper = controllers.find((x) => x !== c && specs.has(x))!;
      const members = [...present, add];
      say(`etcd: adding member ${add.name} (${members.length} members)`);
      await new EtcdControl(helper.transport, helper.host.remoteRoot).add(add);
      specs.set(c, memberSpec(c, add.name, { state: "existing", members }));
      await writeApplyRecord(options.dir, { ...record, token });
      await runRange(c, specs.get(c)!, "etcd", "etcd");
      await waitHealthy(helper, members.length);
      present.push(add);
    }
  }
  await writeApplyRecord(options.dir, { ...record, token });
  // A host marked reset that held no etcd member (a worker, or a member never started): stopped and cleaned.
  for (const gone of leaving.filter((c) => !removed.has(c))) {
    await reset(specOf(gone), gone.transport, { events: (e) => options.events?.(outcomes.get(gone)!.nodeName, e) });
    await rm(join(options.dir, "nodes", outcomes.get(gone)!.nodeName), { recursive: true, force: true });
    say(`${outcomes.get(gone)!.nodeName}: reset`);
  }

  for (const p of PHASES) {
    if (!inRange(p, options)) continue;
    const hosts = active.filter((c) => rangeOf(specs.get(c)!, p.from, p.until, options).length > 0);
    if (p.name === "etcd" && listed) continue; // done above, member by member
    if (hosts.length === 0) continue;
    // A running cluster changes one controller at a time, and workers in batches: the API and the workloads stay up.
    const policy = rolloutPolicy(p.name, Boolean(listed), limits);
    say(`${p.name}: ${hosts.map((c) => outcomes.get(c)!.nodeName).join(", ")}${hosts.length > 1 ? ` (${policy.name})` : ""}`);
    await phase(hosts, p.name, policy, (c) => runRange(c, specs.get(c)!, p.from, p.until), outcomes);
  }
  return [...outcomes.values()];
}

/**
 * The PKI of every node (`nodes/NAME`), the cluster's CAs once (`pki/`), and the admin's kubeconfigs
 * for this machine, pointed at the apiEndpoint or the first controller: written as one set, or not at all.
 */
export async function writeClusterPki(
  options: Pick<ApplyOptions, "dir" | "cluster" | "force" | "allowNameRemoval">,
  nodes: NodeSpec[],
  controllerIp: string,
  /** The cluster folder, already open: the files join its set, committed by the caller. */
  open?: ClusterFolder,
): Promise<void> {
  const first = nodes.find((n) => n.clusterSteps) ?? nodes[0]!;
  await withClusterFolder(options.dir, open, async (folder) => {
    const cluster = await generateClusterPki({ ...first, apiServerSans: [] }, options.dir, {
      folder,
      force: options.force ?? false,
      leaves: (d) => d.name === "clients/admin" || d.name === "clients/super-admin",
    });
    await writeComponentKubeconfigs(
      cluster,
      { clusterName: options.cluster.name, server: options.cluster.apiEndpoint ?? httpsUrl(controllerIp, 6443) },
      { folder },
    );
    for (const spec of nodes) {
      const pki: ClusterPki = await generateClusterPki(spec, spec.dir, {
        folder,
        node: { dir: spec.dir, role: spec.role, cluster },
        allowNameRemoval: options.allowNameRemoval ?? false,
      });
      await writeComponentKubeconfigs(pki, spec, { folder });
    }
  });
}

/**
 * Runs `work` over a phase's hosts as its rollout policy says (see rollout.ts: the only place that decides whether a
 * failure stops the roll). Each host's outcome says what happened to it; when a host failed, the next phases do not
 * start and the error says what was done, what was not, and how to resume.
 */
async function phase(
  hosts: HostConnection[],
  name: PhaseName,
  policy: RolloutPolicy,
  work: (c: HostConnection) => Promise<void>,
  outcomes: Map<HostConnection, HostOutcome>,
): Promise<void> {
  const result = await rollOut(hosts, policy, work);
  for (const f of result.failed) outcomes.get(f.host)!.error = f.error;
  for (const c of result.notTouched) outcomes.get(c)!.notTouched = name;
  if (result.failed.length > 0) {
    const names = (cs: HostConnection[]) => cs.map((c) => outcomes.get(c)!.nodeName);
    throw new PhaseError(name, names(result.failed.map((f) => f.host)), [...outcomes.values()], names(result.done), names(result.notTouched));
  }
}

/**
 * A phase in which some hosts failed: the next phases did not start; each outcome says what was done. A rolling
 * change names the hosts it finished before the failure and those it never touched, and resumes on the next `apply`.
 */
export class PhaseError extends DkError {
  constructor(
    readonly phase: string,
    readonly failed: string[],
    readonly outcomes: HostOutcome[],
    readonly done: string[] = [],
    readonly notTouched: string[] = [],
  ) {
    const first = outcomes.find((o) => o.error)?.error?.message.split("\n")[0] ?? "";
    const rest = [done.length > 0 ? `done on ${done.join(", ")}` : "", notTouched.length > 0 ? `stopped there: ${notTouched.join(", ")} not touched` : ""];
    super(
      `${phase}: failed on ${failed.join(", ")}: ${first}${rest
        .filter(Boolean)
        .map((r) => `; ${r}`)
        .join("")}`,
      "PHASE",
      {
        hint:
          notTouched.length > 0
            ? `fix ${failed.join(", ")}, then run \`apply\` again: what is done is kept, and the roll goes on from there`
            : "fix what it says and apply again: what is done is kept",
      },
    );
  }
}

/** A host's name (the file's, else its hostname) and its own addresses (the file's, which it must hold, else detected). */
export async function gatherFacts(c: HostConnection): Promise<Facts> {
  const nodeName = c.host.nodeName ?? (await c.transport.run(sh`hostname`)).stdout.trim().toLowerCase();
  const nodeIPs = chooseNodeIPs(await nodeAddresses(c.transport), c.host.nodeIPs, isIP(c.host.ssh.address) ? c.host.ssh.address : undefined, c.transport.host);
  return { nodeName, nodeIPs };
}

/** The first controller whose etcd member answers, with the member list it gives. */
async function firstAnswer(
  hosts: HostConnection[],
  ask: (c: HostConnection) => Promise<ListedMember[] | undefined>,
): Promise<{ via: HostConnection; members: ListedMember[] } | undefined> {
  for (const c of hosts) {
    const members = await ask(c);
    if (members) return { via: c, members };
  }
  return undefined;
}

async function waitHealthy(c: HostConnection, members: number): Promise<void> {
  const control = new EtcdControl(c.transport, c.host.remoteRoot);
  for (let i = 0; i < 60; i++) {
    const health = await control.health();
    if (health.size >= members && [...health.values()].every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new DkError(`etcd did not report ${members} healthy members within a minute`, "QUORUM");
}

const peerIp = (m: ListedMember) => new URL(m.peerUrls[0]!).hostname.replace(/^\[|\]$/g, "");

function inRange(p: { from: string; until: string }, o: { from?: string; until?: string }): boolean {
  const i = (id: string) => STEPS.findIndex((s) => s.id === id);
  const lo = o.from ? i(o.from) : 0;
  const hi = o.until ? i(o.until) : STEPS.length - 1;
  return i(p.until) >= lo && i(p.from) <= hi;
}

/** The steps of a phase this host runs, within the run's --from/--until. */
function rangeOf(spec: NodeSpec, from: string, until: string, o: { from?: string; until?: string }): Step[] {
  const i = (id: string) => STEPS.findIndex((s) => s.id === id);
  const lo = Math.max(i(from), o.from ? i(o.from) : 0);
  const hi = Math.min(i(until), o.until ? i(o.until) : STEPS.length - 1);
  return lo > hi ? [] : plan({ from: STEPS[lo]!.id, until: STEPS[hi]!.id }, spec);
}
