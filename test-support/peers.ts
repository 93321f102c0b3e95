// Shared by every package's tests: temporary folders, running real tools, and finding the real peers.
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * The path of a peer tool (openssl, cfssl, etcd, ...). A missing peer fails the test: the test
 * command installs them (scripts/install-peers.sh), so a missing one is a set-up bug to see.
 */
export function peer(name: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = r.stdout.trim();
  if (r.status !== 0 || path === "") throw new Error(`peer tool ${name} is missing: run scripts/install-peers.sh as root`);
  return path;
}

const made = new Set<string>();
// Registered while the test file that imports this is collected, so it runs once that file's tests are done. (An
// afterAll registered by tempDir itself inside a test or a hook never ran: every such folder stayed in /tmp.)
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
});

/** A fresh folder removed after the test file, wherever it is made (at collection, in a hook, in a test). */
export function tempDir(prefix = "dk-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Runs a command to completion; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: "utf8", cwd: opts.cwd, input: opts.input, env: opts.env ?? process.env, timeout: 60_000 });
}

/** The built CLI's entry point, as `npm ci` links it. */
export const CLI = join(import.meta.dirname, "..", "packages", "cli", "bin.cjs");

/** Runs the built dk-bootstrap CLI. */
export function dk(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return run(process.execPath, [CLI, ...args], opts);
}

/** Runs a command without blocking the event loop (needed when the peer talks to a server in this process). */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    // Killed after two minutes unless the caller allows more (a whole node brought up takes longer).
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs the built CLI without blocking this process (for tests whose servers live in it). */
export function dkAsync(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runAsync(process.execPath, [CLI, ...args], opts);
}

/** Every file under a folder with its bytes: two snapshots are equal when a command changed nothing there. */
export function folderSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = readFileSync(p, "latin1");
    }
  };
  walk(root);
  return out;
}
