import { rm } from "node:fs/promises";
import { join } from "node:path";
import { DkError } from "@dk-bootstrap/pki";
import { contextFor } from "./context.js";
import { stepScript } from "./context.js";
import { EtcdTools, restoreLeftovers } from "./etcd-snapshot-file.js";
import type { EventSink } from "./events.js";
import type { NodeLayout } from "./node.js";
import { MARK_FILE, type MadeEntry, type NodeMark, RECORD_FILE, runTargets, stepTargets } from "./node-record.js";
import { foldersBetween, isUnder, normalRemoteRoot } from "./remote-root.js";
import { STEPS } from "./plan.js";
import { type Shell, lines, sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import { nodeMark } from "./status.js";
import type { StepContext, Supervisor } from "./steps/step.js";
import { type Transport, exec } from "./transport/transport.js";

/**
 * What a node that dk-bootstrap did not mark may hold of another tool's cluster (kubeadm's layout, an older
 * dk-bootstrap's state): named when `reset` refuses such a node, so the operator sees why. Paths under the remote root.
 */
export const FOREIGN_SIGNS: readonly { path: string; what: string }[] = [
  { path: "etc/kubernetes/pki/ca.key", what: "a cluster CA key" },
  { path: "etc/kubernetes/admin.conf", what: "an admin kubeconfig" },
  { path: "etc/kubernetes/manifests", what: "static Pod manifests" },
  { path: "var/lib/etcd", what: "etcd data" },
  { path: "var/lib/kubelet", what: "the kubelet's folder" },
  { path: "usr/local/bin/kubelet", what: "a kubelet" },
  { path: "usr/bin/kubelet", what: "a kubelet" },
  { path: "var/lib/dk-bootstrap", what: "the state of a dk-bootstrap run that kept no record of what it made" },
];

/** The files dk-bootstrap itself keeps in its state folder: removed even when that folder was there before it. */
const STATE_FILES = [MARK_FILE, RECORD_FILE, "steps", "lock", "etcd-snapshots", "etcd-restore"];

/** What `reset` is about to do on a node, for the question before it. */
export interface ResetPlan {
  host: string;
  mark: NodeMark;
  /** Recorded paths it removes (programs, configs, data folders), and folders it made, removed when empty. */
  remove: string[];
  folders: string[];
}

/** What `reset` did. */
export interface ResetOutcome {
  /** No mark and nothing of a cluster on the node: nothing to reset. */
  nothing: boolean;
  removed: string[];
  /** Recorded paths not removed: not a path dk-bootstrap makes (a damaged or edited record). */
  ignored: string[];
}

/** A node dk-bootstrap did not set up (no mark), which holds another cluster's files: `reset` leaves it untouched. */
export class NotOursError extends DkError {
  constructor(host: string, root: string, found: { path: string; what: string }[]) {
    super(
      `${host}: not set up by dk-bootstrap (no ${MARK_FILE} in ${join(root, "var/lib/dk-bootstrap")}), and it holds ${found.map((f) => `${f.path} (${f.what})`).join(", ")}: nothing was removed`,
      "NOT_OURS",
      { hint: "reset a node with the tool that set it up (kubeadm reset, for kubeadm's); dk-bootstrap removes only what it recorded making" },
    );
  }
}

/** Every path a run could make on this node (any step, either supervisor) and the folders on the way: a record line outside it is not ours. */
function catalogue(c: StepContext): Set<string> {
  const targets = [...runTargets(c.node)];
  for (const supervisor of ["systemd", "process"] as Supervisor[])
    for (const step of STEPS) {
      try {
        targets.push(...stepTargets({ ...c, supervisor }, step));
      } catch {
        // A step this spec cannot make (an etcd member list without this node): it made nothing here.
      }
    }
  return new Set([...targets, ...targets.flatMap((p) => foldersBetween(c.node.root, p))]);
}

/** The signs of another tool's cluster that the node has, as paths under its root. */
async function foreignSigns(node: NodeLayout, t: Transport): Promise<{ path: string; what: string }[]> {
  const r = await exec(t, sh`for p in ${FOREIGN_SIGNS.map((s) => node.path(s.path))}; do if [ -e "$p" ] || [ -L "$p" ]; then echo yes; else echo no; fi; done`);
  const answers = r.stdout.split("\n");
  return FOREIGN_SIGNS.flatMap((s, i) => (answers[i] === "yes" ? [{ path: node.path(s.path), what: s.what }] : []));
}

/**
 * The workshop's Cleanup, for exactly what dk-bootstrap made. A node without dk-bootstrap's mark is refused
 * ({@link NotOursError}) when it holds anything of a cluster, and left alone; a marked one: `confirm` is asked
 * (when given), then every component dk-bootstrap starts is stopped (in reverse order), each path of the node's
 * own record of what it made is removed (a file, a program, a data folder), with the data folders `etcd restore`
 * set aside or staged beside etcd's when that data folder is one it made, and the folders it made on the way are
 * removed if they are empty (a file a user put there since keeps its folder). A path that was there before
 * dk-bootstrap first ran is never in the record, so never removed. Works after a half-done run.
 */
export async function reset(
  spec: NodeSpec,
  transport: Transport,
  options: { events?: EventSink; confirm?: (plan: ResetPlan) => Promise<boolean> } = {},
): Promise<ResetOutcome> {
  const emit = options.events ?? (() => undefined);
  const root = normalRemoteRoot(spec.remoteRoot);
  const c = await contextFor({ ...spec, remoteRoot: root }, transport);
  const found = await nodeMark(c.node, transport);
  if (!found) {
    const signs = await foreignSigns(c.node, transport);
    if (signs.length > 0) throw new NotOursError(transport.host, root, signs);
    emit({ type: "output", step: "reset", stream: "stdout", line: "nothing of dk-bootstrap's on this node: nothing to reset" });
    await rm(join(spec.dir, "state.json"), { force: true });
    return { nothing: true, removed: [], ignored: [] };
  }
  const known = catalogue(c);
  // The node's cache folder (downloads, uploaded image archives) is dk-bootstrap's own: what the record names there is
  // ours whatever the spec of this reset says (a run given --images puts archives a reset without it does not list).
  const ours = (e: MadeEntry) => isUnder(root, e.path) && (known.has(e.path) || isUnder(c.node.cache, e.path));
  const remove = found.made.filter((e) => e.kind === "rm" && ours(e)).map((e) => e.path);
  // The deepest first, so that a folder emptied by the removal of another is removed after it.
  const folders = found.made
    .filter((e) => e.kind === "dir" && ours(e))
    .map((e) => e.path)
    .sort((a, b) => b.split("/").length - a.split("/").length);
  const ignored = found.made.filter((e) => !ours(e)).map((e) => e.path);
  if (options.confirm && !(await options.confirm({ host: transport.host, mark: found.mark, remove, folders })))
    throw new DkError(`${transport.host}: reset not confirmed: nothing was removed`, "CONFIRM", { hint: "answer y to reset, or pass --yes" });

  emit({ type: "step-start", step: "reset", title: "reset", why: "stop what dk-bootstrap started and remove what it recorded making" });
  for (const path of ignored)
    emit({ type: "output", step: "reset", stream: "stderr", line: `kept ${path}: the record names it, and dk-bootstrap never makes it` });
  // A step's teardown (containers, mounts, interfaces, iptables rules, cgroups its component made) runs only where the
  // record shows the step made something here: what it would undo on a node we never ran it on is not ours.
  const ran = (s: (typeof STEPS)[number]) => [...s.files(c).map((f) => f.path), ...s.creates(c)].some((p) => remove.includes(p));
  const stops = [...STEPS]
    .reverse()
    .flatMap((s) => [
      ...s.components.map(
        (name) =>
          sh`dk_stop ${name}; if dk_systemd && [ -f ${`/etc/systemd/system/dk-${name}.service`} ]; then systemctl disable ${`dk-${name}`} >/dev/null 2>&1 || true; fi`,
      ),
      ...(s.teardown && ran(s) ? [s.teardown(c)] : []),
    ]);
  const dataDir = new EtcdTools(transport, root).dataDir;
  const leftovers: Shell[] = remove.includes(dataDir) ? [restoreLeftovers(dataDir)] : [];
  const removal = [
    ...stops,
    sh`rm -rf ${STATE_FILES.map((f) => `${c.node.state}/${f}`)}`,
    remove.length + leftovers.length > 0 ? sh`rm -rf ${[...remove.map((p) => sh`${p}`), ...leftovers]}` : sh`:`,
    folders.length > 0 ? sh`for d in ${folders}; do rmdir "$d" 2>/dev/null || true; done` : sh`:`,
    // The unit files are gone with the rest: systemd forgets them.
    sh`if dk_systemd; then systemctl daemon-reload || true; fi`,
  ];
  await exec(transport, stepScript(c, lines(removal)), { onLine: (line, stream) => emit({ type: "output", step: "reset", stream, line }) });
  await rm(join(spec.dir, "state.json"), { force: true });
  emit({ type: "step-done", step: "reset", status: "done", ms: 0 });
  return { nothing: false, removed: remove, ignored };
}
