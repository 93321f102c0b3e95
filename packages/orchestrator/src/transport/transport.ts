import { createHash } from "node:crypto";
import { posix } from "node:path";
import { RemoteCommandError } from "../errors.js";
import { type Shell, sh } from "../shell.js";

/** What a command did on the node. `exitCode` and `signal` are both null when its end was never seen. */
export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
}

/** Options of one command. */
export interface RunOptions {
  /** Bytes for the command's stdin. */
  stdin?: string | Buffer;
  /** Called with each complete line of output, as it arrives. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

/**
 * What every way of reaching a node offers: SSH, this machine, or a recorder for dry runs. Steps only
 * see this, so sudo, host keys and jump hosts stay inside the SSH transport.
 */
export interface Transport {
  /** Shown before every line of output, e.g. `kubernetes` or `user@10.0.0.5`. */
  readonly host: string;
  /** Runs a POSIX shell script on the node; never throws for a non-zero exit (see {@link exec}). */
  run(script: Shell, options?: RunOptions): Promise<RunResult>;
  /**
   * Starts a command that lives until `release()` (its stdin stays open until then), used for the node's
   * lock. `prefix` is written to its stdin first. Resolves once its first line of output is out.
   */
  hold?(script: Shell, prefix?: string | Buffer): Promise<{ firstLine: string; release(): Promise<void> }>;
  close(): Promise<void>;
}

/**
 * Collects one output stream of a command into `out[name]`, and hands each complete line to `onLine`
 * as it arrives (the last, unterminated one at the end). Both transports read their streams through it.
 */
export function drain(stream: NodeJS.ReadableStream, name: "stdout" | "stderr", out: { stdout: string; stderr: string }, onLine?: RunOptions["onLine"]): void {
  let partial = "";
  stream.on("data", (d: Buffer) => {
    const text = d.toString();
    out[name] += text;
    if (!onLine) return;
    const parts = (partial + text).split("\n");
    partial = parts.pop()!;
    for (const line of parts) onLine(line, name);
  });
  stream.on("end", () => partial && onLine?.(partial, name));
}

/** Runs a script and throws {@link RemoteCommandError} unless it exits 0. */
export async function exec(t: Transport, script: Shell, options: RunOptions = {}): Promise<RunResult> {
  const r = await t.run(script, options);
  if (r.exitCode !== 0) throw new RemoteCommandError(script.text, r.exitCode, r.signal, r.stdout, r.stderr, t.host);
  return r;
}

/** SHA-256 of bytes, hex. */
export function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * Puts a file on the node through the shell: skipped when the node already has the same bytes
 * (sha256), else written to a temporary file with its mode from the start, checked, and renamed.
 */
export async function putFile(t: Transport, path: string, content: string | Buffer, mode: number): Promise<"written" | "unchanged"> {
  const digest = sha256(content);
  const have = await t.run(sh`sha256sum ${path} 2>/dev/null | cut -d' ' -f1`);
  if (have.exitCode === 0 && have.stdout.trim() === digest) {
    await exec(t, sh`chmod ${mode.toString(8)} ${path}`);
    return "unchanged";
  }
  const tmp = `${path}.dk-${digest.slice(0, 12)}.tmp`;
  const octal = mode.toString(8);
  await exec(
    t,
    sh`set -e; mkdir -p ${posix.dirname(path)}; (umask 077; cat > ${tmp}); chmod ${octal} ${tmp}; [ "$(sha256sum ${tmp} | cut -d' ' -f1)" = ${digest} ] || { rm -f ${tmp}; echo ${`upload arrived damaged: ${path}`} >&2; exit 1; }; mv -f ${tmp} ${path}`,
    { stdin: content },
  );
  return "written";
}
