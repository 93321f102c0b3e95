// A test host of our own: a network namespace joined to this machine by a veth pair, running a real
// OpenSSH sshd for a test user who logs in with a key. Needs root, iproute2 and openssh-server.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { type Server, type Socket, connect as tcpConnect, createServer } from "node:net";
import { join } from "node:path";
import { peer } from "./peers.js";

export interface TestHost {
  /** The node's address, as seen from this machine. */
  ip: string;
  /** This machine's address, as seen from the node (where a test mirror listens). */
  hostIp: string;
  user: string;
  uid: number;
  /** The user's private key file. */
  keyFile: string;
  /** `ip netns exec` prefix for running a command on the node. */
  netns: string;
  /** The node's host key line, as `ssh-keyscan` would give it. */
  hostKeyLine: string;
  sshdLog: string;
  /**
   * Lets the test user use sudo with this password (removed by stop()). `ticket` is a sudoers setting that
   * caches a ticket across SSH channels (`timestamp_type=global` or `!tty_tickets`); by default each channel
   * has no terminal of its own and sudo asks every time.
   */
  enableSudo(password: string, ticket?: "timestamp_type=global" | "!tty_tickets"): void;
  stop(): void;
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

/**
 * Every run on this machine shares the accounts database (useradd, userdel and chpasswd lock it and give
 * up when another holds it) and the addresses its hosts take: such changes are made under one lock.
 */
const LOCK = "/run/dk-test-hosts.lock";
const locked = (cmd: string, args: string[], input?: string) => sh("flock", ["-w", "120", LOCK, cmd, ...args], input);

/**
 * A host's name, for its namespace and its user: `dkt`, the owning process's PID in base 36, `-`, a count.
 * The veth ends add `h` (this machine's side) and `n` (the node's): at most 12 characters of Linux's 15.
 */
const OWNED = /^dkt([0-9a-z]+)-\d+[hn]?$/;
let count = 0;

function ownerGone(name: string): boolean {
  const m = OWNED.exec(name);
  if (!m) return false;
  try {
    process.kill(parseInt(m[1]!, 36), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function removeUser(user: string): void {
  quietly(() => sh("pkill", ["-9", "-u", user]));
  quietly(() => locked("userdel", ["-r", "-f", user]));
  rmSync(`/etc/sudoers.d/dk-test-${user}`, { force: true });
  rmSync(`/run/sudo/ts/${user}`, { force: true });
}

/** Removes what runs of this suite that were killed left behind: namespaces, veth ends, users, sudoers files. */
function removeStale(): void {
  for (const line of sh("ip", ["netns", "list"]).split("\n")) {
    const ns = line.split(" ")[0]!;
    if (ownerGone(ns)) quietly(() => sh("ip", ["netns", "del", ns]));
  }
  for (const m of sh("ip", ["-o", "link", "show"]).matchAll(/^\d+: (dkt[0-9a-z]+-\d+h)@/gm))
    if (ownerGone(m[1]!)) quietly(() => sh("ip", ["link", "del", m[1]!]));
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const user = line.split(":")[0]!;
    if (ownerGone(user)) removeUser(user);
  }
}

// Under the lock: the first /30 of 10.214.0.0/16 from `start` on that no interface here has, and the pair on it.
const SETUP = `set -e
ns=$1 hv=$2 nv=$3 start=$4
used=" $(ip -o -4 addr show | awk '{print $4}' | tr '\\n' ' ')"
i=0
while [ $i -lt 16384 ]; do
  s=$(( (start + i) % 16384 ))
  host=10.214.$(( s / 64 )).$(( s % 64 * 4 + 1 ))
  node=10.214.$(( s / 64 )).$(( s % 64 * 4 + 2 ))
  case "$used" in *" $host/"*) i=$((i + 1)); continue ;; esac
  ip netns add "$ns"
  ip link add "$hv" type veth peer name "$nv" netns "$ns"
  ip addr add "$host/30" dev "$hv"
  ip link set "$hv" up
  ip -n "$ns" addr add "$node/30" dev "$nv"
  ip -n "$ns" link set "$nv" up
  ip -n "$ns" link set lo up
  echo "$host $node"
  exit 0
done
echo "no free /30 left in 10.214.0.0/16" >&2
exit 1`;

/**
 * Starts a test host of its own: namespace, veth pair, addresses and user named for this process, so that
 * another run of the suite on the same machine (or another host of this one) never meets them.
 */
export function startTestHost(work: string): TestHost {
  if (process.getuid?.() !== 0) throw new Error("the SSH test host needs root (network namespaces, a test user)");
  const sshd = peer("sshd");
  peer("ip");
  peer("flock");
  removeStale();
  const name = `dkt${process.pid.toString(36)}-${++count}`;
  const [ns, hv, nv, user] = [name, `${name}h`, `${name}n`, name];
  // The same PID may have been a killed run's: what it left under these names goes first.
  quietly(() => sh("ip", ["netns", "del", ns]));
  quietly(() => sh("ip", ["link", "del", hv]));
  if (readFileSync("/etc/passwd", "utf8").includes(`\n${user}:`)) removeUser(user);
  const [hostIp, ip] = locked("sh", ["-c", SETUP, "sh", ns, hv, nv, String((process.pid * 61 + count) % 16384)])
    .trim()
    .split(" ") as [string, string];
  locked("useradd", ["-m", "-s", "/bin/bash", user]);
  // A new account is locked ("!" password), which sshd refuses without PAM: "*" means no password, but not locked.
  locked("usermod", ["-p", "*", user]);
  const uid = Number(sh("id", ["-u", user]).trim());
  const dir = join(work, "sshd");
  mkdirSync(dir, { recursive: true });
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "user_key")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "user_key.pub")));
  mkdirSync("/run/sshd", { recursive: true });
  const sudoers = `/etc/sudoers.d/dk-test-${user}`;
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `ListenAddress ${ip}`,
      "Port 22",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      `AllowUsers ${user}`,
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  const proc: ChildProcess = spawn("ip", ["netns", "exec", ns, sshd, "-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  let sshdLog = "";
  proc.stderr!.on("data", (d) => (sshdLog += d));
  chownSync(join(dir, "user_key"), process.getuid!(), 0);
  const hostKeyLine = `${ip} ${readFileSync(join(dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ")}`;
  return {
    ip,
    hostIp,
    user,
    uid,
    keyFile: join(dir, "user_key"),
    netns: ns,
    hostKeyLine,
    get sshdLog() {
      return sshdLog;
    },
    enableSudo(password, ticket) {
      locked("chpasswd", [], `${user}:${password}\n`);
      writeFileSync(sudoers, `Defaults:${user} lecture=never${ticket ? `, ${ticket}` : ""}\n${user} ALL=(ALL) ALL\n`, { mode: 0o440 });
      sh("visudo", ["-c", "-q", "-f", sudoers]);
    },
    stop() {
      proc.kill();
      removeUser(user);
      quietly(() => sh("ip", ["netns", "del", ns]));
    },
  };
}

/**
 * A test host with a node root of its user's own at `work`/node, what `dk-bootstrap ssh --remote-root` is given in the
 * single-host tests: `work` opened (0755) so that the host's user reaches it, the folder made and handed to that user.
 */
export function startNodeTestHost(work: string): TestHost {
  chmodSync(work, 0o755);
  const host = startTestHost(work);
  mkdirSync(join(work, "node"));
  chownSync(join(work, "node"), host.uid, host.uid);
  return host;
}

/** Waits until sshd accepts connections on the node. */
export async function waitForSsh(host: TestHost): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      execFileSync("ip", ["netns", "exec", host.netns, "sh", "-c", "ss -ltnH | grep -q ':22 '"], { stdio: "ignore" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`sshd did not start:\n${host.sshdLog}`);
}

/**
 * A TCP relay from this machine's loopback, 127.0.0.1 and ::1 on one port, to the node's sshd: the node
 * reached as `localhost:PORT` or `[::1]:PORT`, names and a port that known_hosts writes in several ways.
 */
export async function loopbackRelay(host: TestHost): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const relay = () =>
    createServer((client) => {
      const upstream = tcpConnect(22, host.ip);
      for (const s of [client, upstream]) {
        open.add(s);
        s.on("close", () => open.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
  const listen = (server: Server, address: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, address, () => resolve((server.address() as { port: number }).port));
    });
  for (let attempt = 0; ; attempt++) {
    const [v6, v4] = [relay(), relay()];
    const port = await listen(v6, "::1", 0);
    try {
      await listen(v4, "127.0.0.1", port);
      const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));
      return {
        port,
        close: async () => {
          for (const s of open) s.destroy();
          await Promise.all([close(v6), close(v4)]);
        },
      };
    } catch (e) {
      // The port is free on ::1 but taken on 127.0.0.1: another one.
      v6.close();
      if (attempt === 20) throw e;
    }
  }
}

/**
 * Reads every process's command line, every few milliseconds, until stop(): what a `ps` on this machine
 * (and on the node, which shares its process table) could see. Returns how many scans ran, and the
 * command lines that held `secret`.
 */
export function watchCommandLines(secret: string): { stop(): { scans: number; hits: string[] } } {
  let scans = 0;
  const hits: string[] = [];
  const scan = () => {
    scans++;
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        if (cmdline.includes(secret)) hits.push(cmdline);
      } catch {
        // gone meanwhile
      }
    }
  };
  const timer = setInterval(scan, 10);
  return {
    stop() {
      clearInterval(timer);
      scan();
      return { scans, hits };
    },
  };
}
