// A CLI run in the background, for tests that act while it runs (a second command racing it, a signal), and a wait
// for a condition on it, bounded.
import { spawn } from "node:child_process";
import { CLI } from "./peers.js";

/** A CLI run in the background: its output so far, whether it ended, its PID, and its end (exit code, or the signal). */
export function background(args: string[], cwd: string) {
  const p = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "", ended: false };
  p.stdout.on("data", (d) => (out.stdout += d));
  p.stderr.on("data", (d) => (out.stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    p.on("close", (code, signal) => {
      out.ended = true;
      r({ code, signal });
    }),
  );
  return { pid: p.pid!, out, done };
}

/** Waits until `ok()` holds, checking every 100 ms; fails after `ms` naming `what`. */
export async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  for (const start = Date.now(); !ok();) {
    if (Date.now() - start > ms) throw new Error(`waited ${ms / 1000}s for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
