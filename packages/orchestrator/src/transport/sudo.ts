import { randomBytes } from "node:crypto";
import { DkError } from "@dk-bootstrap/pki";
import { type Shell, quote, raw } from "../shell.js";
import type { RunOptions, RunResult, StdinGate, Transport } from "./transport.js";
import { wrap } from "./wrap.js";

/** How to become root on the node: already root, `sudo -n` (NOPASSWD), or `sudo -S` with a password given once. */
export type SudoMode = { kind: "root" } | { kind: "nopasswd" } | { kind: "password"; password: string };

/**
 * Finds how this login can become root: `id -u` is 0, or sudo needs no password (NOPASSWD), or a
 * password is needed (given with `password`, or an error naming the flag). A cached sudo ticket is not
 * taken for NOPASSWD (`-k`): it may run out halfway through the steps.
 */
export async function detectSudo(t: Transport, password?: string): Promise<SudoMode> {
  if ((await t.run(raw("id -u"))).stdout.trim() === "0") return { kind: "root" };
  if ((await t.run(raw("sudo -n -k true 2>/dev/null"))).exitCode === 0) return { kind: "nopasswd" };
  if (password === undefined) {
    throw new DkError(`${t.host}: these steps need root, and sudo asks this user for a password`, "SUDO", {
      hint: "pass --sudo-password-stdin (the password on stdin), run in a terminal to be asked, or connect as root",
    });
  }
  // -k: sudo asks whatever its ticket says, so a wrong password is caught here, before any step.
  const check = await t.run(raw("sudo -S -p '' -k true"), { stdin: `${password}\n` });
  if (check.exitCode !== 0)
    throw new DkError(`${t.host}: sudo refused the password (or this user may not use sudo)`, "SUDO", {
      hint: "check the password, and that the user is in sudoers",
    });
  return { kind: "password", password };
}

/**
 * A transport whose commands run as root through sudo. With a password, sudo prompts with a random
 * marker on stderr and gets the password only then; the command's input follows once the root shell
 * says it has started. So sudo reads exactly the password when it asks for one, and nothing when a
 * cached ticket (`timestamp_type=global`, `!tty_tickets`) lets it skip asking. The password is never on a
 * command line, in `ps`, in a file or in a log.
 */
export class SudoTransport implements Transport {
  readonly host: string;
  private readonly gate: StdinGate | undefined;
  constructor(
    private readonly inner: Transport,
    private readonly mode: SudoMode,
  ) {
    this.host = inner.host;
    const marker = randomBytes(12).toString("hex");
    this.gate =
      mode.kind === "password" ? { prompt: `[dk-sudo-${marker}]`, answer: Buffer.from(`${mode.password}\n`), ready: `dk-sudo-ready-${marker}` } : undefined;
  }

  private command(script: Shell): Shell {
    if (this.mode.kind === "root") return script;
    // sudo's secure_path replaces PATH: the inner script sets it again.
    if (!this.gate) return raw(`sudo -n -- /bin/sh -c ${quote(wrap(script))}`);
    return raw(`sudo -S -p ${quote(this.gate.prompt)} -- /bin/sh -c ${quote(`printf '%s\\n' ${this.gate.ready} >&2\n${wrap(script)}`)}`);
  }

  run(script: Shell, options: RunOptions = {}): Promise<RunResult> {
    return this.inner.run(this.command(script), { ...options, ...(this.gate ? { gate: this.gate } : {}) });
  }

  hold(script: Shell, options: Pick<RunOptions, "stdin"> = {}): Promise<{ firstLine: string; release(): Promise<void> }> {
    if (!this.inner.hold) throw new DkError(`${this.host}: this transport cannot hold a lock`, "INTERNAL");
    return this.inner.hold(this.command(script), { ...options, ...(this.gate ? { gate: this.gate } : {}) });
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
