// Several test hosts on one LAN: each a network namespace with a real OpenSSH sshd and a user of its own, all
// joined by a bridge to each other and to this machine. Needs root, iproute2, util-linux and openssh-server.
//
// The bridge lives in a namespace of its own (the "switch"), not in this machine's: with br_netfilter loaded
// (bridge-nf-call-iptables=1, as here and wherever Kubernetes or Docker ran), bridged frames go through the
// iptables FORWARD chain of the bridge's namespace, and a FORWARD policy of DROP (Docker sets one) would cut the
// hosts off from each other. The per-bridge nf_call_iptables option cannot turn that off (the kernel ORs it with
// the sysctl), and changing the sysctl would change this machine for everything else. The switch's namespace has
// its own, empty, tables. This machine joins the switch by one veth pair, whose end here holds the subnet's first
// address: the address the hosts reach this machine at (where a test mirror listens).
//
// Each host also has its own PID and UTS namespaces: `ps` or `pkill etcd` on one host sees only that host's
// processes (as on real machines; the root namespace still sees them all, by uid), `hostname` gives the host's
// name, and killing the host's init ends every process on it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
// The table itself, not the package: a child process bundles this file (test-cluster.test.ts), and the package pulls in ssh2.
import { RELEASES } from "../packages/orchestrator/src/releases.js";
import { peer } from "./peers.js";

export interface ClusterHost {
  /** Its namespace, user and host name: `dkc<owner PID, base 36>-<cluster>-<index>`. */
  name: string;
  /** 1, 2, ... in the order the hosts were made. */
  index: number;
  /** The host's address on the cluster's subnet, as this machine and the other hosts see it. */
  ip: string;
  /** This machine's address as the host sees it (the switch's first address; where a test mirror listens). */
  hostIp: string;
  /** The host's own user, who logs in with `keyFile`; find the host's processes with `pgrep -u <uid>`. */
  user: string;
  uid: number;
  /** The cluster's private key file, shared by all hosts. */
  keyFile: string;
  /** The network namespace's name: `ip netns exec <netns> ...` runs a command on the host's network (not in its PID namespace). */
  netns: string;
  /** The host's known_hosts line (`<ip> ssh-ed25519 <key>`), as `ssh-keyscan` would give it. */
  hostKeyLine: string;
  /** A folder of the host's own, owned by its user: dk-bootstrap's remote root for it (the hosts share this machine's files). */
  remoteRoot: string;
  /** What its sshd printed (-e). */
  readonly sshdLog: string;
}

export interface TestCluster {
  /** `dkc<owner PID, base 36>-<n>`: the switch's namespace and this machine's veth end; hosts' names start with it. */
  name: string;
  /** The hosts, in order; addHost() appends. */
  hosts: ClusterHost[];
  /** This machine's address as the hosts see it. */
  hostIp: string;
  /** The cluster's subnet, `10.215.N.0/24`, unique on this machine while the cluster lives. */
  subnet: string;
  /** A known_hosts file with every host's line, kept up to date by addHost(). */
  knownHosts: string;
  /** One more host on the same switch, its sshd accepting connections. */
  addHost(): Promise<ClusterHost>;
  /** Takes the host's link down (its switch port): nothing reaches it or leaves it until restore(). */
  cut(host: ClusterHost): void;
  /** Brings the host's link back up. */
  restore(host: ClusterHost): void;
  /** Ends every process on the hosts and removes the namespaces, links, users and the hosts' folders. */
  stop(): Promise<void>;
}

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] }).toString();
const quietly = (f: () => unknown) => {
  try {
    f();
  } catch {
    // already gone, or never made
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The lock test-host.ts takes: useradd/userdel of either kind of host would otherwise meet on the accounts database.
const LOCK = "/run/dk-test-hosts.lock";
const locked = (cmd: string, args: string[], input?: string) => sh("flock", ["-w", "120", LOCK, cmd, ...args], input);

/**
 * One file per live cluster, holding its owner's start time: a PID alone may have been reused by now, so a
 * cluster is stale when its owner is gone or is another process of the same PID.
 */
const RECORDS = "/run/dk-test-clusters";
/** A cluster's name is `dkc<PID base 36>-<n>` (also its switch namespace and this machine's veth end), a host's that and `-<i>`. */
const OWNED = /^(dkc([0-9a-z]+)-\d+)(?:-\d+)?$/;

function startTime(pid: number): string | undefined {
  try {
    // Field 22; the command name (field 2) may hold spaces and parentheses, so count from its closing one.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function stale(name: string): boolean {
  const m = OWNED.exec(name);
  if (!m) return false;
  const started = startTime(parseInt(m[2]!, 36));
  if (started === undefined) return true;
  const record = join(RECORDS, m[1]!);
  return existsSync(record) && readFileSync(record, "utf8").trim() !== started;
}

/** Kills, by PID, every process in the network namespace or of the user, and waits (bounded) until none is left. */
async function killAll(netns: string, uid: number | undefined): Promise<void> {
  const left = () => {
    const pids = new Set<string>();
    quietly(() =>
      sh("ip", ["netns", "pids", netns])
        .split("\n")
        .forEach((p) => p && pids.add(p)),
    );
    if (uid !== undefined)
      quietly(() =>
        sh("pgrep", ["-u", String(uid)])
          .split("\n")
          .forEach((p) => p && pids.add(p)),
      );
    return [...pids];
  };
  for (let i = 0; i < 100; i++) {
    const pids = left();
    if (pids.length === 0) return;
    for (const pid of pids) quietly(() => process.kill(Number(pid), "SIGKILL"));
    await sleep(100);
  }
  throw new Error(`processes of test host ${netns} survived SIGKILL: ${left().join(" ")}`);
}

function uidOf(user: string): number | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  return line === undefined ? undefined : Number(line.split(":")[2]);
}

async function removeHost(name: string, sw: string, index: number): Promise<void> {
  quietly(() => sh("ip", ["-n", sw, "link", "del", `h${index}`]));
  await killAll(name, uidOf(name));
  // Another run's sweep may be removing the same stale user: what counts is that it is gone.
  quietly(() => locked("userdel", ["-r", "-f", name]));
  if (uidOf(name) !== undefined) throw new Error(`test host user ${name} could not be removed`);
  quietly(() => sh("ip", ["netns", "del", name]));
}

/** Removes what clusters of killed runs left behind: their processes, namespaces, links, users and records. */
async function removeStale(): Promise<void> {
  const hosts = new Set<string>();
  const clusters = new Set<string>();
  const found = (name: string) => {
    if (!stale(name)) return;
    const cluster = OWNED.exec(name)![1]!;
    clusters.add(cluster);
    if (name !== cluster) hosts.add(name);
  };
  for (const line of sh("ip", ["netns", "list"]).split("\n")) found(line.split(" ")[0]!);
  for (const m of sh("ip", ["-o", "link", "show"]).matchAll(/^\d+: (dkc[0-9a-z-]+)@/gm)) found(m[1]!);
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) found(line.split(":")[0]!);
  if (existsSync(RECORDS)) for (const f of readdirSync(RECORDS)) found(f);
  for (const host of hosts) {
    const cluster = OWNED.exec(host)![1]!;
    await removeHost(host, cluster, Number(host.slice(cluster.length + 1)));
  }
  for (const cluster of clusters) {
    await killAll(cluster, undefined);
    quietly(() => sh("ip", ["link", "del", cluster]));
    quietly(() => sh("ip", ["netns", "del", cluster]));
    rmSync(join(RECORDS, cluster), { force: true });
  }
}

// Under the lock: the first free cluster number of this process (a record claims it), the first /24 of
// 10.215.0.0/16 from `start` on that no address or route here touches, the switch and this machine's veth end on it.
const SETUP = `set -e
prefix=$1 start=$2 started=$3 records=$4
mkdir -p "$records"
n=1
while [ -e "$records/$prefix-$n" ] || [ -e "/run/netns/$prefix-$n" ] || ip link show "$prefix-$n" >/dev/null 2>&1; do n=$((n + 1)); done
name=$prefix-$n
used=" $(ip -o -4 addr show | awk '{print $4}' | tr '\\n' ' ') $(ip -4 route show table all | awk '{print $1 == "local" || $1 == "broadcast" ? $2 : $1}' | tr '\\n' ' ')"
i=0
while [ $i -lt 256 ]; do
  net=10.215.$(( (start + i) % 256 ))
  case "$used" in *" $net."*) i=$((i + 1)); continue ;; esac
  trap 'ip link del "$name" 2>/dev/null; ip netns del "$name" 2>/dev/null; rm -f "$records/$name"' EXIT
  echo "$started" > "$records/$name"
  ip netns add "$name"
  ip -n "$name" link add br0 type bridge
  ip -n "$name" link set br0 up
  ip link add "$name" type veth peer name uplink netns "$name"
  ip -n "$name" link set dev uplink master br0 up
  ip addr add "$net.1/24" dev "$name"
  ip link set "$name" up
  trap - EXIT
  echo "$name $net"
  exit 0
done
echo "no free /24 left in 10.215.0.0/16" >&2
exit 1`;

// Host init: sets the host's name, starts sshd and reaps whatever is orphaned on the host (it is its PID 1).
const INIT = `hostname "$0"; "$@" & wait`;
// A host where root logs in (one that runs a kubelet) models a fresh node: root's ~/.bashrc of the machine the tests run
// on is not one (here it runs pyenv, whose rehash lock, left behind by a session killed with a host, makes every
// later SSH command wait 60 s). The host's mount namespace is its own, so the blank shown there changes nothing else.
const ROOT_INIT = `[ ! -f /root/.bashrc ] || mount --bind /dev/null /root/.bashrc; ${INIT}`;

/** What kind of hosts {@link startTestCluster} makes. */
export interface TestClusterOptions {
  /**
   * Hosts that run a kubelet and containerd: root logs in too (with the cluster's key; the components need root),
   * the remote root is root's, and sshd joins only the host's network namespace (`nsenter --net`), not the mount
   * namespace `ip netns exec` makes, whose fresh /sys has an empty /sys/fs/cgroup. The host keeps a mount namespace
   * of its own (unshare): what its containerd and kubelet mount ends with the host.
   */
  nodes?: boolean;
}

/**
 * Starts `count` hosts on a switch of their own, each sshd accepting connections. `work` (made traversable by
 * everyone) holds the cluster's key, known_hosts and the hosts' folders. Everything is named for this process,
 * so that another run on the same machine never meets it; what killed runs left is removed first.
 */
export async function startTestCluster(work: string, count: number, options: TestClusterOptions = {}): Promise<TestCluster> {
  if (process.getuid?.() !== 0) throw new Error("the test cluster needs root (network namespaces, test users)");
  const sshd = peer("sshd");
  for (const tool of ["ip", "flock", "unshare", "setpriv", "pgrep", "ssh-keygen", ...(options.nodes ? ["nsenter"] : [])]) peer(tool);
  if (options.nodes) enoughDiskForKubelets(work, count);
  await removeStale();
  const [name, net] = locked("sh", ["-c", SETUP, "sh", `dkc${process.pid.toString(36)}`, String(process.pid % 256), startTime(process.pid)!, RECORDS])
    .trim()
    .split(" ") as [string, string];
  const hostIp = `${net}.1`;
  const dir = join(work, name);
  chmodSync(work, statSync(work).mode | 0o011);
  mkdirSync(dir, { mode: 0o755 });
  const keyFile = join(dir, "key");
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", keyFile]);
  const knownHosts = join(dir, "known_hosts");
  const hosts: ClusterHost[] = [];
  const running = new Map<ClusterHost, ChildProcess>();

  const makeHost = (): ClusterHost => {
    const index = hosts.length + 1;
    if (index > 253) throw new Error(`test cluster ${name}: no address left on ${net}.0/24`);
    const host = `${name}-${index}`;
    const ip = `${net}.${index + 1}`;
    sh("ip", ["netns", "add", host]);
    sh("ip", ["-n", name, "link", "add", `h${index}`, "type", "veth", "peer", "name", "eth0", "netns", host]);
    sh("ip", ["-n", name, "link", "set", `h${index}`, "master", "br0", "up"]);
    sh("ip", ["-n", host, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    sh("ip", ["-n", host, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", host, "link", "set", "lo", "up"]);
    // As on a LAN, the way out is the switch's first address (this machine): a node's Service IPs need a route to be
    // dialled from the node itself (kube-proxy's DNAT comes after the route is chosen).
    sh("ip", ["-n", host, "route", "add", "default", "via", `${net}.1`]);
    locked("useradd", ["-m", "-s", "/bin/bash", host]);
    // A new account is locked ("!" password), which sshd refuses without PAM: "*" means no password, but not locked.
    locked("usermod", ["-p", "*", host]);
    const uid = uidOf(host)!;
    const hostDir = join(dir, String(index));
    const remoteRoot = join(hostDir, "root");
    mkdirSync(remoteRoot, { recursive: true, mode: 0o755 });
    if (!options.nodes) chownSync(remoteRoot, uid, uid);
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", host, "-f", join(hostDir, "host_key")]);
    writeFileSync(join(hostDir, "authorized_keys"), readFileSync(`${keyFile}.pub`));
    mkdirSync("/run/sshd", { recursive: true });
    const config = join(hostDir, "sshd_config");
    writeFileSync(
      config,
      [
        `ListenAddress ${ip}`,
        "Port 22",
        `HostKey ${join(hostDir, "host_key")}`,
        "PidFile none",
        `AuthorizedKeysFile ${join(hostDir, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        `AllowUsers ${host}${options.nodes ? " root" : ""}`,
        ...(options.nodes ? ["PermitRootLogin prohibit-password"] : []),
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    const enter = options.nodes ? ["nsenter", `--net=/run/netns/${host}`] : ["ip", "netns", "exec", host];
    // setpriv: if this process dies, unshare does, and --kill-child then ends the host's init and with it the host.
    const proc = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "KILL",
        "--",
        ...enter,
        "unshare",
        "--pid",
        "--uts",
        "--mount-proc",
        "--kill-child",
        "--",
        "bash",
        "-c",
        options.nodes ? ROOT_INIT : INIT,
        host,
        sshd,
        "-D",
        "-e",
        "-f",
        config,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let sshdLog = "";
    proc.stderr!.on("data", (d) => (sshdLog += d));
    const made: ClusterHost = {
      name: host,
      index,
      ip,
      hostIp,
      user: host,
      uid,
      keyFile,
      netns: host,
      hostKeyLine: `${ip} ${readFileSync(join(hostDir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ")}`,
      remoteRoot,
      get sshdLog() {
        return sshdLog;
      },
    };
    running.set(made, proc);
    hosts.push(made);
    writeFileSync(knownHosts, hosts.map((h) => `${h.hostKeyLine}\n`).join(""));
    return made;
  };

  const waitForSsh = async (host: ClusterHost) => {
    for (let i = 0; i < 600; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(22, host.ip);
        s.once("connect", () => resolve(true));
        s.once("error", () => resolve(false));
        s.setTimeout(2000, () => resolve(false));
      });
      if (up) return;
      if (running.get(host)?.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`sshd of test host ${host.name} did not start:\n${host.sshdLog}`);
  };

  const stopHost = async (host: ClusterHost) => {
    const proc = running.get(host)!;
    const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once("exit", r)));
    // The host's init is unshare's child; SIGKILL from here reaches a PID namespace's init and ends the namespace.
    // unshare reaps it and exits: killing unshare too soon would leave the init a zombie of this machine's init.
    quietly(() => {
      const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim();
      for (const pid of children.split(" ").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
    });
    await Promise.race([exited, sleep(10_000)]);
    quietly(() => proc.kill("SIGKILL"));
    await removeHost(host.name, name, host.index);
    rmSync(join(dir, String(host.index)), { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < count; i++) makeHost();
    await Promise.all(hosts.map(waitForSsh));
  } catch (e) {
    for (const host of hosts) await stopHost(host);
    quietly(() => sh("ip", ["link", "del", name]));
    quietly(() => sh("ip", ["netns", "del", name]));
    rmSync(join(RECORDS, name), { force: true });
    throw e;
  }

  return {
    name,
    hosts,
    hostIp,
    subnet: `${net}.0/24`,
    knownHosts,
    async addHost() {
      const host = makeHost();
      await waitForSsh(host);
      return host;
    },
    cut(host) {
      sh("ip", ["-n", name, "link", "set", `h${host.index}`, "down"]);
    },
    restore(host) {
      sh("ip", ["-n", name, "link", "set", `h${host.index}`, "up"]);
    },
    async stop() {
      for (const host of hosts) await stopHost(host);
      await killAll(name, undefined);
      quietly(() => sh("ip", ["link", "del", name]));
      quietly(() => sh("ip", ["netns", "del", name]));
      rmSync(dir, { recursive: true, force: true });
      rmSync(join(RECORDS, name), { force: true });
    },
  };
}

/**
 * The hosts' kubelets share this machine's filesystem, and a kubelet evicts every Pod and admits none when the
 * filesystem of its images has less than 15% free (its default hard eviction threshold, imagefs.available): a test
 * would then wait for Pods that never start. Said in one line before any host is made.
 */
const KUBELET_IMAGEFS_MIN = 0.15;
/** What one node writes under its remote root (its download cache, installed binaries, containerd's images, etcd): measured 1.5 GiB. */
const NODE_BYTES = 1.6 * 2 ** 30;
function enoughDiskForKubelets(work: string, nodes: number): void {
  const fs = statfsSync(work);
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  const free = fs.bavail * fs.bsize;
  const needed = KUBELET_IMAGEFS_MIN * fs.blocks * fs.bsize + nodes * NODE_BYTES;
  if (free < needed)
    throw new Error(
      `${work}: ${gib(free)} GiB free of ${gib(fs.blocks * fs.bsize)} GiB: kubelets evict Pods below 15% free (imagefs.available), ` +
        `and ${nodes} node(s) write about ${gib(nodes * NODE_BYTES)} GiB: free ${gib(needed - free)} GiB more`,
    );
}

/**
 * The cluster file `apply -f` reads for these hosts, every one a controller (those in `reset` marked for removal),
 * fetching from `mirror` (checked against the `checksums` table), with ECDSA keys: what the multi-host tests and benches write.
 */
export function clusterFileFor(
  cluster: TestCluster,
  hosts: readonly ClusterHost[],
  o: { name: string; mirror: string; checksums: string; etcd: string; reset?: readonly ClusterHost[] },
): string {
  return [
    "apiVersion: dk-bootstrap/v1alpha1",
    "kind: Cluster",
    `metadata: { name: ${o.name} }`,
    "spec:",
    "  hosts:",
    ...hosts.map(
      (h) =>
        `    - { ssh: { address: ${h.ip}, user: ${h.user}, keyPath: ${h.keyFile} }, role: controller, remoteRoot: ${h.remoteRoot}${o.reset?.includes(h) ? ", reset: true" : ""} }`,
    ),
    `  knownHosts: ${cluster.knownHosts}`,
    `  mirror: ${o.mirror}`,
    // The test mirror is plain http on a private link; the checksums come from the test, which built the files.
    "  allowHttpMirror: true",
    `  checksums: ${o.checksums}`,
    // A supported minor whose etcd is 3.6 (the table's), so no "not a tested combination" warning; etcd as asked.
    `  versions: { kubernetes: "${RELEASES[1]!.knownPatch}", etcd: ${o.etcd} }`,
    "  pki: { keyAlgorithm: ecdsa }",
    "",
  ].join("\n");
}

/** Whom {@link etcdctlFlags} speaks as and to. */
export interface EtcdctlTarget {
  /** The cluster folder `apply` wrote (`--dir`). */
  dir: string;
  /** The host whose node folder's health-check client certificate is used (nodes/NAME/pki/etcd). */
  via: ClusterHost;
  /** The members asked (default: `via`'s). */
  endpoints?: readonly ClusterHost[];
  /** etcdctl's --command-timeout (default 5s). */
  timeout?: string;
}

/** etcdctl's flags from this machine as the health-check client of a node of the cluster folder: what the multi-host tests and benches use. */
export function etcdctlFlags(o: EtcdctlTarget): string[] {
  const pki = join(o.dir, "nodes", o.via.name, "pki", "etcd");
  return [
    `--endpoints=${(o.endpoints ?? [o.via]).map((h) => `https://${h.ip}:2379`).join(",")}`,
    `--cacert=${join(pki, "ca.crt")}`,
    `--cert=${join(pki, "healthcheck-client.crt")}`,
    `--key=${join(pki, "healthcheck-client.key")}`,
    `--command-timeout=${o.timeout ?? "5s"}`,
  ];
}
