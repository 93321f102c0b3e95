import { DkError } from "@dk-bootstrap/pki";
import { type Shell, quote, raw } from "../shell.js";
import type { RunOptions, RunResult, Transport } from "./transport.js";
import { wrap } from "./wrap.js";

/** How to become root on the node: already root, `sudo -n` (NOPASSWD), or `sudo -S` with a password given once. */
export type SudoMode = { kind: "root" } | { kind: "nopasswd" } | { kind: "password"; password: string };

/**
 * Finds how this login can become root: `id -u` is 0, or `sudo -n true` works, or a password is
 * needed (given with `password`, or an error naming the flag).
 */
export async function detectSudo(t: Transport, password?: string): Promise<SudoMode> {
  if ((await t.run(raw("id -u"))).stdout.trim() === "0") return { kind: "root" };
  if ((await t.run(raw("sudo -n true 2>/dev/null"))).exitCode === 0) return { kind: "nopasswd" };
  if (password === undefined) {
    throw new DkError(`${t.host}: these steps need root, and sudo asks this user for a password`, "SUDO", {
      hint: "pass --sudo-password-stdin (the password on stdin), run in a terminal to be asked, or connect as root",
    });
  }
  const check = await t.run(raw("sudo -S -p '' -k true"), { stdin: `${password}\n` });
  if (check.exitCode !== 0)
    throw new DkError(`${t.host}: sudo refused the password (or this user may not use sudo)`, "SUDO", {
      hint: "check the password, and that the user is in sudoers",
    });
  return { kind: "password", password };
}

/**
 * A transport whose commands run as root through sudo. The password, when there is one, goes to
 * `sudo -S` on stdin ahead of the command's own input: it is never on a command line, in `ps`, or in a log.
 */
export class SudoTransport implements Transport {
  readonly host: string;
  constructor(
    private readonly inner: Transport,
    private readonly mode: SudoMode,
  ) {
    this.host = inner.host;
  }

  private command(script: Shell): Shell {
    if (this.mode.kind === "root") return script;
    const flags = this.mode.kind === "password" ? "-S -p ''" : "-n";
    // sudo's secure_path replaces PATH: the inner script sets it again.
    return raw(`sudo ${flags} -- /bin/sh -c ${quote(wrap(script))}`);
  }

  private stdin(options: RunOptions): string | Buffer | undefined {
    if (this.mode.kind !== "password") return options.stdin;
    const pw = Buffer.from(`${this.mode.password}\n`);
    return options.stdin === undefined ? pw : Buffer.concat([pw, Buffer.from(options.stdin)]);
  }

  run(script: Shell, options: RunOptions = {}): Promise<RunResult> {
    const stdin = this.stdin(options);
    return this.inner.run(this.command(script), { ...options, ...(stdin === undefined ? {} : { stdin }) });
  }

  hold(script: Shell, prefix?: string | Buffer): Promise<{ firstLine: string; release(): Promise<void> }> {
    if (!this.inner.hold) throw new DkError(`${this.host}: this transport cannot hold a lock`, "INTERNAL");
    const stdin = this.stdin(prefix === undefined ? {} : { stdin: prefix });
    return this.inner.hold(this.command(script), stdin);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The transport to run a plan with: root through sudo when the plan needs it (a remote root of `/`, or
 * steps that touch the host's namespaces), else the login as it is.
 */
export async function asRootIfNeeded(t: Transport, needsRoot: boolean, password?: string): Promise<Transport> {
  if (!needsRoot) return t;
  const mode = await detectSudo(t, password);
  return mode.kind === "root" ? t : new SudoTransport(t, mode);
}
