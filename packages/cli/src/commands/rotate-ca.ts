// `certs rotate-ca NAME -f cluster.yaml` and --purge-archive; the one-node form (`… ssh [user@]host`) is loaded from
// rotate-ca-node.ts. What both forms check is rotation-checks.ts's.
import { resolve } from "node:path";
import { type CaName, InputError, describeRotation, purgeArchives, rotatableCa, rotationInProgress, withClusterFolder } from "@dk-bootstrap/pki";
import { hostSpec, plan, rotateCa, rotationCaveats } from "@dk-bootstrap/orchestrator";
import { concurrencyOf, connectAll, readCluster, versionsFor, withHostOutputs } from "../cluster-hosts.js";
import { type RotateCaFlags, checkRotationState, mustBeClusterFolder, sayImpact } from "../rotation-checks.js";

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
