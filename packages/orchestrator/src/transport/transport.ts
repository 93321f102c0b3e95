import { createHash } from "node:crypto";
import { posix } from "node:path";
import type { Readable, Writable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { RemoteCommandError } from "../errors.js";
import { type Shell, sh } from "../shell.js";

/** What a command did on the node. `exitCode` and `signal` are both null when its end was never seen. */
export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
}

/**
 * A conversation on stderr that comes before the command's own input (sudo -S -p MARKER): `answer` is
 * written once `prompt` shows on stderr, and the input only once `ready` (a line) does. A second `prompt`
 * means the answer was refused: stdin is closed, so the input is never tried as a password. Neither
 * marker reaches the stderr the caller sees.
 */
export interface StdinGate {
  prompt: string;
  answer: Buffer;
  ready: string;
}

/** Options of one command. */
export interface RunOptions {
  /** Bytes for the command's stdin. */
  stdin?: string | Buffer;
  /** Hold `stdin` back until the command says it is ready (see {@link StdinGate}). */
  gate?: StdinGate;
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
   * lock. `options.stdin` is written to its stdin first. Resolves once its first line of output is out.
   */
  hold?(script: Shell, options?: Pick<RunOptions, "stdin" | "gate">): Promise<{ firstLine: string; release(): Promise<void> }>;
  close(): Promise<void>;
}

/** Where one output stream's bytes go (see {@link outputSink}). */
export interface OutputSink {
  data(chunk: Buffer): void;
  end(): void;
}

/**
 * Collects one output stream into `out[name]`, and hands each complete line to `onLine` as it arrives (the
 * last, unterminated one at the end). A character cut between two chunks is put back together.
 */
export function outputSink(name: "stdout" | "stderr", out: { stdout: string; stderr: string }, onLine?: RunOptions["onLine"]): OutputSink {
  const decoder = new StringDecoder("utf8");
  let partial = "";
  const add = (text: string) => {
    out[name] += text;
    if (!onLine) return;
    const parts = (partial + text).split("\n");
    partial = parts.pop()!;
    for (const line of parts) onLine(line, name);
  };
  return {
    data: (chunk) => add(decoder.write(chunk)),
    end: () => {
      add(decoder.end());
      if (partial) onLine?.(partial, name);
      partial = "";
    },
  };
}

/** Reads one output stream of a command into `out[name]` (see {@link outputSink}). */
export function drain(stream: NodeJS.ReadableStream, name: "stdout" | "stderr", out: { stdout: string; stderr: string }, onLine?: RunOptions["onLine"]): void {
  const sink = outputSink(name, out, onLine);
  stream.on("data", sink.data);
  stream.on("end", sink.end);
}

/**
 * Sends a command its input, at once or through `gate` once the command is ready, and passes its stderr to
 * `sink` (the gate's markers taken out). `keepOpen` leaves stdin open after the input. Call `flush()` when
 * the command has ended, for stderr held back as the possible start of a marker.
 */
export function feedStdin(
  stdin: Writable,
  stderr: Readable,
  options: Pick<RunOptions, "stdin" | "gate">,
  sink: OutputSink,
  keepOpen = false,
): { flush(): void } {
  const send = () => (keepOpen ? options.stdin !== undefined && stdin.write(options.stdin) : stdin.end(options.stdin ?? ""));
  const gate = options.gate;
  if (!gate) {
    stderr.on("data", sink.data);
    stderr.on("end", sink.end);
    send();
    return { flush: () => undefined };
  }
  // Latin-1 keeps every byte as one character, so what is passed on is the bytes that came.
  const pass = (text: string) => text && sink.data(Buffer.from(text, "latin1"));
  const ready = `${gate.ready}\n`;
  const keep = Math.max(gate.prompt.length, ready.length) - 1;
  let pending = "";
  let answered = false;
  let open = false;
  const flush = () => {
    pass(pending);
    pending = "";
  };
  stderr.on("end", () => {
    flush();
    sink.end();
  });
  stderr.on("data", (chunk: Buffer) => {
    if (open) return sink.data(chunk);
    pending += chunk.toString("latin1");
    for (;;) {
      const [p, r] = [pending.indexOf(gate.prompt), pending.indexOf(ready)];
      if (r >= 0 && (p < 0 || r < p)) {
        pass(pending.slice(0, r));
        pending = pending.slice(r + ready.length);
        flush();
        open = true;
        send();
        return;
      }
      if (p < 0) break;
      pass(pending.slice(0, p));
      pending = pending.slice(p + gate.prompt.length);
      if (answered) stdin.end();
      else stdin.write(gate.answer);
      answered = true;
    }
    // What could be the start of a marker waits for the next chunk.
    const cut = Math.max(0, pending.length - keep);
    pass(pending.slice(0, cut));
    pending = pending.slice(cut);
  });
  return { flush };
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
