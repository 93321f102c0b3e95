// `dk-bootstrap init` and `apply`: a cluster of several hosts from one file. Reading the file and connecting its hosts
// is cluster-hosts.ts's, shared with the other whole-cluster commands.
import { isIP } from "node:net";
import { resolve } from "node:path";
import {
  type ClusterFile,
  type ClusterHost,
  EXAMPLE_CLUSTER_FILE,
  type Versions,
  applyCluster,
  hostSpec,
  httpsUrl,
  artifactsFor,
  withPinnedSha256,
  plan,
  readApplyRecord,
  type ApplyRecord,
  membershipComments,
  renderScript,
} from "@dk-bootstrap/orchestrator";
import type { Command } from "commander";
import { checkTrustedCa } from "../trusted-ca.js";
import { type ApplyFlags, concurrencyOf, connectAll, maxUnavailableWorkersOf, readCluster, versionsFor, withHostOutputs } from "../cluster-hosts.js";
import { addOutputOptions, addRangeOptions } from "../options/node-options.js";
import { offlineVersionsNote } from "../version-flags.js";

/** `--dry-run`: the membership plan as comments, then one script per host, as a real run would send it, each under `# host: NAME`. */
async function dryRun(cluster: ClusterFile, versions: Versions, o: ApplyFlags, record: ApplyRecord, versionsNote?: string): Promise<string> {
  const active = cluster.hosts.filter((h) => !h.reset);
  // Nothing is asked of the hosts: a name or address the file leaves out is shown as the run would guess it.
  const factsOf = (h: (typeof active)[number]) => ({
    nodeName: h.nodeName ?? h.ssh.address.toLowerCase().replace(/[^a-z0-9.-]/g, "-"),
    nodeIPs: h.nodeIPs.length > 0 ? h.nodeIPs : isIP(h.ssh.address) ? [h.ssh.address] : [],
  });
  const controllers = active.filter((h) => h.role !== "worker");
  const members = controllers.map((h) => ({ name: factsOf(h).nodeName, ip: factsOf(h).nodeIPs[0] ?? h.ssh.address }));
  const controllerIp = members[0]!.ip;
  const range = { ...(o.from ? { from: o.from } : {}), ...(o.until ? { until: o.until } : {}) };
  const etcdInRange = plan(range).some((s) => s.id === "etcd");
  // A host without nodeName is known to the record by its address (every member's flags list each member's IP).
  const recorded = Object.values(record.started).flatMap((s) => s.members);
  const nameOf = (h: (typeof active)[number]) =>
    h.nodeName ?? recorded.find((m) => m.ip === h.ssh.address || h.nodeIPs.includes(m.ip))?.name ?? factsOf(h).nodeName;
  const membership = membershipComments(
    cluster.hosts.map((h) => ({ name: nameOf(h), role: h.role, reset: h.reset })),
    record,
    etcdInRange,
  );
  const scripts = active.map(async (h) => {
    const planned = hostSpec(cluster, h, factsOf(h), {
      dir: resolve(o.dir),
      versions,
      clusterSteps: h === controllers[0],
      controllerIp,
      etcdCluster: { members, state: "new", token: `${cluster.name}-TOKEN` },
    });
    // The printed script pins the same trusted checksums a real run would.
    const spec = await withPinnedSha256(planned, artifactsFor(planned, planned.arch ?? "amd64", range));
    const notes = [
      ...(versionsNote ? [versionsNote] : []),
      `role: ${h.role}; reaches the API at ${spec.role === "worker" ? spec.server : httpsUrl("127.0.0.1", 6443)}; node IPs: ${spec.nodeIPs.join(", ") || "detected on the node"}`,
    ];
    return `# host: ${spec.nodeName}\n${renderScript(spec, range, undefined, notes)}`;
  });
  return `${membership}${(await Promise.all(scripts)).join("\n")}`;
}

/** `dk-bootstrap apply` and `dk-bootstrap init`. */
export function registerCluster(program: Command): void {
  program
    .command("init")
    .description("print a commented example of the cluster file that `apply -f` reads")
    .action(() => {
      process.stdout.write(EXAMPLE_CLUSTER_FILE);
    });

  addOutputOptions(addRangeOptions(program.command("apply")))
    .description("make or change a cluster of several hosts from one file: etcd on every controller, control planes, workers")
    .requiredOption("-f, --file <file>", "the cluster file (dk-bootstrap init prints an example)")
    .option("--dir <dir>", "cluster folder (the CAs in pki/, each node in nodes/NAME)", "./cluster")
    .option("-i, --identity <file>", "private key for every host (over the file's keyPath)")
    .option("--known-hosts <file>", "known_hosts file (over the file's knownHosts)")
    .option("--accept-new-host-key", "trust unknown host keys and record them (a changed key is always refused)")
    .option("--sudo-password-stdin", "read the sudo password from stdin (the same for every host)")
    .option("--mirror <url>", "get https://HOST/PATH from URL/HOST/PATH instead (over the file's mirror); its checksum files are not trusted")
    .option("--checksums <file>", "with a mirror: trusted SHA-256 per upstream URL, `SHA256  URL` lines (over the file's checksums)")
    .option("--allow-http-mirror", "accept an http:// mirror: the files are still checked, but anyone on the path sees and can withhold them")
    .option("--concurrency <n>", "how many hosts work at once", "10")
    .option("--max-unavailable-workers <n>", "how many workers of a running cluster change at once (the roll stops after a failed batch)", "1")
    .option("--dry-run", "connect to nothing: print each host's script, under `# host: NAME`")
    .option("--force", "allow a downgrade within a patch release (never CAs or keys: those are kept)")
    .option("--allow-name-removal", "let a re-issued serving certificate lose a name or IP it has")
    .option(
      "--forget-unreachable",
      "remove the etcd member of a host marked reset: true that cannot be reached, through a healthy member (its files stay on it)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  dk-bootstrap init > cluster.yaml\n  dk-bootstrap apply -f cluster.yaml --until etcd\n  dk-bootstrap apply -f cluster.yaml --dry-run",
    )
    .action(async (o: ApplyFlags) => {
      const concurrency = concurrencyOf(o);
      const maxUnavailableWorkers = maxUnavailableWorkersOf(o);
      plan({ ...(o.from ? { from: o.from } : {}), ...(o.until ? { until: o.until } : {}) });
      const cluster = await readCluster(o);
      const dir = resolve(o.dir);
      // A dry run connects to nothing, dl.k8s.io included: the table's patch, said in each host's head.
      const versions = await versionsFor(cluster, dir, o.force ?? false, !o.dryRun);
      if (o.dryRun) {
        // Versions the last apply recorded were not resolved now: no note about the table then.
        const record = await readApplyRecord(dir);
        const recorded = record.versions && Object.values(cluster.versions).every((v) => v === undefined);
        process.stdout.write(
          await dryRun(cluster, versions, o, record, recorded ? undefined : offlineVersionsNote(cluster.versions.kubernetes, versions.kubernetes)),
        );
        return;
      }
      // No folder is made before the hosts answer: applyCluster makes it, and removes it again when it fails before writing.
      const unreachable: ClusterHost[] = [];
      const conns = await connectAll(cluster, o, o.forgetUnreachable ? unreachable : undefined);
      // A folder whose CA the nodes do not trust is refused before any of them is changed.
      await checkTrustedCa(conns, dir).catch(async (e: unknown) => {
        await Promise.all(conns.map((c) => c.transport.close()));
        throw e;
      });
      await withHostOutputs(conns, o, async (events) => {
        const outcomes = await applyCluster(conns, {
          ...(unreachable.length > 0 ? { unreachable } : {}),
          dir,
          cluster,
          versions,
          concurrency,
          maxUnavailableWorkers,
          ...(o.from ? { from: o.from } : {}),
          ...(o.until ? { until: o.until } : {}),
          ...(o.allowNameRemoval ? { allowNameRemoval: true } : {}),
          ...(o.force ? { allowPatchDowngrade: true } : {}),
          events,
          say: (line) => process.stdout.write(`[cluster] ${line}\n`),
        });
        for (const r of outcomes)
          process.stdout.write(
            `[${r.nodeName}] ${r.role === "removed" ? "removed from the cluster" : `${r.role}: ${r.done.length} step(s) run, ${r.skipped.length} already done`}\n`,
          );
      });
    });
}
