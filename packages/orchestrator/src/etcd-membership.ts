import { DkError } from "@dk-bootstrap/pki";
import { RemoteCommandError } from "./errors.js";
import { EtcdTools } from "./etcd-snapshot-file.js";
import { type Shell, sh } from "./shell.js";
import { type EtcdMember, httpsUrl } from "./spec.js";
import { type Transport, exec } from "./transport/transport.js";

/** A membership change that would cost etcd its quorum (or that etcd can't make now): refused before anything is touched. */
export class QuorumError extends DkError {
  constructor(message: string, hint = "change one member at a time, each after the cluster is healthy (etcd's runtime reconfiguration guide)") {
    super(message, "QUORUM", { hint });
  }
}

/** A member as `etcdctl member list` reports it. */
export interface ListedMember {
  /** Hex member ID, as `member remove` takes it. */
  id: string;
  /** Empty for a member added but not started yet. */
  name: string;
  started: boolean;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
}

/** Parses `etcdctl member list -w simple` (`ID, status, name, peer URLs, client URLs, is learner`; 3.4+). */
export function parseMemberList(text: string): ListedMember[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const [id = "", status = "", name = "", peers = "", clients = "", learner = "false"] = line.split(", ").map((s) => s.trim());
      const urls = (s: string) => s.split(",").filter((u) => u !== "");
      return { id, name, started: status === "started", peerUrls: urls(peers), clientUrls: urls(clients), learner: learner === "true" };
    });
}

/** Parses `etcdctl endpoint health --cluster` lines: `URL is healthy: ...` / `URL is unhealthy: ...`. */
export function parseEndpointHealth(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const m of text.matchAll(/^(\S+) is (healthy|unhealthy)/gm)) out.set(m[1]!, m[2] === "healthy");
  return out;
}

/**
 * The new member's ID in `etcdctl member add`'s answer. etcdctl prints it with `%16x`: an ID whose first hex digit is
 * 0 comes padded with a space ("Member  b1fcf2646f475f5 added as learner to cluster ..."), one add in sixteen.
 */
export function parseMemberAdd(stdout: string): string | undefined {
  return /Member\s+([0-9a-f]+)\s+added/.exec(stdout)?.[1];
}

/** etcdctl on a controller, as its health-check client, against its own member (or, with `--cluster`, every member). */
export class EtcdControl {
  constructor(
    private readonly t: Transport,
    private readonly remoteRoot: string,
  ) {}

  private etcdctl(...args: string[]): Shell {
    return new EtcdTools(this.t, this.remoteRoot).etcdctl("3s", ...args);
  }

  /** The members, or undefined when this controller's member does not answer. */
  async members(): Promise<ListedMember[] | undefined> {
    const r = await this.t.run(this.etcdctl("member", "list", "-w", "simple"));
    return r.exitCode === 0 ? parseMemberList(r.stdout) : undefined;
  }

  /** Whether this controller's member leads (undefined when it does not answer). */
  async leads(): Promise<boolean | undefined> {
    const r = await this.t.run(this.etcdctl("endpoint", "status", "-w", "json"));
    if (r.exitCode !== 0) return undefined;
    // Member IDs are 64-bit: compared as the text etcd prints, never as JSON numbers (doubles would round them).
    const id = /"member_id":(\d+)/.exec(r.stdout)?.[1];
    return id !== undefined && id === /"leader":(\d+)/.exec(r.stdout)?.[1];
  }

  /** Every member's health, by client URL (asked through this controller's member). */
  async health(): Promise<Map<string, boolean>> {
    const r = await this.t.run(this.etcdctl("endpoint", "health", "--cluster"));
    return parseEndpointHealth(`${r.stdout}\n${r.stderr}`);
  }

  /**
   * `member add NAME --peer-urls=URL --learner`: the new member joins as a learner, which does not count towards
   * quorum until {@link promote} (so a 1 -> 2 change never leaves the cluster waiting on a member that has not
   * started). etcd refuses a change until every member has been connected for a few seconds ("unhealthy cluster",
   * its strict reconfiguration check): a member just restarted makes it wait. Returns the new member's ID.
   */
  async add(member: EtcdMember): Promise<string> {
    const add = this.etcdctl("member", "add", member.name, `--peer-urls=${httpsUrl(member.ip, 2380)}`, "--learner");
    let r = await this.t.run(add);
    for (let i = 0; i < 30 && r.exitCode !== 0 && /unhealthy cluster/.test(r.stderr); i++) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await this.t.run(add);
    }
    if (r.exitCode !== 0) throw new RemoteCommandError(add.text, r.exitCode, r.signal, r.stdout, r.stderr, this.t.host);
    const id = parseMemberAdd(r.stdout);
    if (!id) throw new DkError(`${this.t.host}: etcdctl member add said no member ID: ${r.stdout.trim().split("\n")[0]}`, "REMOTE");
    return id;
  }

  /**
   * `member promote ID`, once the learner has caught up with the leader: etcd refuses before ("in sync with leader"),
   * so it is asked again every second, up to `seconds`, or until `stop()` says the learner's start failed.
   */
  async promote(id: string, seconds = 90, stop: () => boolean = () => false): Promise<void> {
    const promote = this.etcdctl("member", "promote", id);
    for (let i = 0; ; i++) {
      const r = await this.t.run(promote);
      if (r.exitCode === 0) return;
      if (i >= seconds || stop() || !/in sync with leader|not ready|unhealthy cluster|timed out|deadline/i.test(r.stderr))
        throw new RemoteCommandError(promote.text, r.exitCode, r.signal, r.stdout, r.stderr, this.t.host);
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  /** `member remove ID`. */
  async remove(id: string): Promise<void> {
    await exec(this.t, this.etcdctl("member", "remove", id));
  }
}

/** What the cluster file wants of etcd against what its members say. */
export interface MembershipPlan {
  /** Controllers of the file not yet members, added one at a time (as learners, then promoted). */
  add: EtcdMember[];
  /**
   * Controllers of the file added to etcd but never started (a failed start, a run killed after `member add`): found
   * by their peer URL (an unstarted member has no name yet), started by this run and promoted if they are learners.
   */
  pending: { member: EtcdMember; listed: ListedMember }[];
  /** Members whose host is marked `reset: true`, removed one at a time (first, before any add). */
  remove: ListedMember[];
  /** Members that no host of the file names: reported, left alone (they still count against quorum). */
  unknown: ListedMember[];
}

/**
 * Compares the controllers the file wants with the member list, and refuses a change that would cost
 * quorum before anything is touched: more removals than the cluster tolerates failures, a removal while
 * another member is unhealthy, or any change while quorum is already gone. Learners do not vote: they count
 * neither in the quorum nor as healthy voters.
 */
export function planMembership(
  wanted: readonly EtcdMember[],
  resetNames: readonly string[],
  listed: readonly ListedMember[],
  health: ReadonlyMap<string, boolean>,
): MembershipPlan {
  const names = new Set(listed.filter((m) => m.name !== "").map((m) => m.name));
  const pending = wanted.flatMap((w) => {
    const found = listed.find((m) => !m.started && m.peerUrls.includes(httpsUrl(w.ip, 2380)));
    return !names.has(w.name) && found ? [{ member: w, listed: found }] : [];
  });
  const remove = listed.filter((m) => m.name !== "" && resetNames.includes(m.name));
  const add = wanted.filter((w) => !names.has(w.name) && !pending.some((p) => p.member === w));
  const unknown = listed.filter((m) => !resetNames.includes(m.name) && !wanted.some((w) => w.name === m.name) && !pending.some((p) => p.listed === m));
  const voters = listed.filter((m) => !m.learner);
  const n = voters.length;
  const healthyOf = (m: ListedMember) => m.clientUrls.some((u) => health.get(u) === true);
  const healthy = voters.filter(healthyOf).length;
  const quorum = Math.floor(n / 2) + 1;
  if ((add.length > 0 || remove.length > 0 || pending.length > 0) && healthy < quorum)
    throw new QuorumError(`etcd has ${healthy} healthy member(s) of ${n}, under its quorum of ${quorum}: no membership change can be made now`);
  if (remove.length > 0) {
    const tolerated = Math.floor((n - 1) / 2);
    const voting = remove.filter((m) => !m.learner);
    if (voting.length > tolerated)
      throw new QuorumError(
        `removing ${remove.map((m) => m.name).join(" and ")} at once would take etcd from ${n} members to ${n - voting.length}, more than the ${tolerated} it can lose: remove one, apply, then the next`,
      );
    const sick = voters.filter((m) => !remove.includes(m) && !healthyOf(m) && !pending.some((p) => p.listed === m));
    if (sick.length > 0)
      throw new QuorumError(
        `cannot remove ${remove.map((m) => m.name).join(", ")} while ${sick.map((m) => m.name || m.id).join(", ")} is unhealthy: the cluster would be left without quorum`,
      );
  }
  return { add, pending, remove, unknown };
}

/** A member's peer IP, from its first peer URL. */
export const peerIp = (m: ListedMember): string => new URL(m.peerUrls[0]!).hostname.replace(/^\[|\]$/g, "");
