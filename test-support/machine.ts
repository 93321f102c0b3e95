// What runs of the suite on one machine share, made safe to share: loopback ports, and the fixed ports of a
// node's plan (etcd's 2379/2380, the apiserver's 6443, ...) that a test using this machine as the node needs.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { peer, run } from "./peers.js";

/**
 * `count` distinct TCP ports free on 127.0.0.1 at this moment, chosen by the kernel. Another process may take
 * one before the caller binds it: a caller that cannot bind tries again with fresh ones.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    // All open at once, so the kernel hands out `count` different ports.
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * The lock on this machine's node ports (those the plan's preflight checks and its components listen on).
 * A test that runs the plan here, through LocalTransport, holds it: another run's test doing the same waits.
 */
export const NODE_PORTS_LOCK = "/run/dk-test-node-ports.lock";

/** Who holds a lock: the folder its test leaves things in while it does (read by the next holder if that test was killed). */
const recordOf = (lock: string) => `${lock}.owner`;

export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes `lock` (flock(1)), waiting up to `waitSeconds` for another run to release it, and holds it until
 * release() or until this process ends, killed or not: the holder is a `flock` child reading our end of a pipe.
 * `work` is where the holder's test leaves processes and files; if the previous holder was killed before it
 * cleaned up, its processes (those whose command line names its folder, a temporary folder of its own) are
 * killed and the folder removed before this returns.
 */
export async function holdLock(lock: string, work: string, waitSeconds = 900): Promise<HeldLock> {
  const p = spawn(peer("flock"), ["-w", String(waitSeconds), lock, "sh", "-c", "echo held; exec cat >/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  p.stderr.on("data", (d) => (stderr += d));
  const held = await new Promise<boolean>((resolve) => {
    p.stdout.on("data", (d: Buffer) => d.toString().includes("held") && resolve(true));
    p.once("close", () => resolve(false));
  });
  if (!held) throw new Error(`could not take ${lock} in ${waitSeconds} s (another run of the suite holds it): ${stderr.trim()}`);
  const record = recordOf(lock);
  if (existsSync(record)) sweep(readFileSync(record, "utf8").trim());
  writeFileSync(record, `${work}\n`);
  return {
    release: async () => {
      rmSync(record, { force: true });
      if (p.exitCode !== null) return;
      const closed = new Promise((r) => p.once("close", r));
      p.stdin.end();
      await closed;
    },
  };
}

/** What a killed holder left: its processes (found by its own temporary folder in their command line) and the folder. */
function sweep(work: string): void {
  // Only a folder of the suite's own (tempDir: /tmp/dk-XXXXXX), never a pattern that could match anything else.
  if (!/^\/\S+\/dk-[A-Za-z0-9]{6}$/.test(work)) return;
  run("pkill", ["-9", "-f", "--", `${work.replaceAll(".", "\\.")}(/| |$)`]);
  rmSync(work, { recursive: true, force: true });
}
