import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type CaName,
  InputError,
  RotationError,
  ROTATABLE_CAS,
  certPaths,
  describeRotation,
  keptArchives,
  purgeArchives,
  mustBeAbortable,
  readRotation,
  rotatableCa,
  rotationInProgress,
  withClusterFolder,
} from "@dk-bootstrap/pki";
import { type NodeSpec, hostSpec, plan, plannedContext, rotateCa, rotationCaveats, rotationImpact } from "@dk-bootstrap/orchestrator";
import { type ApplyFlags, concurrencyOf, connectAll, readCluster, versionsFor, withHostOutputs } from "./cluster.js";

/**
 * A rotation needs the folder that holds the CA: a missing one (a mistyped --dir) is said before anything else,
 * and not made, as opening it for writing would.
 */
export async function mustBeClusterFolder(dir: string, hint: string): Promise<void> {
  // Other errors (a file, no permission) are described by the folder's opening, which comes next.
  const missing = await stat(dir).then(
    () => false,
    (e: NodeJS.ErrnoException) => e.code === "ENOENT" || e.code === "ENOTDIR",
  );
  if (missing) throw new InputError("no such cluster folder: a rotation needs the CA it holds", { file: dir }, { hint });
}

/** Said before any host is dialled: a rotation of another CA in progress, nothing to abort, or no CA to rotate. */
export async function checkRotationState(dir: string, name: string, ca: CaName, abort: boolean, how: string): Promise<void> {
  const { current, missing } = await withClusterFolder(
    dir,
    undefined,
    async (f) => {
      const p = certPaths(f.dir, ca);
      const missing =
        (await f.read(p.crt)) === undefined
          ? { what: "no CA certificate", file: p.crt }
          : (await f.read(p.key)) === undefined
            ? { what: "no CA key", file: p.key }
            : undefined;
      return { current: await readRotation(f), missing };
    },
    { mustExist: true },
  );
  const active = current && rotationInProgress(current) ? current : undefined;
  if (active && active.ca !== ca)
    throw new RotationError(`a rotation of the ${active.name} CA is in progress (phase ${active.phase}): one CA at a time`, {
      hint: `finish it first: dk-bootstrap certs rotate-ca ${active.name} ${how} (or --abort it in phase 1 or 2)`,
    });
  if (abort && !active) throw new RotationError(`no rotation of the ${name} CA is in progress: nothing to abort`);
  if (abort && active) mustBeAbortable(active);
  // A rotation in progress has both CAs in its archive; a new one starts from the CA and its key in the folder.
  if (!active && missing) throw new InputError(`${missing.what}: a rotation needs the CA and its key`, { file: missing.file });
}

/** A dry run's lines for one node: each phase's trust, signer, changed files and restarts. */
export function sayImpact(say: (line: string) => void, nodeName: string, spec: NodeSpec, ca: CaName): void {
  for (const p of rotationImpact(plannedContext(spec), ca))
    say(
      `${nodeName}: phase ${p.phase}: trust ${p.trust}, ${p.signer} CA signs; files: ${p.files.join(" ") || "none"}; restarts: ${p.restarts.join(", ") || "nothing"}`,
    );
}

/** `certs rotate-ca`'s flags. */
export interface RotateCaFlags extends Omit<ApplyFlags, "file"> {
  file?: string;
  abort?: boolean;
  purgeArchive?: boolean;
  port?: string;
  jump?: string;
}

/** `certs rotate-ca etcd|cluster|front-proxy -f cluster.yaml [--abort] [--dry-run]`, or `… ssh [user@]host` for the one-node cluster. */
export async function rotateCaCommand(name: string, how: string | undefined, target: string | undefined, o: RotateCaFlags): Promise<void> {
  const ca = rotatableCa(name);
  if (o.purgeArchive) return purgeArchiveCommand(name, ca, how, o);
  if (how !== undefined && (how !== "ssh" || target === undefined || o.file !== undefined))
    throw new InputError("expected `ssh [user@]host` (the one-node cluster) or -f cluster.yaml, not both", {
      field: "target",
      value: [how, target].filter(Boolean).join(" "),
    });
  if (how === undefined && o.file === undefined) throw new InputError("a cluster is needed: -f cluster.yaml, or ssh [user@]host", { field: "target" });
  // Before the new CA is made: a mistyped step would otherwise fail only at the first rollout.
  if (o.until !== undefined) plan({ until: o.until });
  if (target !== undefined) return (await import("./rotate-ca-node.js")).rotateCaOnNodeCommand(name, target, o);
  return onCluster(name, ca, { ...o, file: o.file! });
}

/** `certs rotate-ca NAME --purge-archive`: the folder alone, no host; said archive by archive. */
async function purgeArchiveCommand(name: string, ca: CaName, how: string | undefined, o: RotateCaFlags): Promise<void> {
  const other = [how && "ssh", o.file && "-f", o.abort && "--abort", o.until && "--until", o.dryRun && "--dry-run"].find(Boolean);
  if (other) throw new InputError("--purge-archive works on the folder alone: it takes only --dir", { field: other });
  const dir = resolve(o.dir);
  await mustBeClusterFolder(dir, "pass the --dir the rotation used");
  const removed = await withClusterFolder(dir, undefined, (f) => purgeArchives(f, ca), { mustExist: true });
  if (removed.length === 0) process.stdout.write(`[rotate-ca] no archive of a finished ${name} CA rotation holds a key: nothing to remove\n`);
  for (const a of removed) process.stdout.write(`[rotate-ca] removed ${resolve(dir, a)} (the old ${name} CA's key with it)\n`);
}

/** The line `status` says while a finished rotation's archive still holds the old CA's key; undefined when none does. */
export async function keptArchiveNote(dir: string): Promise<string | undefined> {
  const kept = await withClusterFolder(
    dir,
    undefined,
    async (f) =>
      (await Promise.all(Object.entries(ROTATABLE_CAS).map(async ([n, ca]) => ({ n, archives: await keptArchives(f, ca) })))).filter(
        (k) => k.archives.length > 0,
      ),
    { readOnly: true },
  ).catch(() => []);
  if (kept.length === 0) return undefined;
  return kept
    .map(
      (k) =>
        `rotation: the old ${k.n} CA's key is still kept in ${k.archives.map((a) => resolve(dir, a)).join(", ")}: \`dk-bootstrap certs rotate-ca ${k.n} --purge-archive --dir ${dir}\` removes it`,
    )
    .join("\n");
}

async function onCluster(name: string, ca: CaName, o: RotateCaFlags & { file: string }): Promise<void> {
  const concurrency = concurrencyOf(o);
  const cluster = await readCluster(o);
  const dir = resolve(o.dir);
  const versions = await versionsFor(cluster, dir);
  const say = (line: string) => process.stdout.write(`[rotate-ca] ${line}\n`);
  if (o.dryRun) {
    say(`${name} CA (${ca}): three phases, each written in ${dir} as one set, then rolled out host by host`);
    for (const c of rotationCaveats(name)) say(`note: ${c}`);
    const controllers = cluster.hosts.filter((h) => !h.reset && h.role !== "worker");
    for (const h of cluster.hosts.filter((x) => !x.reset)) {
      const nodeName = h.nodeName ?? h.ssh.address.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
      const spec = hostSpec(cluster, h, { nodeName, nodeIPs: h.nodeIPs }, { dir, versions, clusterSteps: h === controllers[0], controllerIp: "127.0.0.1" });
      sayImpact(say, nodeName, spec, ca);
    }
    return;
  }
  await mustBeClusterFolder(dir, `pass the --dir that \`dk-bootstrap apply -f ${o.file}\` used`);
  await checkRotationState(dir, name, ca, o.abort ?? false, `-f ${o.file}`);
  for (const c of rotationCaveats(name)) say(`note: ${c}`);
  const conns = await connectAll(cluster, o);
  await withHostOutputs(conns, o, async (events) => {
    const r = await rotateCa(conns, {
      name,
      dir,
      cluster,
      versions,
      concurrency,
      ...(o.abort ? { abort: true } : {}),
      ...(o.until ? { until: o.until } : {}),
      events,
      say,
    });
    if (rotationInProgress(r)) say(`stopped: ${describeRotation(r)}`);
    else
      say(
        `done: the ${name} CA is ${r.aborting ? r.old : r.new} (sha256), everywhere; the old one's key is kept in ${resolve(dir, r.archive)} until \`certs rotate-ca ${name} --purge-archive\``,
      );
  });
}
