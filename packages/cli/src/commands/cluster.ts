import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { DkError, InputError, checkExpiration, describeRotation, readRotation, rotationInProgress, table, withClusterFolder } from "@dk-bootstrap/pki";
import {
  type ClusterFile,
  EXAMPLE_CLUSTER_FILE,
  type HostConnection,
  type RunEvent,
  PhaseError,
  type Transport,
  type Versions,
  type ClusterNode,
  applyCluster,
  asRootIfNeeded,
  checkUpgrade,
  clusterNodes,
  clusterStatus,
  installedVersions,
  nodeRotation,
  nodeRotationFile,
  componentLogs,
  resetCluster,
  hostSpec,
  httpsUrl,
  mirrored,
  artifactsFor,
  withPinnedSha256,
  parseClusterFile,
  plan,
  readApplyRecord,
  renderScript,
  resolveVersions,
} from "@dk-bootstrap/orchestrator";
import type { Command } from "commander";
import { readStdin } from "../io.js";
import { RunOutput } from "../render/output.js";
import { addOutputOptions, addRangeOptions, connect } from "./node.js";

/** What the whole-cluster forms of status, reset and logs take. */
export interface ClusterCommandFlags {
  file: string;
  dir: string;
  identity?: string;
  knownHosts?: string;
  acceptNewHostKey?: boolean;
  sudoPasswordStdin?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** `apply`'s flags: those of every whole-cluster command, and what changes the cluster. */
export interface ApplyFlags extends ClusterCommandFlags {
  mirror?: string;
  checksums?: string;
  allowHttpMirror?: boolean;
  from?: string;
  until?: string;
  dryRun?: boolean;
  concurrency: string;
  force?: boolean;
  allowNameRemoval?: boolean;
}

/** Reads and checks the cluster file; the command line's flags win over it. */
export async function readCluster(o: ApplyFlags): Promise<ClusterFile> {
  let text: string;
  try {
    text = await readFile(resolve(o.file), "utf8");
  } catch {
    throw new InputError("cannot read the cluster file", { file: resolve(o.file) }, { hint: "`dk-bootstrap init > cluster.yaml` writes a commented example" });
  }
  const { cluster, warnings } = parseClusterFile(text, o.file);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  return {
    ...cluster,
    ...(o.mirror ? { mirror: o.mirror } : {}),
    ...(o.checksums ? { checksums: o.checksums } : {}),
    ...(o.allowHttpMirror ? { allowHttpMirror: true } : {}),
    ...(o.knownHosts ? { knownHosts: o.knownHosts } : {}),
  };
}

/**
 * The versions: the file's, else those the last apply resolved (never upgraded by itself), else resolved now.
 * A change from what the cluster runs must follow the version-skew policy (checked before anything connects).
 */
export async function versionsFor(cluster: ClusterFile, dir: string, force = false): Promise<Versions> {
  const v = cluster.versions;
  const record = await readApplyRecord(dir);
  if (record.versions && Object.values(v).every((x) => x === undefined)) return record.versions;
  const wanted = await resolveVersions(
    { kubernetes: v.kubernetes, etcd: v.etcd, containerd: v.containerd, runc: v.runc, cni: v.cniPlugins, helm: v.helm },
    { online: true, mapUrl: (u) => mirrored(u, cluster.mirror), warn: (w) => process.stderr.write(`warning: ${w}\n`) },
  );
  if (record.versions) checkUpgrade(record.versions, wanted, force);
  return wanted;
}

const expandHome = (p: string) => (p.startsWith("~/") ? resolve(homedir(), p.slice(2)) : resolve(p));

/** Every host's connection, opened and checked (host key, sudo) before any host is changed; one failure closes them all. */
export async function connectAll(cluster: ClusterFile, o: ApplyFlags): Promise<HostConnection[]> {
  const password = o.sudoPasswordStdin ? (await readStdin()).replace(/\r?\n$/, "") : undefined;
  const attempts = await Promise.allSettled(
    cluster.hosts.map(async (host) => {
      const target = `${host.ssh.user ? `${host.ssh.user}@` : ""}${host.ssh.address.includes(":") ? `[${host.ssh.address}]` : host.ssh.address}`;
      const identity = o.identity ?? (host.ssh.keyPath ? expandHome(host.ssh.keyPath) : undefined);
      const t = await connect(target, {
        dir: o.dir,
        ...(host.ssh.port ? { port: String(host.ssh.port) } : {}),
        ...(identity ? { identity } : {}),
        ...(cluster.knownHosts ? { knownHosts: expandHome(cluster.knownHosts) } : {}),
        ...(o.acceptNewHostKey ? { acceptNewHostKey: true } : {}),
      });
      try {
        // Root is asked for only where this host's steps in the run's range need it.
        const steps = plan({ ...(o.from ? { from: o.from } : {}), ...(o.until ? { until: o.until } : {}) }).filter((s) =>
          s.runsOn === undefined || s.runsOn === "cluster" ? host.role !== "worker" : host.role === "controller+worker" || host.role === s.runsOn,
        );
        const transport: Transport = await asRootIfNeeded(t, host.remoteRoot === "/" || steps.some((s) => s.needsRoot), password);
        return { host, transport };
      } catch (e) {
        await t.close();
        throw e;
      }
    }),
  );
  const failed = attempts.flatMap((a, i) =>
    a.status === "rejected" ? [`${cluster.hosts[i]!.ssh.address}: ${(a.reason as Error).message.split("\n")[0]}`] : [],
  );
  if (failed.length > 0) {
    await Promise.all(attempts.map((a) => (a.status === "fulfilled" ? a.value.transport.close() : undefined)));
    throw new DkError(`could not connect to every host, nothing was changed: ${failed.join("; ")}`, "SSH");
  }
  return attempts.map((a) => (a as PromiseFulfilledResult<HostConnection>).value);
}

/** `--dry-run`: one script per host, as a real run would send it, each under `# host: NAME`. */
async function dryRun(cluster: ClusterFile, versions: Versions, o: ApplyFlags): Promise<string> {
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
      `role: ${h.role}; reaches the API at ${spec.role === "worker" ? spec.server : httpsUrl("127.0.0.1", 6443)}; node IPs: ${spec.nodeIPs.join(", ") || "detected on the node"}`,
    ];
    return `# host: ${spec.nodeName}\n${renderScript(spec, range, undefined, notes)}`;
  });
  return (await Promise.all(scripts)).join("\n");
}

/** `--concurrency`: how many hosts a phase works on at once. */
export function concurrencyOf(o: ApplyFlags): number {
  const concurrency = Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new InputError("must be a whole number of hosts, 1 or more", { field: "--concurrency", value: o.concurrency });
  return concurrency;
}

/**
 * Runs a rollout over connected hosts with one output per host (`events` feeds it). A failed phase says each host's
 * outcome on one line before the error goes up; the outputs and the connections are closed whatever happens.
 */
export async function withHostOutputs<T>(
  conns: HostConnection[],
  o: Pick<ApplyFlags, "json" | "verbose">,
  work: (events: (host: string, e: RunEvent) => void) => Promise<T>,
): Promise<T> {
  const outputs = new Map<string, RunOutput>();
  const out = (host: string) => outputs.get(host) ?? outputs.set(host, new RunOutput({ host, json: o.json ?? false, verbose: o.verbose ?? false })).get(host)!;
  try {
    return await work((host, e) => out(host).sink(e));
  } catch (e) {
    if (e instanceof PhaseError)
      for (const r of e.outcomes)
        process.stderr.write(`[${r.nodeName}] ${r.error ? `failed: ${r.error.message.split("\n")[0]}` : `${r.done.length} step(s) run`}\n`);
    throw e;
  } finally {
    for (const x of outputs.values()) await x.close();
    await Promise.all(conns.map((c) => c.transport.close()));
  }
}

/** The file's hosts, connected, with the specs their last apply used; `use` runs with them, then every connection closes. */
export async function withCluster<T>(o: ClusterCommandFlags, use: (nodes: ClusterNode[]) => Promise<T>): Promise<T> {
  const flags: ApplyFlags = { ...o, concurrency: "10" };
  const cluster = await readCluster(flags);
  const dir = resolve(o.dir);
  const versions = await versionsFor(cluster, dir);
  const conns = await connectAll(cluster, flags);
  try {
    return await use(await clusterNodes(conns, { dir, cluster, versions, concurrency: 10 }));
  } finally {
    await Promise.all(conns.map((c) => c.transport.close()));
  }
}

/** `status -f cluster.yaml`: every host's steps, etcd's members and their health, and each node's certificates' expiry. */
export function clusterStatusCommand(o: ClusterCommandFlags): Promise<void> {
  return withCluster(o, async (nodes) => {
    const { hosts, members, health } = await clusterStatus(nodes, 10);
    const yn = (b: boolean) => (b ? "yes" : "no");
    const rotation = await withClusterFolder(resolve(o.dir), undefined, readRotation, { readOnly: true });
    if (rotation && rotationInProgress(rotation)) process.stdout.write(`rotation: ${describeRotation(rotation)}\n`);
    for (const { node, steps } of hosts) {
      process.stdout.write(`\n== ${node.spec.nodeName} (${node.spec.role}, ${node.conn.host.ssh.address})\n`);
      if (steps instanceof Error) process.stdout.write(`unreachable: ${steps.message.split("\n")[0]}\n`);
      else {
        process.stdout.write(
          table(
            ["STEP", "DONE", "CURRENT", "HEALTHY"],
            steps.map((r) => [r.id, yn(r.done), r.done ? yn(r.current) : "-", r.done ? yn(r.healthy) : "-"]),
          ),
        );
        const onNode = rotation && rotationInProgress(rotation) ? await nodeRotation(node.spec, node.conn.transport) : undefined;
        if (onNode === "invalid")
          process.stdout.write(`rotation: this node's ${nodeRotationFile(node.spec)} is not a record dk-bootstrap writes (not shown)\n`);
        else if (onNode) process.stdout.write(`rotation: the ${onNode.name} CA's phase ${onNode.phase} reached this node on ${onNode.at}\n`);
        const installed = Object.entries(await installedVersions(node));
        if (installed.length > 0) process.stdout.write(`installed: ${installed.map(([p, v]) => `${p} ${v}`).join(", ")}\n`);
      }
      const expiry = await checkExpiration(node.spec.dir);
      const soonest = expiry.certificates.filter((c) => c.expires !== undefined).sort((a, b) => a.expires!.getTime() - b.expires!.getTime())[0];
      if (soonest) {
        const days = Math.floor((soonest.residualMs ?? 0) / 86_400_000);
        process.stdout.write(
          `certificates: the first to expire is ${soonest.name}, on ${soonest.expires!.toISOString().slice(0, 10)} (${days} days)${days < 30 ? ": renew it now" : ""}\n`,
        );
      }
    }
    process.stdout.write("\n== etcd\n");
    if (!members) process.stdout.write("no member answers\n");
    else
      process.stdout.write(
        table(
          ["MEMBER", "ID", "STATUS", "PEER URL", "HEALTHY"],
          members.map((m) => [
            m.name || "-",
            m.id,
            m.started ? "started" : "unstarted",
            m.peerUrls.join(","),
            yn(m.clientUrls.some((u) => health.get(u) === true)),
          ]),
        ),
      );
  });
}

/** `reset -f cluster.yaml`: every host, workers first. */
export function clusterResetCommand(o: ClusterCommandFlags): Promise<void> {
  return withCluster(o, async (nodes) => {
    const outputs = new Map<string, RunOutput>();
    const out = (host: string) =>
      outputs.get(host) ?? outputs.set(host, new RunOutput({ host, json: o.json ?? false, verbose: o.verbose ?? false })).get(host)!;
    try {
      await resetCluster(nodes, 10, (host, e) => out(host).sink(e));
      for (const n of nodes) process.stdout.write(`[${n.spec.nodeName}] reset done\n`);
    } finally {
      for (const x of outputs.values()) await x.close();
    }
  });
}

/** `logs --file cluster.yaml HOST COMPONENT`: HOST is a node name or an address of the file. */
export function clusterLogsCommand(o: ClusterCommandFlags, host: string, component: string, options: { follow: boolean; lines: number }): Promise<void> {
  return withCluster(o, async (nodes) => {
    const node = nodes.find((n) => n.spec.nodeName === host || n.conn.host.ssh.address === host);
    if (!node) throw new InputError(`no such host in ${o.file}; hosts: ${nodes.map((n) => n.spec.nodeName).join(", ")}`, { field: "HOST", value: host });
    await componentLogs(node.spec, node.conn.transport, component, { ...options, onLine: (line) => process.stdout.write(`${line}\n`) });
  });
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
    .option("--dry-run", "connect to nothing: print each host's script, under `# host: NAME`")
    .option("--force", "allow a downgrade within a patch release (never CAs or keys: those are kept)")
    .option("--allow-name-removal", "let a re-issued serving certificate lose a name or IP it has")
    .addHelpText(
      "after",
      "\nExamples:\n  dk-bootstrap init > cluster.yaml\n  dk-bootstrap apply -f cluster.yaml --until etcd\n  dk-bootstrap apply -f cluster.yaml --dry-run",
    )
    .action(async (o: ApplyFlags) => {
      const concurrency = concurrencyOf(o);
      plan({ ...(o.from ? { from: o.from } : {}), ...(o.until ? { until: o.until } : {}) });
      const cluster = await readCluster(o);
      const dir = resolve(o.dir);
      const versions = await versionsFor(cluster, dir, o.force ?? false);
      if (o.dryRun) {
        process.stdout.write(await dryRun(cluster, versions, o));
        return;
      }
      // No folder is made before the hosts answer: applyCluster makes it, and removes it again when it fails before writing.
      const conns = await connectAll(cluster, o);
      await withHostOutputs(conns, o, async (events) => {
        const outcomes = await applyCluster(conns, {
          dir,
          cluster,
          versions,
          concurrency,
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
