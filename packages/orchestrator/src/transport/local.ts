import { spawn } from "node:child_process";
import type { Shell } from "../shell.js";
import { type RunOptions, type RunResult, type Transport, drain, feedStdin, outputSink } from "./transport.js";
import { wrap } from "./wrap.js";

/** Runs a child process and collects its output line by line. */
export function spawnCollect(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out = { stdout: "", stderr: "" };
    p.on("error", reject);
    p.stdin.on("error", () => undefined); // a command that does not read its stdin closes it early
    drain(p.stdout, "stdout", out, options.onLine);
    const stderr = feedStdin(p.stdin, p.stderr, options, outputSink("stderr", out, options.onLine));
    p.on("close", (code, signal) => {
      stderr.flush();
      resolve({ ...out, exitCode: code, signal });
    });
  });
}

/** This machine, through `/bin/sh`: `dk-bootstrap local`, and the tests. */
export class LocalTransport implements Transport {
  readonly host: string;
  constructor(host = "localhost") {
    this.host = host;
  }

  run(script: Shell, options: RunOptions = {}): Promise<RunResult> {
    return spawnCollect(["/bin/sh", "-c", wrap(script)], options);
  }

  async hold(script: Shell, options: Pick<RunOptions, "stdin" | "gate"> = {}): Promise<{ firstLine: string; release(): Promise<void> }> {
    const p = spawn("/bin/sh", ["-c", wrap(script)], { stdio: ["pipe", "pipe", "pipe"] });
    p.stdin.on("error", () => undefined);
    feedStdin(p.stdin, p.stderr, options, { data: () => undefined, end: () => undefined }, true);
    const firstLine = await new Promise<string>((resolve) => {
      let buf = "";
      p.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) resolve(buf.split("\n")[0]!);
      });
      p.on("close", () => resolve(buf.split("\n")[0] ?? ""));
    });
    return {
      firstLine,
      release: () =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null) return resolve();
          p.on("close", () => resolve());
          p.stdin.end();
        }),
    };
  }

  async close(): Promise<void> {}
}
