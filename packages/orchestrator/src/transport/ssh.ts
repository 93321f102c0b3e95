import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import type { Readable } from "node:stream";
import { HostKeyError, SshError } from "../errors.js";
import { type Shell, quote } from "../shell.js";
import { type HostKeyVerdict, addKnownHost, canonicalHost, checkHostKey, fingerprint, hostKeyName, knownKeyTypes, loadKnownHosts } from "./known-hosts.js";
import { type RunOptions, type RunResult, type Transport, drain, feedStdin, outputSink } from "./transport.js";
import { wrap } from "./wrap.js";

/** How to reach a node over SSH. */
export interface SshOptions {
  host: string;
  port?: number;
  username: string;
  /** A private key (OpenSSH or PEM), tried after the agent. */
  privateKey?: Buffer;
  passphrase?: string;
  /** ssh-agent socket (`$SSH_AUTH_SOCK`). */
  agent?: string;
  /** known_hosts files read, in order; the first is where a new key is written. */
  knownHosts: string[];
  /** Trust on first use: an unknown key is accepted and written; a changed key is still refused. */
  acceptNewHostKey?: boolean;
  /** Reach the node through this connection (`--jump`, ProxyJump); closed with the node's. */
  jump?: SshTransport;
  readyTimeoutMs?: number;
}

/** OpenSSH's default MaxSessions is 10 channels per connection: stay under it. */
const MAX_CHANNELS = 8;
const HOST_KEY_ALGOS: Record<string, string[]> = { "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] };

function keyTypeOf(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString();
}

/**
 * One SSH connection to one node (ssh2), used for every command: host keys checked as OpenSSH
 * checks them, keepalives on, at most 8 channels at once, both output streams always drained, and a
 * command whose end was never seen reported as such (exit code null), never as a success.
 */
export class SshTransport implements Transport {
  readonly host: string;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closedError: Error | undefined;
  private jump: SshTransport | undefined;

  private constructor(
    private readonly client: Client,
    host: string,
  ) {
    this.host = host;
    client.on("close", () => (this.closedError ??= new Error("connection closed")));
  }

  /** Connects and authenticates; refuses unknown (unless accepted) and changed host keys. */
  static async connect(o: SshOptions): Promise<SshTransport> {
    const port = o.port ?? 22;
    // Looked up, recorded and connected to under the name ssh uses: LOCALHOST, [localhost] and localhost are one host.
    const host = canonicalHost(o.host);
    const name = hostKeyName(host, port);
    const entries = await loadKnownHosts(o.knownHosts);
    const types = knownKeyTypes(entries, name);
    let refusal: HostKeyError | undefined;
    let accepted: { type: string; key: Buffer } | undefined;
    const config: ConnectConfig = {
      host,
      port,
      username: o.username,
      readyTimeout: o.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      ...(o.jump ? { sock: await o.jump.forward(host, port) } : {}),
      ...(o.agent ? { agent: o.agent } : {}),
      ...(o.privateKey ? { privateKey: o.privateKey } : {}),
      ...(o.passphrase ? { passphrase: o.passphrase } : {}),
      ...(types.length > 0 ? { algorithms: { serverHostKey: types.flatMap((t) => HOST_KEY_ALGOS[t] ?? [t]) as never } } : {}),
      hostVerifier: (key: Buffer) => {
        const type = keyTypeOf(key);
        const verdict = checkHostKey(entries, host, port, type, key);
        if (verdict.status === "known") return true;
        if (verdict.status === "unknown" && o.acceptNewHostKey) {
          accepted = { type, key };
          return true;
        }
        refusal = hostKeyRefusal(verdict, name, type, key, o);
        return false;
      },
    };
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      client.once("error", (e: Error & { level?: string }) => reject(refusal ?? sshError(e, o, name)));
      client.connect(config);
    });
    if (accepted) await addKnownHost(o.knownHosts[0]!, name, accepted.type, accepted.key);
    const t = new SshTransport(client, `${o.username}@${o.host}`);
    t.jump = o.jump;
    return t;
  }

  private async acquire(): Promise<void> {
    if (this.active < MAX_CHANNELS) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
  }

  private releaseChannel(): void {
    this.active--;
    this.waiting.shift()?.();
  }

  /**
   * Opens a channel and hands it to `use` inside ssh2's callback: a fast command's output, exit status and
   * close can arrive in the same packet batch as the channel's opening, so the listeners must be on before
   * control goes back to the event loop (an `await` in between loses them).
   */
  private open<T>(command: string, use: (ch: ClientChannel) => T): Promise<T> {
    if (this.closedError) return Promise.reject(new SshError(`${this.host}: the connection is closed`, "client-socket"));
    return new Promise((resolve, reject) =>
      this.client.exec(command, (err, ch) => (err ? reject(new SshError(`${this.host}: ${err.message}`, "client-ssh", { cause: err })) : resolve(use(ch)))),
    );
  }

  /** `/bin/sh -c <script>`: a constant program, so the login shell (bash, dash, zsh) only parses one quoted word. */
  async run(script: Shell, options: RunOptions = {}): Promise<RunResult> {
    await this.acquire();
    try {
      return await (
        await this.open(`/bin/sh -c ${quote(wrap(script))}`, (ch) => ({ result: collect(ch, options) }))
      ).result;
    } finally {
      this.releaseChannel();
    }
  }

  async hold(script: Shell, options: Pick<RunOptions, "stdin" | "gate"> = {}): Promise<{ firstLine: string; release(): Promise<void> }> {
    await this.acquire();
    let ended = false;
    const held = await this.open(`/bin/sh -c ${quote(wrap(script))}`, (ch) => {
      const closed = new Promise<void>((r) =>
        ch.on("close", () => {
          ended = true;
          this.releaseChannel();
          r();
        }),
      );
      const firstLine = new Promise<string>((resolve) => {
        let buf = "";
        ch.on("data", (d: Buffer) => {
          buf += d.toString();
          if (buf.includes("\n")) resolve(buf.split("\n")[0]!);
        });
        void closed.then(() => resolve(buf.split("\n")[0] ?? ""));
      });
      feedStdin(ch, ch.stderr, options, { data: () => undefined, end: () => undefined }, true);
      return { ch, closed, firstLine };
    });
    return {
      firstLine: await held.firstLine,
      release: async () => {
        if (!ended) held.ch.end();
        // A channel that never closes must not hold the release, nor keep this process alive once it is done.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([held.closed, new Promise((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
      },
    };
  }

  /** A TCP stream to `host:port` opened from this node (`--jump`: the next hop's connection runs inside it). */
  forward(host: string, port: number): Promise<Readable> {
    return new Promise((resolve, reject) =>
      this.client.forwardOut("127.0.0.1", 0, host, port, (err, stream) =>
        err ? reject(new SshError(`${this.host}: cannot reach ${host}:${port} through it: ${err.message}`, "client-ssh", { cause: err })) : resolve(stream),
      ),
    );
  }

  /** Cuts the connection at once (tests use it to play a network failure). */
  destroy(): void {
    this.client.destroy();
  }

  async close(): Promise<void> {
    this.client.end();
    await this.jump?.close();
  }
}

function collect(ch: ClientChannel, options: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const out = { stdout: "", stderr: "" };
    let exitCode: number | null = null;
    let signal: string | null = null;
    drain(ch, "stdout", out, options.onLine);
    const stderr = feedStdin(ch, ch.stderr, options, outputSink("stderr", out, options.onLine));
    ch.on("exit", (code: number | null, sig?: string) => {
      exitCode = typeof code === "number" ? code : null;
      signal = sig ?? null;
    });
    ch.on("close", () => {
      stderr.flush();
      resolve({ ...out, exitCode, signal });
    });
  });
}

function hostKeyRefusal(verdict: HostKeyVerdict, name: string, type: string, key: Buffer, o: SshOptions): HostKeyError {
  const fp = fingerprint(key);
  if (verdict.status === "changed") {
    const was = verdict.expected.map((e) => `${fingerprint(e.key)} (${e.file}:${e.line})`).join(", ");
    return new HostKeyError(
      `${name}: the host key has CHANGED: it offers ${type} ${fp}, known_hosts has ${was}. Someone may be intercepting the connection, or the host was reinstalled.`,
      {
        // The old key goes from the file that holds it (the user's or the system's), hashed or not: ssh-keygen -R finds both.
        hint: `if the host was reinstalled: ${[...new Set(verdict.expected.map((e) => e.file))].map((f) => `ssh-keygen -R ${quote(name)} -f ${quote(f)}`).join(" && ")}, then connect again with --accept-new-host-key`,
      },
    );
  }
  if (verdict.status === "revoked") return new HostKeyError(`${name}: the host key ${fp} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}`);
  return new HostKeyError(`${name}: unknown host key ${type} ${fp} (not in ${o.knownHosts.join(", ")})`, {
    hint: "check the fingerprint with the host's owner, then pass --accept-new-host-key to trust and record it",
  });
}

function sshError(e: Error & { level?: string }, o: SshOptions, name: string): SshError {
  const level = e.level ?? "client-socket";
  const hints: Record<string, string> = {
    "client-authentication": `no key was accepted for ${o.username}: pass -i KEY, or load it in ssh-agent`,
    "client-timeout": "the host did not answer in time: check the address, the port and the firewall",
    "client-socket": "the host cannot be reached: check the address and the port",
  };
  return new SshError(`${name}: ${e.message}`, level, { ...(hints[level] ? { hint: hints[level] } : {}), cause: e });
}
