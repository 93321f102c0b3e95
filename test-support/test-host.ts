// A test host of our own: a network namespace joined to this machine by a veth pair, running a real
// OpenSSH sshd for a test user who logs in with a key. Needs root, iproute2 and openssh-server.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

/** Starts the test host; `index` (1-200) keeps several apart. */
export function startTestHost(work: string, index = 1): TestHost {
  if (process.getuid?.() !== 0) throw new Error("the SSH test host needs root (network namespaces, a test user)");
  const sshd = peer("sshd");
  peer("ip");
  const ns = `dkt${index}`;
  const [hv, nv] = [`dkh${index}`, `dkn${index}`];
  const [hostIp, ip] = [`10.213.${index}.1`, `10.213.${index}.2`];
  try {
    sh("ip", ["netns", "del", ns]);
  } catch {
    /* not there: fine */
  }
  sh("ip", ["netns", "add", ns]);
  sh("ip", ["link", "add", hv, "type", "veth", "peer", "name", nv]);
  sh("ip", ["link", "set", nv, "netns", ns]);
  sh("ip", ["addr", "add", `${hostIp}/24`, "dev", hv]);
  sh("ip", ["link", "set", hv, "up"]);
  sh("ip", ["netns", "exec", ns, "ip", "addr", "add", `${ip}/24`, "dev", nv]);
  sh("ip", ["netns", "exec", ns, "ip", "link", "set", nv, "up"]);
  sh("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);

  const user = "dktest";
  try {
    sh("id", ["-u", user]);
  } catch {
    sh("useradd", ["-m", "-s", "/bin/bash", user]);
  }
  // A new account is locked ("!" password), which sshd refuses without PAM: "*" means no password, but not locked.
  sh("usermod", ["-p", "*", user]);
  const uid = Number(sh("id", ["-u", user]).trim());
  // Processes a killed test run left behind would hold ports and show up in process checks.
  try {
    execFileSync("pkill", ["-9", "-u", user], { stdio: "ignore" });
  } catch {
    /* none: fine */
  }
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
      execFileSync("chpasswd", [], { input: `${user}:${password}\n` });
      writeFileSync(sudoers, `Defaults:${user} lecture=never${ticket ? `, ${ticket}` : ""}\n${user} ALL=(ALL) ALL\n`, { mode: 0o440 });
      execFileSync("visudo", ["-c", "-q", "-f", sudoers]);
    },
    stop() {
      proc.kill();
      rmSync(sudoers, { force: true });
      execFileSync("usermod", ["-p", "*", user]);
      try {
        execFileSync("pkill", ["-u", user], { stdio: "ignore" });
      } catch {
        /* nothing left: fine */
      }
      try {
        sh("ip", ["netns", "del", ns]);
      } catch {
        /* already gone */
      }
    },
  };
}

/** Waits until sshd accepts connections on the node. */
export async function waitForSsh(host: TestHost): Promise<void> {
  for (let i = 0; i < 50; i++) {
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
