import { randomBytes } from "node:crypto";
import { open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DkError, InputError, openClusterFolder } from "@dk-bootstrap/pki";
import { pool, readApplyRecord, writeApplyRecord } from "./apply-record.js";
import type { ClusterNode } from "./cluster-facts.js";
import { EtcdControl } from "./etcd-membership.js";
import { etcdCaFingerprints, foreignReasons, readSidecar, writeSidecar } from "./etcd-snapshot-sidecar.js";
import { EtcdTools, type SnapshotStatus, fetchFile, restoreFolders, stamp, uploadFile, verifySnapshotFile } from "./etcd-snapshot-file.js";
import type { EventSink } from "./events.js";
import { preamble } from "./node.js";
import { STEPS } from "./plan.js";
import { lockNode, runSteps } from "./runner.js";
import { lines, sh } from "./shell.js";
import { type EtcdMember, type NodeSpec, httpsUrl } from "./spec.js";
import { exec } from "./transport/transport.js";

/** What a snapshot or restore says as it goes, one line each, and each host's step events. */
export interface BackupProgress {
  say?: (line: string) => void;
  events?: (host: string, e: Parameters<EventSink>[0]) => void;
}

/** A snapshot written on this machine. */
export interface TakenSnapshot {
  /** The node whose member gave it. */
  from: string;
  leader: boolean;
  status: SnapshotStatus;
  /** Bytes of the file, its integrity hash included. */
  size: number;
  sha256: string;
  path: string;
}

/** The controllers of the cluster whose members a backup talks to; a host marked reset is not one of them. */
const membersOf = (nodes: ClusterNode[]) => nodes.filter((n) => n.spec.role !== "worker" && !n.conn.host.reset);

/** The controllers whose member answers on the node, and whether it leads. */
async function answering(controllers: ClusterNode[]): Promise<{ node: ClusterNode; leader: boolean }[]> {
  const answers = await pool(controllers, controllers.length, async (n) => {
    const r = await n.conn.transport.run(new EtcdTools(n.conn.transport, n.spec.remoteRoot).etcdctl("3s", "endpoint", "status", "-w", "json"));
    if (r.exitCode !== 0) return undefined;
    // Member IDs are 64-bit: compared as the text etcd prints, never as JSON numbers (doubles would round them).
    const id = /"member_id":(\d+)/.exec(r.stdout)?.[1];
    const leader = /"leader":(\d+)/.exec(r.stdout)?.[1];
    return { node: n, leader: id !== undefined && id === leader };
  });
  return answers.filter((a) => a !== undefined);
}

/**
 * `etcd snapshot`: a snapshot from one healthy member (the leader when it answers, as etcd's upgrade guide
 * takes it; `snapshot save` takes exactly one endpoint), saved on that node under its remote root, checked
 * there with `snapshot status`, copied here over the same connection beside `out` (0600: it holds every
 * Secret of the cluster), its integrity hash checked here, and only then renamed onto `out`: a snapshot that
 * fails a check never replaces the previous good one. Its sidecar (`out.json`: cluster, etcd CA, members,
 * revision) says whose snapshot it is, for `etcd restore`. The node's copy is removed.
 */
export async function takeSnapshot(nodes: ClusterNode[], out: string, progress: BackupProgress = {}): Promise<TakenSnapshot> {
  if ((await stat(out).catch(() => undefined))?.isDirectory()) throw new InputError("is a folder: give the snapshot a file name", { file: out });
  const controllers = membersOf(nodes);
  const healthy = await answering(controllers);
  const chosen = healthy.find((a) => a.leader) ?? healthy[0];
  if (!chosen)
    throw new DkError(`no etcd member answers (asked ${controllers.map((n) => n.spec.nodeName).join(", ")}): no snapshot can be taken`, "QUORUM", {
      hint: "`dk-bootstrap status -f FILE` shows each member; restore an older snapshot if the members are lost",
    });
  const { node } = chosen;
  const tools = new EtcdTools(node.conn.transport, node.spec.remoteRoot);
  const folder = `${tools.node.state}/etcd-snapshots`;
  const remote = `${folder}/snapshot-${stamp()}-${randomBytes(3).toString("hex")}.db`;
  // Beside `out`, on its file system, so the rename that replaces a previous snapshot is atomic.
  const staged = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString("hex")}.new`);
  progress.say?.(`snapshot from ${node.spec.nodeName}${chosen.leader ? " (the leader)" : ""}`);
  try {
    await exec(node.conn.transport, lines([sh`mkdir -p ${folder} && chmod 700 ${folder} && umask 077`, tools.etcdctl("30m", "snapshot", "save", remote)]));
    const status = await tools.status(remote);
    const members = (await new EtcdControl(node.conn.transport, node.spec.remoteRoot).members()) ?? [];
    const { size, sha256 } = await fetchFile(node.conn.transport, remote, staged);
    if (process.env.DK_TEST_SNAPSHOT_DAMAGE) await damageForTest(staged);
    // The node's digest matched; this catches a snapshot etcd itself wrote damaged, which is no backup to keep.
    await verifySnapshotFile(staged);
    await rename(staged, out);
    const [etcdCA = ""] = await etcdCaFingerprints(node.spec.dir);
    await writeSidecar(out, {
      snapshot: basename(out),
      sha256,
      cluster: node.spec.clusterName,
      etcdCA,
      members: members.map((m) => ({ id: m.id, name: m.name })),
      revision: status.revision,
      from: node.spec.nodeName,
      takenAt: new Date().toISOString(),
    });
    return { from: node.spec.nodeName, leader: chosen.leader, status, size, sha256, path: out };
  } finally {
    await unlink(staged).catch(() => undefined);
    await node.conn.transport.run(sh`rm -f ${remote} ${`${remote}.part`}`);
  }
}

/** Test-only (`DK_TEST_SNAPSHOT_DAMAGE`): one byte of the fetched copy flipped, so that the check after the copy fails as it would for a damaged snapshot. */
async function damageForTest(path: string): Promise<void> {
  const f = await open(path, "r+");
  try {
    const at = Math.floor((await f.stat()).size / 2);
    const b = Buffer.alloc(1);
    await f.read(b, 0, 1, at);
    b[0]! ^= 0xff;
    await f.write(b, 0, 1, at);
  } finally {
    await f.close();
  }
}

/** What {@link restoreSnapshot} did. */
export interface RestoreOutcome {
  status: SnapshotStatus;
  /** The new cluster's token, recorded for the next `apply`. */
  token: string;
  members: EtcdMember[];
  /** Each member's previous data folder, kept, by node name. */
  keptAside: Record<string, string>;
  /** Components stopped for the restore and started again, by node name. */
  restarted: Record<string, string[]>;
}

/** Components that hold etcd's data in memory or act on it: stopped before etcd, started again after it (K-ETCD). */
const DEPENDENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"];

/**
 * `etcd restore FILE`: every member made anew from one snapshot, as a new cluster (etcd's recovery guide).
 * Checked before anything stops: the file's integrity hash here, then on every controller its upload and
 * `snapshot status`, and the restore itself into a fresh folder beside the member's data. Only then are the
 * apiservers, controller-managers, schedulers and kubelets that ran stopped, and every member after them;
 * each member's data folder is moved aside (kept, named with the time) and the restored one put in its
 * place; the members start again with the new cluster token, recorded in the cluster folder so the next
 * `apply` keeps them as they are; once all are healthy, the stopped components start again.
 */
export async function restoreSnapshot(
  nodes: ClusterNode[],
  file: string,
  dir: string,
  progress: BackupProgress = {},
  options: { force?: boolean } = {},
): Promise<RestoreOutcome> {
  // From start to end: the cluster folder (no apply, certs or other restore meanwhile) and every node (no run there).
  const folder = await openClusterFolder(dir);
  const held: (() => Promise<void>)[] = [];
  try {
    for (const n of nodes) held.push(await lockNode(n.spec, n.conn.transport));
    return await restoreLocked(nodes, file, dir, progress, options.force ?? false);
  } finally {
    for (const release of held) await release().catch(() => undefined);
    await folder.release();
  }
}

/** {@link restoreSnapshot} with the cluster folder and every node locked. */
async function restoreLocked(nodes: ClusterNode[], file: string, dir: string, progress: BackupProgress, force: boolean): Promise<RestoreOutcome> {
  const say = progress.say ?? (() => undefined);
  const marked = nodes.filter((n) => n.spec.role !== "worker" && n.conn.host.reset);
  if (marked.length > 0)
    throw new DkError(
      `${marked.map((n) => n.spec.nodeName).join(", ")} is marked reset in the file: its member would be left out of the restored cluster`,
      "INPUT",
      { hint: "apply the file first (it removes the member), then restore" },
    );
  const controllers = membersOf(nodes);
  if (controllers.length === 0) throw new DkError("no controller in the file: no etcd member to restore", "INPUT");
  const local = await verifySnapshotFile(file);
  // Whose snapshot it is, before anything is uploaded: another cluster's data over this one's is no restore.
  const sidecar = await readSidecar(file);
  const foreign = foreignReasons(sidecar, { sha256: local.sha256, file, cluster: controllers[0]!.spec.clusterName, etcdCAs: await etcdCaFingerprints(dir) });
  if (foreign.length > 0 && !force)
    throw new DkError(`${file}: not known to be this cluster's snapshot: ${foreign.join("; ")}: nothing was stopped or changed`, "FOREIGN", {
      hint: "restore the snapshot `etcd snapshot` took of this cluster, or add --force if this file is the one you mean",
    });
  if (foreign.length > 0) say(`restoring anyway (--force): ${foreign.join("; ")}`);
  const when = stamp();
  const members: EtcdMember[] = controllers.map((n) => ({ name: n.spec.nodeName, ip: n.spec.nodeIPs[0]! }));
  const initialCluster = members.map((m) => `${m.name}=${httpsUrl(m.ip, 2380)}`).join(",");
  const token = `${controllers[0]!.spec.clusterName}-${randomBytes(6).toString("hex")}`;
  const tools = new Map(controllers.map((n) => [n, new EtcdTools(n.conn.transport, n.spec.remoteRoot)]));
  const uploaded = (n: ClusterNode) => `${tools.get(n)!.node.state}/etcd-restore/snapshot-${when}.db`;
  const staged = (n: ClusterNode) => restoreFolders(tools.get(n)!.dataDir, when).staged;
  const aside = (n: ClusterNode) => restoreFolders(tools.get(n)!.dataDir, when).aside;

  // 1. Everything that can fail without touching a running member: upload, status, restore into a new folder.
  say(`checking the snapshot on ${controllers.map((n) => n.spec.nodeName).join(", ")} (nothing is stopped yet)`);
  let status: SnapshotStatus | undefined;
  const prepared = await Promise.allSettled(
    controllers.map(async (n) => {
      const t = tools.get(n)!;
      await uploadFile(n.conn.transport, file, uploaded(n), local.sha256);
      status = await t.status(uploaded(n));
      const m = members.find((x) => x.name === n.spec.nodeName)!;
      await t.restore(uploaded(n), staged(n), { name: m.name, peerUrl: httpsUrl(m.ip, 2380), initialCluster, token });
    }),
  );
  const failed = prepared.flatMap((p, i) => (p.status === "rejected" ? [{ n: controllers[i]!, e: p.reason as Error }] : []));
  if (failed.length > 0) {
    await Promise.all(controllers.map((n) => n.conn.transport.run(sh`rm -rf ${staged(n)} ${uploaded(n)}`)));
    const first = failed[0]!;
    throw new DkError(
      `${first.n.spec.nodeName}: ${first.e.message.split("\n")[0]}${failed.length > 1 ? ` (and ${failed.length - 1} more host(s))` : ""}: nothing was stopped or changed`,
      first.e instanceof DkError ? first.e.code : "RESTORE",
      first.e instanceof DkError && first.e.hint ? { hint: first.e.hint } : {},
    );
  }
  if (sidecar && foreign.length === 0 && sidecar.revision !== status!.revision && !force) {
    await Promise.all(controllers.map((n) => n.conn.transport.run(sh`rm -rf ${staged(n)} ${uploaded(n)}`)));
    throw new DkError(
      `${file}: etcd reads revision ${status!.revision}, and its sidecar recorded ${sidecar.revision}: nothing was stopped or changed`,
      "FOREIGN",
      { hint: "the file was replaced after its sidecar was written: restore a snapshot with its own sidecar, or add --force" },
    );
  }
  say(`snapshot: revision ${status!.revision}, ${status!.totalKey} keys`);

  const layout = (n: ClusterNode) => (tools.get(n) ?? new EtcdTools(n.conn.transport, n.spec.remoteRoot)).node;
  const restarted: Record<string, string[]> = {};
  const keptAside: Record<string, string> = {};
  try {
    // 2. Stop what reads etcd (where its step ran), then every member: no member may run on old data while another starts on new.
    await pool(nodes, nodes.length, async (n) => {
      const r = await exec(n.conn.transport, sh`for id in ${DEPENDENTS}; do [ -f ${`${layout(n).state}/steps`}/"$id" ] && echo "$id"; done; true`);
      restarted[n.spec.nodeName] = r.stdout.split("\n").filter((l) => DEPENDENTS.includes(l));
    });
    const stop = (n: ClusterNode, ids: string[]) => {
      const components = STEPS.filter((s) => ids.includes(s.id)).flatMap((s) => s.components);
      if (components.length === 0) return Promise.resolve();
      say(`${n.spec.nodeName}: stopping ${components.join(", ")}`);
      return exec(n.conn.transport, lines([preamble(layout(n)), ...components.map((c) => sh`dk_stop ${c}`)])).then(() => undefined);
    };
    await pool(nodes, nodes.length, (n) => stop(n, restarted[n.spec.nodeName]!));
    // The followers first: a leader stopped while its followers run waits (about 7 s) to hand its leadership over;
    // alone, it has no one to hand it to and stops at once.
    const leader = (await answering(controllers)).find((a) => a.leader)?.node;
    const followers = controllers.filter((n) => n !== leader);
    await pool(followers, followers.length, (n) => stop(n, ["etcd"]));
    if (leader) await stop(leader, ["etcd"]);

    // 3. Swap the folders, record the new cluster, start the members together (each waits for the others' votes).
    await pool(controllers, controllers.length, async (n) => {
      const data = tools.get(n)!.dataDir;
      await exec(n.conn.transport, sh`set -e; if [ -e ${data} ]; then mv ${data} ${aside(n)}; fi; mv ${staged(n)} ${data}`);
      keptAside[n.spec.nodeName] = aside(n);
    });
    const record = await readApplyRecord(dir);
    for (const m of members) record.started[m.name] = { state: "new", members };
    await writeApplyRecord(dir, { ...record, token });
    say(`starting ${members.length} member(s) as a new cluster (token ${token})`);
    const restoredSpec = (n: ClusterNode): NodeSpec => ({ ...n.spec, etcdCluster: { members, state: "new", token } });
    const etcdStep = STEPS.filter((s) => s.id === "etcd");
    await pool(controllers, controllers.length, (n) =>
      runSteps(restoredSpec(n), n.conn.transport, etcdStep, (e) => progress.events?.(n.spec.nodeName, e), { lockHeld: true }),
    );
    await waitAllHealthy(controllers[0]!, members.length);
    say(`etcd: ${members.length} member(s) healthy`);

    // 4. The components stopped above, again: controllers first (the apiserver before what talks to it), then the kubelets.
    for (const group of [controllers, nodes.filter((n) => !controllers.includes(n))])
      await pool(group, group.length, async (n) => {
        const steps = STEPS.filter((s) => restarted[n.spec.nodeName]!.includes(s.id));
        if (steps.length === 0) return;
        say(`${n.spec.nodeName}: starting ${steps.map((s) => s.id).join(", ")}`);
        const spec = controllers.includes(n) ? restoredSpec(n) : n.spec;
        await runSteps(spec, n.conn.transport, steps, (e) => progress.events?.(n.spec.nodeName, e), { lockHeld: true });
      });
  } catch (e) {
    // Past this point members may be stopped: say how to finish, and where the old data is.
    const err = e instanceof Error ? e : new Error(String(e));
    throw new DkError(`restore stopped halfway: ${err.message.split("\n")[0]}`, "RESTORE", {
      hint: `run the same restore again (it starts over from the snapshot); each member's previous data is kept in ${aside(controllers[0]!)} and alike`,
      cause: e,
    });
  }
  await Promise.all(controllers.map((n) => n.conn.transport.run(sh`rm -f ${uploaded(n)}`)));
  return { status: status!, token, members, keptAside, restarted: Object.fromEntries(Object.entries(restarted).filter(([, v]) => v.length > 0)) };
}

/** Every member healthy, and started in the member list, as `via`'s member reports them; a minute at most. */
async function waitAllHealthy(via: ClusterNode, count: number): Promise<void> {
  const control = new EtcdControl(via.conn.transport, via.spec.remoteRoot);
  for (let i = 0; i < 60; i++) {
    const health = await control.health();
    const list = await control.members();
    if (health.size >= count && [...health.values()].every(Boolean) && list?.filter((m) => m.started).length === count) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new DkError(`the restored etcd did not report ${count} healthy members within a minute`, "QUORUM", {
    hint: "`dk-bootstrap logs --file FILE HOST etcd` shows why; the old data folders are kept beside var/lib/etcd",
  });
}
