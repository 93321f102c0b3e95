import { DkError } from "@dk-bootstrap/pki";
import type { ApplyRecord } from "./apply-record.js";
import type { ClusterHost } from "./cluster-file.js";
import { EtcdControl, type ListedMember, QuorumError } from "./etcd-membership.js";
import type { Transport } from "./transport/transport.js";

/**
 * What `apply` checks and decides about etcd's membership before it changes anything, apart from the phases: names
 * that must be unique, roles that must not change half-way, and what a run may do when no member answers. Its rule
 * is that it never guesses the cluster's state: the cluster folder's record says a cluster exists, the members say
 * who they are, and when they cannot be asked nothing membership-changing or destructive happens.
 */

/** A host of the file with its open connection (the shape apply.ts's HostConnection has). */
interface Conn {
  host: ClusterHost;
  transport: Transport;
}

/**
 * Refuses two hosts with one node name (cloned machines, or hosts without `nodeName` reporting one host name): both
 * would become one etcd member and one Node, and the cluster would never get healthy. Asked before any host changes.
 */
export function checkNodeNames(conns: readonly Conn[], names: readonly string[]): void {
  for (let i = 0; i < names.length; i++) {
    const j = names.indexOf(names[i]!);
    if (j !== i)
      throw new DkError(
        `hosts ${conns[j]!.host.ssh.address} and ${conns[i]!.host.ssh.address} both have the node name "${names[i]}": nothing was changed`,
        "INPUT",
        { hint: "give each host its own nodeName in the file (cloned machines report one host name)" },
      );
  }
}

/**
 * Refuses a controller made a worker: its etcd member, control plane and signing keys would stay behind (half a
 * demotion). The record names every host that was given member flags and not reset since.
 */
export function checkNoDemotion(conns: readonly Conn[], names: readonly string[], record: ApplyRecord): void {
  conns.forEach((c, i) => {
    if (c.host.role === "worker" && !c.host.reset && record.started[names[i]!])
      throw new DkError(`${names[i]} is an etcd member (a controller) and the file makes it a worker: nothing was changed`, "INPUT", {
        hint: `demoting a controller is not supported: mark it \`reset: true\` and apply (its member is removed, it is cleaned), then add it back as a worker`,
      });
  });
}

/** How apply may go on when no member answers `member list`, for a cluster the record says was started. */
export interface BlindPlan {
  /** The members the record knows, to be started again with their data and IDs (the etcd phase, together). */
  bringBack: string[];
}

/**
 * No member answers (quorum lost, every member down, an expired health-check certificate, etcdctl missing) and the
 * record says the cluster was started: it is never made again as new. Its recorded members are brought back; any
 * membership change (a controller to add, a member marked `reset: true`) is refused with the way out, since only
 * the members can say who they are.
 */
export function planWithoutAnswer(
  record: ApplyRecord,
  controllers: readonly string[],
  leavingMembers: readonly string[],
  /** The run's range has the etcd phase: outside it no change would be made anyway. */
  changing: boolean,
): BlindPlan {
  const adds = changing ? controllers.filter((n) => !record.started[n]) : [];
  const removals = changing ? leavingMembers.filter((n) => record.started[n]) : [];
  if (adds.length > 0 || removals.length > 0) {
    const what = [...adds.map((n) => `add ${n}`), ...removals.map((n) => `remove and reset ${n}`)].join(", ");
    throw new QuorumError(
      `etcd: no member answers, so no membership change is made (${what}): nothing was changed, every member's data is where it was`,
      "run `apply` without the change first (it starts the recorded members again with their data), then make it; if they cannot come back, `dk-bootstrap etcd restore FILE -f cluster.yaml --yes` from a snapshot",
    );
  }
  return { bringBack: controllers.filter((n) => record.started[n]) };
}

/**
 * The member names of hosts marked `reset: true` that SSH cannot reach (a dead controller), removed from etcd through a
 * healthy member with `--forget-unreachable`: the file's nodeName, else the recorded member at the host's address.
 * A host that is neither is refused: which member it was would be a guess.
 */
export function unreachableNames(hosts: readonly ClusterHost[], record: ApplyRecord): string[] {
  const recorded = Object.values(record.started).flatMap((s) => s.members);
  return hosts.map((h) => {
    const name = h.nodeName ?? recorded.find((m) => m.ip === h.ssh.address || h.nodeIPs.includes(m.ip))?.name;
    if (!name)
      throw new DkError(`${h.ssh.address} cannot be reached, and no member of the record has its address: nothing was changed`, "INPUT", {
        hint: "give the host its nodeName in the file (the name `status -f` shows for its member)",
      });
    return name;
  });
}

/** The first host whose etcd member answers `member list`, with the list it gives. */
export async function firstAnswer<C extends Conn>(hosts: readonly C[]): Promise<{ via: C; members: ListedMember[] } | undefined> {
  for (const c of hosts) {
    const members = await new EtcdControl(c.transport, c.host.remoteRoot).members();
    if (members) return { via: c, members };
  }
  return undefined;
}

/**
 * The controller to send a membership change through: a started, voting, healthy member of the list (never a host
 * whose etcd has not started yet, nor the member being removed).
 */
export function helperFor<C extends Conn>(
  controllers: readonly C[],
  nameOf: (c: C) => string,
  members: readonly ListedMember[],
  health: ReadonlyMap<string, boolean>,
  not: readonly string[] = [],
): C {
  const ok = (m: ListedMember | undefined) => m !== undefined && m.started && !m.learner && m.clientUrls.some((u) => health.get(u) === true);
  const helper = controllers.find((c) => !not.includes(nameOf(c)) && ok(members.find((m) => m.name === nameOf(c))));
  if (!helper) throw new QuorumError(`etcd: no healthy started member among the file's controllers to send the change through`);
  return helper;
}

/** Waits (a minute at most) until `c`'s member reports `members` members, all healthy. */
export async function waitHealthy(c: Conn, members: number): Promise<void> {
  const control = new EtcdControl(c.transport, c.host.remoteRoot);
  for (let i = 0; i < 60; i++) {
    const health = await control.health();
    if (health.size >= members && [...health.values()].every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new DkError(`etcd did not report ${members} healthy members within a minute`, "QUORUM");
}

/**
 * `apply --dry-run`'s membership plan, as comment lines: what the file and the folder's record say would change. A
 * real run asks the members first and may find less to do (a member already added) or refuse (no quorum).
 */
export function membershipComments(
  hosts: readonly { name: string; role: ClusterHost["role"]; reset: boolean }[],
  record: ApplyRecord,
  etcdInRange: boolean,
): string {
  const controllers = hosts.filter((h) => h.role !== "worker" && !h.reset).map((h) => h.name);
  const lines: string[] = [];
  if (Object.keys(record.started).length === 0) lines.push(`a new cluster of ${controllers.length} member(s): ${controllers.join(", ")}`);
  else {
    for (const n of controllers.filter((x) => !record.started[x]))
      lines.push(`add member ${n}: member add --learner through a started member, start it, promote it once it has caught up`);
    for (const h of hosts.filter((x) => x.reset && record.started[x.name]))
      lines.push(`remove member ${h.name}: member remove through a started member, then reset the host`);
  }
  for (const h of hosts.filter((x) => x.reset && !record.started[x.name])) lines.push(`reset ${h.name} (no etcd member)`);
  if (lines.length === 0) lines.push("no change: the members the record knows stay");
  const head = `# etcd membership (from the file and apply-record.json; a real run asks the members first)${etcdInRange ? "" : ": the etcd phase is not in this run's range, so none of it happens"}:`;
  return `${[head, ...lines.map((l) => `#   ${l}`)].join("\n")}\n`;
}
