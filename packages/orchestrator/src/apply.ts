import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type ClusterFolder, DkError, ensureFolder, openClusterFolder } from "@dk-bootstrap/pki";
import { writeClusterPki } from "./cluster-pki.js";
import { clusterStarted, pool, readApplyRecord, writeApplyRecord } from "./apply-record.js";
import { type Facts, type HostConnection, gatherFacts } from "./cluster-facts.js";
import { checkNoDemotion, checkNodeNames, firstAnswer, helperFor, planWithoutAnswer, unreachableNames, waitHealthy } from "./apply-membership.js";
import { takeSnapshot } from "./etcd-backup.js";
import { stamp } from "./etcd-snapshot-file.js";
import type { ClusterFile, ClusterHost } from "./cluster-file.js";
import { EtcdControl, peerIp, planMembership } from "./etcd-membership.js";
import type { EventSink } from "./events.js";
import { STEPS, plan } from "./plan.js";
import type { Step } from "./steps/step.js";
import { reset } from "./reset.js";
import { runSteps } from "./runner.js";
import { type PhaseName, type RolloutPolicy, rollOut, rolloutPolicy } from "./rollout.js";
import { nodeStatus } from "./status.js";
import { type Versions, checkUpgrade } from "./releases.js";
import type { EtcdCluster, EtcdMember, NodeSpec } from "./spec.js";
import { hostSpec } from "./host-spec.js";

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
  /**
   * Hosts marked `reset: true` that SSH cannot reach (`--forget-unreachable`): their members are removed through a
   * healthy member; nothing can be cleaned on them, their files stay there.
   */
  unreachable?: ClusterHost[];
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
  const names = facts.map((f) => f.nodeName);
  const nameOf = (c: HostConnection) => names[conns.indexOf(c)]!;
  checkNodeNames(conns, names);
  checkNoDemotion(conns, names, record);

  // etcd: who is a member already (asked before any file or host changes), and what changes. Members are added,
  // removed or reset only in a run whose range has the etcd phase (`--until preflight` is a check, nothing more).
  const controllers = active.filter((c) => c.host.role !== "worker");
  const leaving = conns.filter((c) => c.host.reset);
  const changing = inRange(PHASES[0]!, options);
  const started = clusterStarted(record);
  const dead = unreachableNames(options.unreachable ?? [], record);
  const listed = await firstAnswer([...controllers, ...leaving.filter((c) => c.host.role !== "worker")]);
  // A cluster the record knows is never made again as new: with no member answering, only its members come back.
  const blind = !listed && started ? planWithoutAnswer(record, controllers.map(nameOf), [...leaving.map(nameOf), ...dead], changing) : undefined;

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
    conns.map((c) => [c, { nodeName: nameOf(c), role: c.host.reset ? "removed" : c.host.role, done: [], skipped: [] }]),
  );
  const runRange = (c: HostConnection, spec: NodeSpec, from: string, until: string) =>
    runSteps(spec, c.transport, rangeOf(spec, from, until, options), (e) => options.events?.(nameOf(c), e)).then((r) => {
      const o = outcomes.get(c)!;
      o.done.push(...r.done);
      o.skipped.push(...r.skipped.filter((s) => s !== "preflight"));
    });
  const specs = new Map<HostConnection, NodeSpec>();
  for (const c of active.filter((x) => x.host.role === "worker")) specs.set(c, specOf(c));
  const removed = new Set<HostConnection>();
  const memberSpec = (c: HostConnection, flags: { state: "new" | "existing"; members: EtcdMember[] }) => {
    const recorded = record.started[nameOf(c)] ?? flags;
    record.started[nameOf(c)] = recorded;
    return specOf(c, { ...recorded, token });
  };
  const saveRecord = () => writeApplyRecord(options.dir, { ...record, token });
  const resetHost = async (gone: HostConnection) => {
    await reset(specOf(gone), gone.transport, { events: (e) => options.events?.(nameOf(gone), e) });
    // Its entry goes with it: a host added back later starts as a new member of the running cluster.
    delete record.started[nameOf(gone)];
    removed.add(gone);
    await rm(join(options.dir, "nodes", nameOf(gone)), { recursive: true, force: true });
    await saveRecord();
  };
  if (!changing)
    for (const c of [...leaving, ...controllers.filter((x) => listed && !listed.members.some((m) => m.name === nameOf(x)))])
      say(`etcd: not in this run's range: ${nameOf(c)} is not ${c.host.reset ? "removed or reset" : "added"} (apply with the etcd phase in range to do it)`);
  if (!listed) {
    if (blind) say(`etcd: no member answers: the recorded members (${blind.bringBack.join(", ")}) start again with their data and IDs`);
    else say(`etcd: a new cluster of ${wanted.length} member(s): ${wanted.map((m) => m.name).join(", ")}`);
    for (const c of controllers) if (!blind || record.started[nameOf(c)]) specs.set(c, memberSpec(c, { state: "new", members: wanted }));
  } else {
    const { via, members } = listed;
    const health = await new EtcdControl(via.transport, via.host.remoteRoot).health();
    const change = planMembership(
      changing ? wanted : wanted.filter((w) => members.some((m) => m.name === w.name)),
      changing ? [...leaving.map(nameOf), ...dead] : [],
      members,
      health,
    );
    for (const n of changing ? dead.filter((x) => !change.remove.some((m) => m.name === x)) : [])
      say(`etcd: ${n} cannot be reached and is no member: nothing to remove (its files stay on it)`);
    const voters = members.filter((m) => !m.learner).length;
    for (const m of change.unknown)
      say(`etcd: member ${m.name || m.id} is in no host of the file: left alone; it counts against quorum (${Math.floor(voters / 2) + 1} of ${voters})`);
    const ctl = (c: HostConnection) => new EtcdControl(c.transport, c.host.remoteRoot);
    for (const m of change.remove) {
      const gone = leaving.find((c) => nameOf(c) === m.name);
      const helper = helperFor(controllers, nameOf, members, health, [m.name]);
      say(`etcd: removing member ${m.name} (through ${nameOf(helper)})`);
      await ctl(helper).remove(m.id);
      await waitHealthy(helper, members.length - 1);
      if (gone) {
        await resetHost(gone);
        say(`etcd: ${m.name} removed, and reset`);
      } else {
        // A dead host: nothing can be cleaned there. Its entry goes, so that a host of that name comes back as new.
        delete record.started[m.name];
        await rm(join(options.dir, "nodes", m.name), { recursive: true, force: true });
        await saveRecord();
        say(`etcd: ${m.name} removed; it cannot be reached, so its files stay on it (reset it when it is back, before any reuse)`);
      }
    }
    const present = members.filter((m) => m.started && !change.remove.includes(m)).map((m) => ({ name: m.name, ip: peerIp(m) }));
    for (const c of controllers) if (present.some((m) => m.name === nameOf(c))) specs.set(c, memberSpec(c, { state: "new", members: present }));
    /** Starts a member just added (or found added but never started), and promotes it once it has caught up. */
    const join_ = async (c: HostConnection, helper: HostConnection, id: string, learner: boolean) => {
      let failed = false;
      await Promise.all([
        runRange(c, specs.get(c)!, "etcd", "etcd").catch((e: unknown) => {
          failed = true;
          throw e;
        }),
        learner ? ctl(helper).promote(id, 90, () => failed) : undefined,
      ]);
      present.push({ name: nameOf(c), ip: facts[conns.indexOf(c)]!.nodeIPs[0]! });
      await waitHealthy(helper, present.length);
    };
    for (const p of change.pending) {
      const c = controllers.find((x) => nameOf(x) === p.member.name)!;
      const helper = helperFor(controllers, nameOf, members, health);
      say(`etcd: member ${p.member.name} was added (${p.listed.id}) but never started: starting it${p.listed.learner ? ", then promoting it" : ""}`);
      record.started[p.member.name] = { state: "existing", members: [...present, p.member] };
      specs.set(c, memberSpec(c, record.started[p.member.name]!));
      await saveRecord();
      await join_(c, helper, p.listed.id, p.listed.learner);
    }
    // An etcd upgrade starts from a snapshot of the data it is about to rewrite (etcd's upgrade guide, kubeadm's too).
    if (changing && running && running.etcd !== options.versions.etcd) {
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
    const rolled = controllers.filter((c) => specs.has(c) && !change.pending.some((p) => p.member.name === nameOf(c)));
    const settled = await pool(rolled, options.concurrency, async (c) => {
      const [etcd] = await nodeStatus(specs.get(c)!, c.transport, ["etcd"]);
      return etcd !== undefined && etcd.done && etcd.current && etcd.healthy;
    });
    for (const c of rolled.filter((x, i) => settled[i])) outcomes.get(c)!.skipped.push("etcd");
    // The leader goes last: each follower's restart then costs no election, and the one hand-over happens when every
    // other member already runs what it is changed to (etcd's upgrade guide; kubeadm upgrades it on its last node
    // only by chance). A leader stopped gracefully hands its leadership over before it exits.
    const toRoll = rolled.filter((c, i) => !settled[i]);
    const leads = changing
      ? await pool(toRoll, options.concurrency, async (c) => (await new EtcdControl(c.transport, c.host.remoteRoot).leads()) === true)
      : [];
    const leader = toRoll.find((c, i) => leads[i]);
    if (leader && toRoll.length > 1) say(`etcd: ${nameOf(leader)} leads: it goes last`);
    if (changing)
      await phase(
        [...toRoll.filter((c) => c !== leader), ...(leader ? [leader] : [])],
        "etcd",
        rolloutPolicy("etcd", true, limits),
        async (c) => {
          const before = outcomes.get(c)!.done.length;
          await runRange(c, specs.get(c)!, "etcd", "etcd");
          if (outcomes.get(c)!.done.length > before) await waitHealthy(c, present.length);
        },
        outcomes,
      );
    for (const add of changing ? change.add : []) {
      const c = controllers.find((x) => nameOf(x) === add.name)!;
      const helper = helperFor(controllers, nameOf, members, health);
      say(`etcd: adding member ${add.name} as a learner, promoted once it has caught up (${present.length + 1} members)`);
      // Its flags are recorded before etcd knows it: a run killed after `member add` is found by the next one.
      record.started[add.name] = { state: "existing", members: [...present, add] };
      specs.set(c, memberSpec(c, record.started[add.name]!));
      await saveRecord();
      await join_(c, helper, await ctl(helper).add(add), true);
    }
  }
  await saveRecord();
  // A host marked reset that held no etcd member (a worker, or a member never started): stopped and cleaned.
  for (const gone of changing ? leaving.filter((c) => !removed.has(c)) : []) {
    await resetHost(gone);
    say(`${nameOf(gone)}: reset`);
  }

  for (const p of PHASES) {
    if (!inRange(p, options)) continue;
    // A controller not added to etcd (out of this run's range) has no spec: it waits for a run that adds it.
    const hosts = active.filter((c) => specs.has(c) && rangeOf(specs.get(c)!, p.from, p.until, options).length > 0);
    if (p.name === "etcd" && listed) continue; // done above, member by member
    if (hosts.length === 0) continue;
    // A running cluster changes one controller at a time, and workers in batches: the API and the workloads stay up.
    // Members brought back after none answered start together, as a new cluster's do: they need each other for quorum.
    const policy = rolloutPolicy(p.name, p.name === "etcd" ? false : Boolean(listed) || started, limits);
    say(`${p.name}: ${hosts.map((c) => outcomes.get(c)!.nodeName).join(", ")}${hosts.length > 1 ? ` (${policy.name})` : ""}`);
    await phase(hosts, p.name, policy, (c) => runRange(c, specs.get(c)!, p.from, p.until), outcomes);
  }
  return [...outcomes.values()];
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
