import { readdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type CaName,
  type CaRotation,
  type ClusterFolder,
  LEAF_DEFS,
  RotationError,
  abortRotation,
  advanceRotation,
  describeRotation,
  markRolledOut,
  readRotation,
  rotatableCa,
  rotationInProgress,
  startRotation,
  withClusterFolder,
} from "@dk-bootstrap/pki";
import { refreshComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import { type ApplyOptions, applyCluster } from "./apply.js";
import { pool } from "./apply-record.js";
import { restartInClusterClients } from "./in-cluster-clients.js";
import { type ClusterNode, type HostConnection, clusterNodes } from "./cluster-facts.js";
import { NodeLayout } from "./node.js";
import { STEPS, plan } from "./plan.js";
import { bootstrap } from "./runner.js";
import type { EventSink } from "./events.js";
import { sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import { nodeStatus } from "./status.js";
import { type StepContext, assumedSupervisor } from "./steps/step.js";
import { type Transport, putFile } from "./transport/transport.js";

/** How {@link rotateCa} runs: apply's options (the rollouts are applies), the CA, and whether to go back. */
export interface RotateCaOptions extends Omit<ApplyOptions, "from"> {
  /** etcd, cluster or front-proxy. */
  name: string;
  /** Back to the old CA (phase 1 or 2 only). */
  abort?: boolean;
}

/** The file beside a node's certificates that says which phase of which rotation reached it. */
export const nodeRotationFile = (spec: Pick<NodeSpec, "remoteRoot">): string => `${new NodeLayout(spec.remoteRoot).pki}/ca-rotation.json`;

/**
 * `certs rotate-ca NAME -f cluster.yaml`: the three phases of a CA rotation, each written in the cluster folder
 * as one set (the CA copies, the re-issued leaves, the kubeconfigs that embed them, the rotation's state), then
 * rolled out by an apply of the same file up to the step the cluster has reached: exactly the components whose
 * files changed restart, etcd members one at a time behind a health check, controllers one at a time, workers
 * in batches. The phase reached is recorded in the folder and on each node, so a run that stops (a failure, a
 * kill) resumes with the next one where it stopped. Returns the rotation as it ends.
 */
export async function rotateCa(conns: HostConnection[], options: RotateCaOptions): Promise<CaRotation> {
  // The hosts' facts are asked once, not again after every phase: a rotation changes no name or address.
  let asked: Promise<ClusterNode[]> | undefined;
  const nodes = () => (asked ??= clusterNodes(conns, options));
  return runPhases(options, {
    progress: async () => progressOf(await pool(await nodes(), options.concurrency, async (n) => doneOn(n.spec, n.conn.transport)), rotatableCa(options.name)),
    rollout: async (r, until) => {
      await applyCluster(conns, { ...options, until });
      await recordOnNodes(await nodes(), options, r);
    },
    rolledOut: async (r) => {
      const first = (await nodes()).find((n) => n.spec.clusterSteps && !n.conn.host.reset);
      if (first) await afterRollout(r, first.spec, first.conn.transport, options.say);
    },
  });
}

/**
 * Once the cluster CA's phase 1 has reached every node, before phase 2 re-issues the apiservers' certificates: the
 * add-ons that are API clients restart, to trust old + new (in-cluster-clients.ts). Users' own Pods are theirs to
 * restart (the command says so before it starts).
 */
async function afterRollout(r: CaRotation, spec: NodeSpec, t: Transport, say?: (line: string) => void): Promise<void> {
  if (r.ca !== "ca" || r.phase !== 1 || r.aborting) return;
  const restarted = await restartInClusterClients(spec, t);
  if (restarted.length > 0) say?.(`restarted ${restarted.join(", ")}: their Pods now trust the old and the new CA`);
}

/** How {@link rotateCaOnNode} runs. */
export interface RotateNodeOptions {
  name: string;
  abort?: boolean;
  until?: string;
  events?: EventSink;
  say?: (line: string) => void;
}

/**
 * `certs rotate-ca NAME ssh user@host`: the same phases for the one-node cluster, whose folder holds the CAs and
 * the node's leaves together; each rollout re-runs the node's steps whose files changed (one etcd member and one
 * apiserver: they are down while they restart, which a single node cannot avoid).
 */
export async function rotateCaOnNode(spec: NodeSpec, t: Transport, options: RotateNodeOptions): Promise<CaRotation> {
  return runPhases(
    { ...options, dir: spec.dir },
    {
      progress: async () => progressOf([await doneOn(spec, t)], rotatableCa(options.name)),
      rollout: async (r, until) => {
        await bootstrap(spec, t, { until, ...(options.events ? { events: options.events } : {}) });
        await putFile(t, nodeRotationFile(spec), nodeRecord(r), 0o644);
      },
      rolledOut: (r) => afterRollout(r, spec, t, options.say),
    },
  );
}

/** The phases, each written locally then rolled out, from wherever the folder says the rotation is. */
async function runPhases(
  options: { dir: string; name: string; abort?: boolean; until?: string; say?: (line: string) => void },
  how: {
    progress: () => Promise<Progress>;
    rollout: (r: CaRotation, until: string) => Promise<void>;
    /** Once a phase has reached every step that holds the CA, before it is marked rolled out (a kill in it: done again). */
    rolledOut: (r: CaRotation) => Promise<void>;
  },
): Promise<CaRotation> {
  const say = options.say ?? (() => undefined);
  const ca = rotatableCa(options.name);
  let r = await inFolder(options.dir, async (folder) => {
    const current = await readRotation(folder);
    const active = current && rotationInProgress(current) ? current : undefined;
    if (options.abort) {
      if (!active || active.ca !== ca)
        throw new RotationError(`no rotation of the ${options.name} CA is in progress: nothing to abort`, {
          ...(active ? { hint: `the rotation in progress is the ${active.name} CA's` } : {}),
        });
      const change = await abortRotation(folder, active);
      await refreshKubeconfigs(folder);
      say(`aborting: back to the old ${options.name} CA${change.reissued.length > 0 ? `; re-issued by it: ${change.reissued.join(", ")}` : ""}`);
      return change.rotation;
    }
    const started = await startRotation(folder, options.name);
    if (started.archive === active?.archive) say(`resuming: ${describeRotation(started)}`);
    else {
      await refreshKubeconfigs(folder);
      say(`new ${options.name} CA made (old and new kept in ${join(folder.dir, started.archive)})`);
    }
    return started;
  });
  const progress = await how.progress();
  const until = options.until ?? progress.reached;
  // A phase is rolled out only when every step that holds this CA's files has it: an --until before one of them
  // pushes the phase where it reaches, and leaves it to be finished by a run that goes that far.
  const beyond = progress.users.filter((id) => stepIndex(id) > stepIndex(until));
  while (rotationInProgress(r)) {
    if (!r.rolledOut) {
      say(`${describeRotation(r)}: apply --until ${until}`);
      await how.rollout(r, until);
      if (beyond.length > 0) {
        say(
          `phase ${r.phase}/3 is not rolled out: --until ${until} stops before ${beyond.join(", ")}, which hold the ${options.name} CA's files; run again with --until ${beyond.at(-1)} (or without --until) to finish it`,
        );
        return r;
      }
      await how.rolledOut(r);
      const rolled = r;
      r = await inFolder(options.dir, (folder) => markRolledOut(folder, rolled));
    } else {
      const from = r;
      r = await inFolder(options.dir, async (folder) => {
        const change = await advanceRotation(folder, from);
        await refreshKubeconfigs(folder);
        if (change.reissued.length > 0) say(`re-issued: ${change.reissued.join(", ")}`);
        return change.rotation;
      });
    }
  }
  say(describeRotation(r));
  return r;
}

/** What a node says of a rotation: which CA, the phase that reached it, the target CA's fingerprint, and when. */
export interface NodeRotationRecord {
  name: string;
  phase: 1 | 2 | 3;
  target: string;
  at: string;
}

/** The shape a node's record must have: a file any user of the node may have written is text from outside. */
const NODE_RECORD_RULES: Record<keyof NodeRotationRecord, (v: unknown) => boolean> = {
  name: (v) => v === "etcd" || v === "cluster" || v === "front-proxy",
  phase: (v) => v === 1 || v === 2 || v === 3,
  target: (v) => typeof v === "string" && /^[0-9A-Fa-f:]{32,128}$/.test(v),
  at: (v) => typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) && !Number.isNaN(Date.parse(v)),
};

/**
 * What a node says of the rotation (the file beside its certificates): undefined when it has none, `invalid` when
 * the file is not a record this tool writes (its text never reaches the terminal: a control character in it could
 * rewrite what the operator sees).
 */
export async function nodeRotation(spec: NodeSpec, t: Transport): Promise<NodeRotationRecord | "invalid" | undefined> {
  const r = await t.run(sh`cat ${nodeRotationFile(spec)} 2>/dev/null`);
  if (r.exitCode !== 0 || r.stdout.trim() === "") return undefined;
  return parseNodeRotation(r.stdout);
}

/** A node's rotation record, checked field by field (own fields only, no others); `invalid` otherwise. */
export function parseNodeRotation(text: string): NodeRotationRecord | "invalid" {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "invalid";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "invalid";
  const rules = Object.entries(NODE_RECORD_RULES);
  const keys = Object.keys(v);
  if (keys.length !== rules.length || !rules.every(([k, ok]) => Object.hasOwn(v, k) && ok((v as Record<string, unknown>)[k]))) return "invalid";
  const o = v as NodeRotationRecord;
  return { name: o.name, phase: o.phase, target: o.target, at: o.at };
}

/** The files the rotation of `ca` changes in each phase, and the steps of a node that restart for them. */
export interface PhaseImpact {
  phase: 1 | 2 | 3;
  /** Trust files: what each copy of the CA certificate holds in this phase. */
  trust: string;
  /** What signs in this phase (kube-controller-manager's single-certificate `ca-signer.crt` for the cluster CA). */
  signer: "old" | "new";
  /** Local files (relative to a node's folder) whose bytes change in this phase. */
  files: string[];
  /** Steps of this node whose files change, so they run (restart) again. */
  restarts: string[];
}

/**
 * The plan of a rotation of `ca` on one node, as data: which of its files change in each phase and which steps
 * restart for them (a step runs again when its files' bytes change). Phase 1: the trust files become old + new.
 * Phase 2: the bundle's order changes (the new CA signs, first), the CA key where a node holds it, every leaf of
 * the CA, and the kubeconfigs that embed them. Phase 3: the trust files hold the new CA alone.
 */
export function rotationImpact(ctx: StepContext, ca: CaName): PhaseImpact[] {
  const trustFile = `pki/${ca}.crt`;
  const leaves = LEAF_DEFS.filter((d) => d.ca === ca).flatMap((d) => [`pki/${d.name}.crt`, `pki/${d.name}.key`]);
  const steps = plan({}, ctx.spec);
  const phase = (n: 1 | 2 | 3): PhaseImpact => {
    const changes = (local: string, signer: boolean): boolean => {
      // A kubeconfig embeds the cluster CA (every phase) and, in phase 2, a client certificate it signs.
      if (local.endsWith(".conf")) return ca === "ca";
      if (local === trustFile) return !signer || n === 2;
      return n === 2 && (local === `pki/${ca}.key` || leaves.includes(local));
    };
    const restarts = steps.filter((s) => s.files(ctx).some((f) => f.local !== undefined && changes(f.local, f.signer === true))).map((s) => s.id);
    const files = [
      ...new Set(steps.flatMap((s) => s.files(ctx).flatMap((f) => (f.local !== undefined && changes(f.local, f.signer === true) ? [f.local] : [])))),
    ];
    return { phase: n, trust: n === 3 ? "new" : n === 1 ? "old + new" : "new + old", signer: n === 1 ? "old" : "new", files: files.sort(), restarts };
  };
  return [phase(1), phase(2), phase(3)];
}

/** A dry run's step context for a spec: nothing is asked of the node. */
export const plannedContext = (spec: NodeSpec): StepContext => ({
  spec,
  node: new NodeLayout(spec.remoteRoot),
  arch: spec.arch ?? "amd64",
  supervisor: assumedSupervisor(spec),
});

/** What the cluster-wide rollout cannot do live, said rather than hidden (printed by the CLI before it starts). */
export function rotationCaveats(name: string): string[] {
  const out = [
    "etcd and the apiserver read CA files only at start: each phase restarts every member and apiserver that uses them, one at a time (no downtime with 3 members and the apiserver's --etcd-servers listing all; a request in flight on a member as it stops is dropped, not drained, as etcd stops with client TLS on: clients make it again)",
  ];
  if (name === "cluster")
    out.push(
      "the service-account key is not the CA: tokens stay valid throughout (sa.key/sa.pub are not touched)",
      "pods that read the CA once (in-cluster clients: CoreDNS, operators) cannot verify the apiservers from phase 2 on (their certificates are the new CA's) unless restarted after phase 1: this command restarts CoreDNS and Traefik then (kube-root-ca.crt follows --root-ca-file at each controller-manager restart); restart your own in-cluster clients after it (they lose the API from phase 2 until then)",
      "one controller means the API is down while its apiserver restarts: the no-downtime promise needs several controllers behind the apiEndpoint",
      "kubeconfigs made outside this folder (users') must get the new CA bundle before phase 2 (the apiservers then serve certificates of the new CA) and new client certificates before phase 3",
    );
  if (name === "front-proxy")
    out.push("extension API servers read the requestheader CA from kube-system/extension-apiserver-authentication: restart them after phase 1 and phase 3");
  return out;
}

async function inFolder<T>(dir: string, work: (f: ClusterFolder) => Promise<T>): Promise<T> {
  return withClusterFolder(dir, undefined, work, { mustExist: true });
}

/** The kubeconfigs of the cluster folder and of each node's folder, with the CA bundle and client certificates staged. */
async function refreshKubeconfigs(folder: ClusterFolder): Promise<void> {
  const nodes = await readdir(join(folder.dir, "nodes")).catch(() => [] as string[]);
  for (const d of [folder.dir, ...nodes.map((n) => join(folder.dir, "nodes", n))]) await refreshComponentKubeconfigs(d, { folder });
}

/** Where the cluster is: the last step any host has done, and the steps done somewhere that hold the rotated CA's files. */
interface Progress {
  reached: string;
  users: string[];
}

/** A node's spec and the steps it has done. */
async function doneOn(spec: NodeSpec, t: Transport): Promise<{ spec: NodeSpec; done: string[] }> {
  return { spec, done: (await nodeStatus(spec, t)).filter((s) => s.done).map((s) => s.id) };
}

/**
 * The last step (in the plan's order) that any host has done (a rotation restarts what runs, it installs nothing new),
 * and, of the steps each host has done, those whose files a phase of the rotation of `ca` changes: its trust points.
 */
function progressOf(nodes: { spec: NodeSpec; done: string[] }[], ca: CaName): Progress {
  const users = new Set<string>();
  for (const n of nodes) for (const p of rotationImpact(plannedContext(n.spec), ca)) for (const id of p.restarts) if (n.done.includes(id)) users.add(id);
  return { reached: lastDone(nodes.map((n) => n.done)), users: [...users].sort((a, b) => stepIndex(a) - stepIndex(b)) };
}

/** A step's place in the plan's order; -1 for `preflight` (the checks only), before every step. */
const stepIndex = (id: string): number => STEPS.findIndex((s) => s.id === id);

/** The last of the steps done on some node, in the plan's order. */
function lastDone(done: string[][]): string {
  const last = Math.max(-1, ...done.flat().map((id) => STEPS.findIndex((s) => s.id === id)));
  if (last < 0) throw new RotationError("no host has run any step yet: nothing to rotate", { hint: "apply -f cluster.yaml first" });
  return STEPS[last]!.id;
}

async function recordOnNodes(nodes: ClusterNode[], options: RotateCaOptions, r: CaRotation): Promise<void> {
  const body = nodeRecord(r);
  await pool(
    nodes.filter((n) => !n.conn.host.reset),
    options.concurrency,
    (n) => putFile(n.conn.transport, nodeRotationFile(n.spec), body, 0o644),
  );
}

/** What a node keeps of the rotation once a phase reached it. */
function nodeRecord(r: CaRotation): string {
  return `${JSON.stringify({ name: r.name, phase: r.phase, target: r.aborting ? r.old : r.new, at: new Date().toISOString() })}\n`;
}
