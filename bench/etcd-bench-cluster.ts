// The 3-member etcd the etcd benches (renewal, CA rotation, backup) measure against: network-namespace hosts, a mirror
// holding etcd's release, and `apply -f cluster.yaml --until etcd` into a cluster folder under the bench's own folder.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { type Mirror, etcdMirrorFiles, startMirror } from "../test-support/mirror.js";
import { dkAsync, tempDir } from "../test-support/peers.js";
import { type ClusterHost, type TestCluster, clusterFileFor, startTestCluster } from "../test-support/test-cluster.js";

/**
 * A bench's cluster: its paths are known at once, its hosts once {@link EtcdBenchCluster.start} has run (the file's
 * beforeAll; afterAll runs {@link EtcdBenchCluster.stop}).
 */
export interface EtcdBenchCluster {
  /** The bench's own folder (the hosts' files, the mirror, the CLI's cache). */
  work: string;
  /** The cluster folder (`--dir`). */
  dir: string;
  /** The cluster file (`-f`). */
  file: string;
  /** The CLI's environment: a download cache of the bench's own. */
  env: NodeJS.ProcessEnv;
  /** The three hosts, etcd members once started (this array, filled by start: safe to destructure at once). */
  readonly hosts: ClusterHost[];
  /** Brings up the hosts and the mirror, then etcd on all three with `apply --until etcd` (which must succeed). */
  start(): Promise<void>;
  /** Closes the mirror and removes the hosts. */
  stop(): Promise<void>;
}

/**
 * A cluster named `name` running etcd `etcd`, in a new folder named from `prefix`; registers the file's beforeAll
 * (start) and afterAll (stop) hooks.
 */
export function etcdBenchCluster(prefix: string, name: string, etcd: string): EtcdBenchCluster {
  const work = tempDir(prefix);
  let cluster: TestCluster | undefined;
  let mirror: Mirror | undefined;
  const bench: EtcdBenchCluster = {
    work,
    dir: join(work, "cluster"),
    file: join(work, "cluster.yaml"),
    env: { ...process.env, XDG_CACHE_HOME: join(work, "cache") },
    hosts: [],
    async start() {
      cluster = await startTestCluster(work, 3);
      bench.hosts.push(...cluster.hosts);
      mirror = await startMirror(cluster.hostIp, etcdMirrorFiles(join(work, "mirror"), etcd, "amd64"));
      writeFileSync(bench.file, clusterFileFor(cluster, cluster.hosts, { name, mirror: mirror.url, checksums: mirror.checksums(), etcd }));
      const r = await dkAsync(["apply", "-f", bench.file, "--dir", bench.dir, "--until", "etcd"], { cwd: work, env: bench.env });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    },
    async stop() {
      await mirror?.close();
      await cluster?.stop();
    },
  };
  beforeAll(() => bench.start(), 300_000);
  afterAll(() => bench.stop());
  return bench;
}
