// Reaching one node: the target's spelling, ssh_config and the flags merged as ssh merges them, the jump hosts, and
// root through sudo. Shared by every command that talks to a node (ssh, reset, status, logs, rotate-ca … ssh) and by
// the whole-cluster connections, so none of them imports the command that happened to define it first.
import { existsSync, readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join, resolve } from "node:path";
import { DkError, InputError } from "@dk-bootstrap/pki";
import { SshTransport, type Transport, asRootIfNeeded, sshConfigFor } from "@dk-bootstrap/orchestrator";
import { askHidden, readStdin } from "./io.js";

/** How a node is reached and made root: the flags of `ssh [user@]host` that every command reaching one node shares. */
export interface SshFlags {
  port?: string;
  identity?: string;
  knownHosts?: string;
  acceptNewHostKey?: boolean;
  jump?: string;
  sudoPasswordStdin?: boolean;
}

/** `user@host` or `host` (an ssh_config alias, or an address). */
export function parseTarget(target: string): { user?: string; host: string } {
  const at = target.lastIndexOf("@");
  const user = at >= 0 ? target.slice(0, at) : undefined;
  const host = (at >= 0 ? target.slice(at + 1) : target).replace(/^\[|\]$/g, "");
  if (!host || /\s/.test(host) || user === "") throw new InputError("expected [user@]host", { field: "target", value: target });
  return { ...(user ? { user } : {}), host };
}

/** `[user@]host[:port]`, as ssh's -J takes it. */
function parseHop(hop: string): { user?: string; host: string; port?: number } {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop.trim());
  if (!m) throw new InputError("expected [user@]host[:port]", { field: "--jump", value: hop });
  return { ...(m[1] ? { user: m[1] } : {}), host: m[2]!.replace(/^\[|\]$/g, ""), ...(m[3] ? { port: Number(m[3]) } : {}) };
}

/**
 * Connects as ssh would: `~/.ssh/config` for the alias (HostName, User, Port, IdentityFile, ProxyJump), then
 * the flags on top; jump hosts one after the other, each hop's connection carried by the previous one.
 */
export async function connect(target: string, o: SshFlags): Promise<SshTransport> {
  const home = homedir();
  const knownHosts = o.knownHosts ? [resolve(o.knownHosts)] : [join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"];
  const hop = async (spec: { user?: string; host: string; port?: number }, via: SshTransport | undefined, flags: { port?: string; identity?: string }) => {
    const cfg = await sshConfigFor(spec.host);
    const port = flags.port !== undefined ? Number(flags.port) : (spec.port ?? cfg.port ?? 22);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError("not a TCP port", { field: "--port", value: flags.port ?? port });
    const keyFile = flags.identity
      ? resolve(flags.identity)
      : [...cfg.identityFiles, ...["id_ed25519", "id_ecdsa", "id_rsa"].map((k) => join(home, ".ssh", k))].find((f) => existsSync(f));
    let privateKey: Buffer | undefined;
    if (keyFile) {
      try {
        privateKey = readFileSync(keyFile);
      } catch {
        throw new InputError(
          "cannot read the private key",
          { file: keyFile },
          { hint: flags.identity ? "check the file given to -i/--identity (its path, its permissions)" : "pass the key to use with -i FILE" },
        );
      }
    }
    return SshTransport.connect({
      host: cfg.hostName ?? spec.host,
      port,
      username: spec.user ?? cfg.user ?? userInfo().username,
      ...(privateKey ? { privateKey } : {}),
      ...(process.env.SSH_AUTH_SOCK ? { agent: process.env.SSH_AUTH_SOCK } : {}),
      knownHosts,
      acceptNewHostKey: o.acceptNewHostKey ?? false,
      ...(via ? { jump: via } : {}),
    });
  };
  const { user, host } = parseTarget(target);
  const jumps = o.jump ?? (await sshConfigFor(host)).proxyJump;
  let via: SshTransport | undefined;
  for (const j of jumps ? jumps.split(",") : []) via = await hop(parseHop(j), via, { ...(o.identity ? { identity: o.identity } : {}) });
  return hop({ ...(user ? { user } : {}), host }, via, { ...(o.port ? { port: o.port } : {}), ...(o.identity ? { identity: o.identity } : {}) });
}

/** The sudo password: from stdin with --sudo-password-stdin, else asked once on the terminal when sudo wants one. */
async function sudoPassword(o: SshFlags): Promise<string | undefined> {
  if (o.sudoPasswordStdin) return (await readStdin()).replace(/\r?\n$/, "");
  return undefined;
}

/**
 * `t` as root when the run needs it (sudo for a non-root login): the password from stdin with --sudo-password-stdin, else
 * asked once on a terminal, and only when sudo wants one.
 */
export async function asRoot(t: Transport, needsRoot: boolean, o: SshFlags): Promise<Transport> {
  const password = await sudoPassword(o);
  try {
    return await asRootIfNeeded(t, needsRoot, password);
  } catch (e) {
    if (!(e instanceof DkError) || e.code !== "SUDO" || password !== undefined || !process.stdin.isTTY) throw e;
    return asRootIfNeeded(t, needsRoot, await askHidden(`[sudo] password for ${t.host}: `));
  }
}
