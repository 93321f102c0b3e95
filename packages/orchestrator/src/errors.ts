import { DkError } from "@dk-bootstrap/pki";

/** Connecting or talking SSH failed; `level` is ssh2's classification (client-socket, client-authentication, ...). */
export class SshError extends DkError {
  constructor(
    message: string,
    readonly level: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, "SSH", options);
  }
}

/** The host's key is unknown or has changed: the connection is refused before any command runs. */
export class HostKeyError extends DkError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, "HOST_KEY", options);
  }
}

/** A download's SHA-256 does not match its published checksum: nothing from it is installed. */
export class ChecksumError extends DkError {
  constructor(message: string) {
    super(message, "CHECKSUM", { hint: "a mirror or proxy may be serving another file; check --mirror, or retry" });
  }
}

/** A command on the node failed, or its end was never seen (a lost connection is never a success). */
export class RemoteCommandError extends DkError {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stdout: string,
    readonly stderr: string,
    readonly host: string,
  ) {
    const why = exitCode === null && signal === null ? "the connection ended before the command did" : signal ? `killed by ${signal}` : `exit ${exitCode}`;
    const tail = stderr.trim().split("\n").slice(-1)[0] ?? "";
    super(`${host}: command failed (${why})${tail ? `: ${tail}` : ""}`, "REMOTE");
  }
}

/** Another run holds the node's lock. */
export class LockedError extends DkError {
  constructor(host: string, path: string, owner?: string) {
    super(`${host}: another dk-bootstrap run holds ${path}${owner ? `: ${owner}` : ""}`, "LOCKED", {
      hint: `wait for it, or remove ${path} on the node if no run is going on`,
    });
  }
}
