// The hosts of a cluster file, read and connected: the file (with the command line's flags over it), the versions
// (the file's, the last apply's, or resolved), every host's connection and root, the outputs of a rollout, and the
// hosts' specs as their last apply made them. Shared by apply, status, logs, reset -f, etcd and rotate-ca -f, which
// would otherwise reach into each other's command files for these.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { DkError, InputError } from "@dk-bootstrap/pki";
import {
  type ClusterFile,
  type ClusterHost,
  type ClusterNode,
  type HostConnection,
  type RunEvent,
  PhaseError,
  SshError,
  type Transport,
  type Versions,
  asRootIfNeeded,
  checkUpgrade,
  clusterNodes,
  mirrored,
  parseClusterFile,
  plan,
  readApplyRecord,
  resolveVersions,
} from "@dk-bootstrap/orchestrator";
import { connect } from "./connection.js";
import { readStdin } from "./io.js";
import { RunOutput } from "./render/output.js";

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
  maxUnavailableWorkers?: string;
  force?: boolean;
  allowNameRemoval?: boolean;
  forgetUnreachable?: boolean;
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
export async function versionsFor(cluster: ClusterFile, dir: string, force = false, online = true): Promise<Versions> {
  const v = cluster.versions;
  const record = await readApplyRecord(dir);
  if (record.versions && Object.values(v).every((x) => x === undefined)) return record.versions;
  const wanted = await resolveVersions(
    { kubernetes: v.kubernetes, etcd: v.etcd, containerd: v.containerd, runc: v.runc, cni: v.cniPlugins, helm: v.helm },
    { online, mapUrl: (u) => mirrored(u, cluster.mirror), warn: (w) => process.stderr.write(`warning: ${w}\n`) },
  );
  if (record.versions) checkUpgrade(record.versions, wanted, force);
  return wanted;
}

const expandHome = (p: string) => (p.startsWith("~/") ? resolve(homedir(), p.slice(2)) : resolve(p));

/**
 * Every host's connection, opened and checked (host key, sudo) before any host is changed; one failure closes them all.
 * With `unreachable` (apply's `--forget-unreachable`), a host marked `reset: true` that cannot be reached (no answer,
 * no route: not a refused key) goes there instead of failing the run: a dead controller, removed through a healthy member.
 */
export async function connectAll(cluster: ClusterFile, o: ApplyFlags, unreachable?: ClusterHost[]): Promise<HostConnection[]> {
  const attempts = await connectEach(cluster, o);
  // A host to be reset that does not answer at all (not one that refused a key or a login): perhaps gone for good.
  const gone = (a: PromiseSettledResult<unknown>, i: number) =>
    cluster.hosts[i]!.reset && a.status === "rejected" && a.reason instanceof SshError && ["client-socket", "client-timeout"].includes(a.reason.level);
  const dead = (a: PromiseSettledResult<unknown>, i: number) => unreachable !== undefined && gone(a, i);
  const failed = attempts.flatMap((a, i) =>
    a.status === "rejected" && !dead(a, i) ? [`${cluster.hosts[i]!.ssh.address}: ${(a.reason as Error).message.split("\n")[0]}`] : [],
  );
  const deadReset = cluster.hosts.filter((h, i) => gone(attempts[i]!, i)).map((h) => h.ssh.address);
  if (failed.length > 0) {
    await Promise.all(attempts.map((a) => (a.status === "fulfilled" ? a.value.transport.close() : undefined)));
    throw new DkError(`could not connect to every host, nothing was changed: ${failed.join("; ")}`, "SSH", {
      ...(deadReset.length > 0
        ? {
            hint: `a host marked reset: true that is gone for good (${deadReset.join(", ")}): \`apply --forget-unreachable\` removes its member through a healthy one`,
          }
        : {}),
    });
  }
  attempts.forEach((a, i) => dead(a, i) && unreachable!.push(cluster.hosts[i]!));
  return attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
}

/** Each host's connection attempt, in the file's order: what looks (status, logs) goes on with the hosts that answer. */
async function connectEach(cluster: ClusterFile, o: ApplyFlags): Promise<PromiseSettledResult<HostConnection>[]> {
  const password = o.sudoPasswordStdin ? (await readStdin()).replace(/\r?\n$/, "") : undefined;
  return Promise.allSettled(
    cluster.hosts.map(async (host) => {
      const target = `${host.ssh.user ? `${host.ssh.user}@` : ""}${host.ssh.address.includes(":") ? `[${host.ssh.address}]` : host.ssh.address}`;
      const identity = o.identity ?? (host.ssh.keyPath ? expandHome(host.ssh.keyPath) : undefined);
      const t = await connect(target, {
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
}

/** `--concurrency`: how many hosts a phase works on at once. */
export function concurrencyOf(o: ApplyFlags): number {
  const concurrency = Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new InputError("must be a whole number of hosts, 1 or more", { field: "--concurrency", value: o.concurrency });
  return concurrency;
}

/** `--max-unavailable-workers`: how many workers of a running cluster change at once (1 when not given). */
export function maxUnavailableWorkersOf(o: ApplyFlags): number {
  const n = Number(o.maxUnavailableWorkers ?? "1");
  if (!Number.isInteger(n) || n < 1)
    throw new InputError("must be a whole number of workers, 1 or more", { field: "--max-unavailable-workers", value: o.maxUnavailableWorkers });
  return n;
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
        process.stderr.write(
          `[${r.nodeName}] ${r.error ? `failed: ${r.error.message.split("\n")[0]}` : r.notTouched ? `not touched (the ${r.notTouched} roll stopped before it)` : `${r.done.length} step(s) run`}\n`,
        );
    throw e;
  } finally {
    for (const x of outputs.values()) await x.close();
    await Promise.all(conns.map((c) => c.transport.close()));
  }
}

/** A host of the file that did not answer, and why (the first line of the connection's error). */
export interface UnreachableHost {
  node: ClusterNode;
  reason: string;
}

/**
 * The file's hosts, connected, with the specs their last apply used; `use` runs with them, then every connection
 * closes. Every host must answer, unless `partial` (what only looks: status, logs): then `use` gets the hosts that
 * answered and, apart, those that did not (their transports are never used).
 */
export async function withCluster<T>(
  o: ClusterCommandFlags,
  use: (nodes: ClusterNode[], unreachable: UnreachableHost[]) => Promise<T>,
  options: { partial?: boolean } = {},
): Promise<T> {
  const flags: ApplyFlags = { ...o, concurrency: "10" };
  const cluster = await readCluster(flags);
  const dir = resolve(o.dir);
  const versions = await versionsFor(cluster, dir);
  if (!options.partial) {
    const conns = await connectAll(cluster, flags);
    try {
      return await use(await clusterNodes(conns, { dir, cluster, versions, concurrency: 10 }), []);
    } finally {
      await Promise.all(conns.map((c) => c.transport.close()));
    }
  }
  const attempts = await connectEach(cluster, flags);
  const conns = attempts.map((a, i) =>
    a.status === "fulfilled" ? a.value : { host: cluster.hosts[i]!, transport: notConnected(cluster.hosts[i]!.ssh.address) },
  );
  const down = new Set(conns.filter((_, i) => attempts[i]!.status === "rejected"));
  try {
    const nodes = await clusterNodes(conns, { dir, cluster, versions, concurrency: 10 }, down);
    const reason = (i: number) => ((attempts[i] as PromiseRejectedResult).reason as Error).message.split("\n")[0]!;
    return await use(
      nodes.filter((n) => !down.has(n.conn)),
      nodes.flatMap((n, i) => (down.has(n.conn) ? [{ node: n, reason: reason(i) }] : [])),
    );
  } finally {
    await Promise.all(conns.filter((c) => !down.has(c)).map((c) => c.transport.close()));
  }
}

/** The transport of a host that did not answer: never used, and says so if it ever is. */
function notConnected(host: string): Transport {
  const fail = () => Promise.reject(new DkError(`${host} did not answer`, "SSH"));
  return { host, run: fail, close: () => Promise.resolve() };
}
