import { createHash, randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DkError, ensureFolder } from "@dk-bootstrap/pki";
import { hasEtcdutl } from "./artifacts.js";
import { NodeLayout } from "./node.js";
import { type Shell, raw, sh } from "./shell.js";
import { type Transport, exec } from "./transport/transport.js";

/** A snapshot file that cannot be used: missing its integrity hash, damaged, or unreadable as etcd's database. */
export class SnapshotError extends DkError {
  constructor(message: string, hint = "take a new one with `dk-bootstrap etcd snapshot`, or use another copy") {
    super(message, "SNAPSHOT", { hint });
  }
}

/** What `etcdctl snapshot status -w json` (or etcdutl's) says of a snapshot. */
export interface SnapshotStatus {
  /** CRC-32C over every bucket's keys and values (etcd's own hash of the content). */
  hash: number;
  revision: number;
  totalKey: number;
  /** The database's size, without the integrity hash. */
  totalSize: number;
}

/** SHA-256's size: `etcdctl snapshot save` appends the digest of the database to it. */
const HASH_SIZE = 32;

/**
 * Checks a snapshot file as etcd's restore does before it touches anything (etcdutl/snapshot/v3_snapshot.go,
 * copyAndVerifyDB): a saved snapshot is a multiple of 512 bytes plus the 32-byte SHA-256 of what comes
 * before it. A file without one (a copied `member/snap/db`, a truncated download) or whose digest does not
 * match is refused here, on this machine, before any member is stopped. Returns its size and SHA-256.
 */
export async function verifySnapshotFile(path: string): Promise<{ size: number; sha256: string }> {
  const f = await open(path, "r").catch((e: NodeJS.ErrnoException) => {
    throw new SnapshotError(`${path}: cannot read the snapshot (${e.code ?? e.message})`, "give the path of a file `dk-bootstrap etcd snapshot` wrote");
  });
  try {
    const { size } = await f.stat();
    if (size < HASH_SIZE || size % 512 !== HASH_SIZE)
      throw new SnapshotError(
        `${path}: not an etcd snapshot with its integrity hash (${size} bytes; a saved snapshot is a multiple of 512 bytes plus a 32-byte SHA-256): truncated, or not made by snapshot save`,
      );
    const body = createHash("sha256");
    const whole = createHash("sha256");
    const chunk = Buffer.alloc(1 << 20);
    for (let at = 0; at < size - HASH_SIZE;) {
      const { bytesRead } = await f.read(chunk, 0, Math.min(chunk.length, size - HASH_SIZE - at), at);
      if (bytesRead === 0) throw new SnapshotError(`${path}: changed while it was read`);
      body.update(chunk.subarray(0, bytesRead));
      whole.update(chunk.subarray(0, bytesRead));
      at += bytesRead;
    }
    const trailer = Buffer.alloc(HASH_SIZE);
    await f.read(trailer, 0, HASH_SIZE, size - HASH_SIZE);
    whole.update(trailer);
    if (!body.digest().equals(trailer)) throw new SnapshotError(`${path}: damaged: its content does not match the SHA-256 etcd wrote at its end`);
    return { size, sha256: whole.digest("hex") };
  } finally {
    await f.close();
  }
}

/** Bytes per round trip of a transfer: small enough to hold as base64 text, large enough that a big snapshot takes few trips. */
const CHUNK = 4 << 20;
/**
 * Pieces in flight at once, each on a channel of its own (the SSH transport allows 8): a round trip costs about
 * 0.2 s whatever its size, so one at a time spends most of a transfer waiting (48 MiB: 2.6 s in turns, 0.7 s four at once).
 */
const IN_FLIGHT = 4;

/** Runs `work` for pieces 0..count-1, IN_FLIGHT at a time, and hands the results to `use` in order. */
async function inPieces<T>(count: number, work: (i: number) => Promise<T>, use: (i: number, r: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < count; i += IN_FLIGHT) {
    const batch = await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count - i) }, (_, k) => work(i + k)));
    for (const [k, r] of batch.entries()) await use(i + k, r);
  }
}

/**
 * Copies a file of the node to `out` on this machine over the node's connection (the transport carries text,
 * so each 4 MiB piece comes as base64), then checks the bytes against the node's SHA-256 of the file. `out`
 * appears whole or not at all: written to a temporary file of mode 0600 beside it, synced, then renamed.
 */
export async function fetchFile(t: Transport, remote: string, out: string): Promise<{ size: number; sha256: string }> {
  const total = Number((await exec(t, sh`wc -c < ${remote}`)).stdout.trim());
  const digest = exec(t, sh`sha256sum ${remote} | cut -d' ' -f1`).then((r) => r.stdout.trim());
  digest.catch(() => undefined); // awaited below; a failure then is the one reported
  await ensureFolder(dirname(out), 0o700);
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString("hex")}.tmp`);
  const f = await open(tmp, "wx", 0o600);
  const got = createHash("sha256");
  try {
    await inPieces(
      Math.ceil(total / CHUNK),
      async (i) => Buffer.from((await exec(t, sh`dd if=${remote} bs=${CHUNK} skip=${i} count=1 2>/dev/null | base64 -w0`)).stdout, "base64"),
      async (_, piece) => {
        if (piece.length === 0) throw new DkError(`${t.host}: ${remote} became shorter while it was copied`, "TRANSFER");
        got.update(piece);
        await f.write(piece);
      },
    );
    await f.sync();
  } catch (e) {
    await f.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await f.close();
  const sum = await digest.catch(async (e: unknown) => {
    await unlink(tmp);
    throw e;
  });
  if (got.digest("hex") !== sum) {
    await unlink(tmp);
    throw new DkError(`${t.host}: ${remote} arrived damaged (its SHA-256 differs from the node's)`, "TRANSFER", { hint: "run it again" });
  }
  await rename(tmp, out).catch(async (e: unknown) => {
    await unlink(tmp);
    throw e;
  });
  const d = await open(dirname(out), "r");
  await d.sync().finally(() => d.close());
  return { size: total, sha256: sum };
}

/**
 * Copies a file of this machine to the node (mode 0600, its folder 0700), each piece written at its place,
 * then checks the node's SHA-256 of it against `sha256`; a damaged copy is removed and refused.
 */
export async function uploadFile(t: Transport, local: string, remote: string, sha256: string): Promise<void> {
  await exec(t, sh`mkdir -p ${dirname(remote)} && chmod 700 ${dirname(remote)} && rm -f ${remote} && (umask 077; : > ${remote})`);
  const f = await open(local, "r");
  try {
    const { size } = await f.stat();
    await inPieces(
      Math.ceil(size / CHUNK),
      async (i) => {
        const piece = Buffer.alloc(Math.min(CHUNK, size - i * CHUNK));
        await f.read(piece, 0, piece.length, i * CHUNK);
        // POSIX dd: a short read from the pipe is written as it is, right after the one before, so the piece lands whole.
        await exec(t, sh`dd of=${remote} bs=${CHUNK} seek=${i} conv=notrunc 2>/dev/null`, { stdin: piece });
      },
      async () => undefined,
    );
  } finally {
    await f.close();
  }
  const r = await exec(t, sh`sha256sum ${remote} | cut -d' ' -f1`);
  if (r.stdout.trim() !== sha256) {
    await t.run(sh`rm -f ${remote}`);
    throw new DkError(`${t.host}: the snapshot arrived damaged at ${remote} (its SHA-256 differs)`, "TRANSFER", { hint: "run it again" });
  }
}

/**
 * The folders a restore makes beside a member's data folder, named with the restore's {@link stamp}: the restored
 * data before it is swapped in (`.restore-STAMP`), and the member's previous data, kept (`.before-restore-STAMP`).
 */
export function restoreFolders(dataDir: string, when: string): { staged: string; aside: string } {
  return { staged: `${dataDir}.restore-${when}`, aside: `${dataDir}.before-restore-${when}` };
}

/** Every folder restores left beside `dataDir`, as shell words (globs matching only a {@link stamp}'s shape). */
export function restoreLeftovers(dataDir: string): Shell {
  const { staged, aside } = restoreFolders(dataDir, "");
  return sh`${staged}${raw(STAMP_GLOB)} ${aside}${raw(STAMP_GLOB)}`;
}

/** `20260101T120000Z`: a time for file names, sortable, with no character a shell or a file system minds. */
export const stamp = (now = new Date()): string =>
  now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
const STAMP_GLOB = "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z";

/** The installed etcd's release and whether etcdutl sits beside it, as {@link EtcdTools.installed} finds them on the node. */
export interface InstalledEtcd {
  /** `3.4.23`: what the program says (`etcd --version`), whatever release the plan asked for. */
  version: string;
  etcdutl: boolean;
}

/**
 * The node's own etcd tools, as the health-check client of its member (the member runs without etcd's
 * auth, so any client certificate of the etcd CA may take a snapshot). etcd 3.5 and later do the offline
 * work (snapshot status and restore) with `etcdutl`, which the etcd step installs with them (3.6's etcdctl
 * cannot restore); 3.4 has none and does it with `etcdctl`. Which one is decided by the release the node's
 * etcd says it is, not by the plan: a node keeps what it was installed with until its next apply.
 */
export class EtcdTools {
  readonly node: NodeLayout;
  private found: Promise<InstalledEtcd> | undefined;
  constructor(
    readonly t: Transport,
    remoteRoot: string,
  ) {
    this.node = new NodeLayout(remoteRoot);
  }

  /** The member's data folder, as the etcd step makes it. */
  get dataDir(): string {
    return this.node.path("var/lib/etcd");
  }

  /**
   * etcdctl against this node's member, with the health-check client's certificate. `timeout` bounds the whole
   * command (etcdctl 3.4 applies it to a snapshot save too), and a member that does not answer fails it, not the dial.
   */
  etcdctl(timeout: string, ...args: (string | Shell)[]): Shell {
    const p = this.node.pki;
    return sh`env ETCDCTL_API=3 ${`${this.node.bin}/etcdctl`} --endpoints=https://127.0.0.1:2379 --cacert=${`${p}/etcd/ca.crt`} --cert=${`${p}/etcd/healthcheck-client.crt`} --key=${`${p}/etcd/healthcheck-client.key`} --dial-timeout=2s --command-timeout=${timeout} ${args}`;
  }

  /** The node's etcd release and whether its etcdutl is there (asked once per instance). */
  installed(): Promise<InstalledEtcd> {
    this.found ??= this.ask();
    return this.found;
  }

  private async ask(): Promise<InstalledEtcd> {
    const bin = this.node.bin;
    const r = await this.t.run(sh`${`${bin}/etcd`} --version 2>&1 | head -1; if [ -x ${`${bin}/etcdutl`} ]; then echo etcdutl; fi`);
    const version = /^etcd Version: v?(\d+\.\d+\.\d+\S*)/m.exec(r.stdout)?.[1];
    if (!version)
      throw new DkError(`${this.t.host}: no etcd at ${bin}/etcd says its version (${r.stdout.split("\n")[0]?.trim() || "no output"})`, "ETCD", {
        hint: "apply the file first: the etcd step installs it",
      });
    const etcdutl = /^etcdutl$/m.test(r.stdout);
    if (hasEtcdutl(version) && !etcdutl)
      throw new DkError(`${this.t.host}: etcd ${version} reads and restores snapshots with etcdutl, and ${bin}/etcdutl is missing`, "ETCD", {
        hint: "apply the file again: the etcd step installs etcdutl with etcd (an earlier dk-bootstrap did not)",
      });
    return { version, etcdutl };
  }

  /** `snapshot status` of a file on the node, with the tool of the node's release. */
  async status(path: string): Promise<SnapshotStatus> {
    const r = await this.t.run(statusCommand(this.node.bin, (await this.installed()).version, path));
    const line = r.stdout
      .split("\n")
      .reverse()
      .find((l) => l.trim().startsWith("{"));
    if (r.exitCode !== 0 || !line) {
      const why = `${r.stderr}${r.stdout}`.trim().split("\n").pop() ?? "";
      throw new SnapshotError(`${this.t.host}: etcd cannot read the snapshot ${path}${why ? `: ${why}` : ""}`);
    }
    const s = JSON.parse(line) as Partial<SnapshotStatus>;
    return { hash: s.hash ?? 0, revision: s.revision ?? 0, totalKey: s.totalKey ?? 0, totalSize: s.totalSize ?? 0 };
  }

  /** Restores a snapshot into `dataDir` (which must not exist) as one member of a new cluster: see {@link restoreCommand}. */
  async restore(path: string, dataDir: string, member: RestoredMember): Promise<void> {
    await exec(this.t, restoreCommand(this.node.bin, (await this.installed()).version, path, dataDir, member));
  }
}

/** One member of the cluster a restore makes. */
export interface RestoredMember {
  name: string;
  peerUrl: string;
  initialCluster: string;
  token: string;
}

/** `snapshot status -w json` of `path` as etcd `version` (installed in `bin`) does it: etcdutl from 3.5 on, else etcdctl. */
export function statusCommand(bin: string, version: string, path: string): Shell {
  return hasEtcdutl(version)
    ? sh`${`${bin}/etcdutl`} snapshot status ${path} -w json`
    : sh`env ETCDCTL_API=3 ${`${bin}/etcdctl`} snapshot status ${path} -w json`;
}

/**
 * The restore of `path` into `dataDir` as one member of a new cluster, with etcd `version`'s tool. With an etcdutl
 * that supports it, the revision jumps by a billion and the old ones are marked compacted, so Kubernetes' watch
 * caches start over instead of missing what changed (etcd's recovery guide); etcdctl 3.4 cannot, and says nothing.
 */
export function restoreCommand(bin: string, version: string, path: string, dataDir: string, member: RestoredMember): Shell {
  const flags = [
    `--name=${member.name}`,
    `--data-dir=${dataDir}`,
    `--initial-cluster=${member.initialCluster}`,
    `--initial-cluster-token=${member.token}`,
    `--initial-advertise-peer-urls=${member.peerUrl}`,
  ];
  const etcdutl = `${bin}/etcdutl`;
  const restore = hasEtcdutl(version)
    ? sh`bump=; if ${etcdutl} snapshot restore --help 2>&1 | grep -q -- --bump-revision; then bump="--bump-revision=1000000000 --mark-compacted"; fi
# shellcheck disable=SC2086 # $bump is two flags or none
${etcdutl} snapshot restore ${path} ${flags} $bump`
    : sh`env ETCDCTL_API=3 ${`${bin}/etcdctl`} snapshot restore ${path} ${flags}`;
  return sh`set -e
${restore}
chmod 700 ${dataDir}`;
}
