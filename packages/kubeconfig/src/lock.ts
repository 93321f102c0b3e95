import { link, lstat, mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { DkError } from "@dk-bootstrap/pki";

/** How long a held lock is waited for, and how old an ownerless (kubectl's, empty) lock must be to count as stale. */
export const LOCK_WAIT_MS = 30_000;

/** How lock waits and take-overs are tuned and reported. */
export interface LockOptions {
  /** How long to wait for a lock held by a live process before giving up (default {@link LOCK_WAIT_MS}). */
  waitMs?: number;
  /** Where a note about a stale lock taken over goes (default: a `note:` line on stderr). */
  note?: (line: string) => void;
}

/** The kubeconfig lock is held by another live process and was not released in time. */
export class KubeconfigLockedError extends DkError {
  constructor(lock: string, owner: string) {
    super(`open ${lock}: file exists (${owner})`, "LOCKED", {
      hint: "another kubectl or dk-bootstrap is writing this kubeconfig; remove the lock file if none is",
    });
  }
}

/** A lock as judged: its owner, and what tells this very file from a later one (inode numbers are reused). */
interface Owner {
  pid?: number;
  host?: string;
  text: string;
  ino: number;
  mtimeMs: number;
  ageMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const defaultNote = (line: string) => process.stderr.write(`note: ${line}\n`);

/** kill(pid, 0): ESRCH means gone; EPERM means alive under another user. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(lock: string): Promise<Owner | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(lock, "utf8"), stat(lock)]);
    const [pid, host] = text.trim().split(/\s+/);
    const n = Number(pid);
    return { ...(Number.isSafeInteger(n) && n > 0 ? { pid: n, host } : {}), text, ino: st.ino, mtimeMs: st.mtimeMs, ageMs: Date.now() - st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined; // released while we looked
    throw e;
  }
}

/** Why a lock can be taken over, or undefined while its owner may still be writing. */
function staleReason(o: Owner, waitMs: number): string | undefined {
  if (o.pid !== undefined) return o.host === hostname() && !alive(o.pid) ? `its owner, PID ${o.pid}, is gone` : undefined;
  // kubectl records no owner and holds its lock for milliseconds; one this old was left by a killed process.
  return o.ageMs > waitMs ? `it names no owner and is ${Math.round(o.ageMs / 1000)} s old` : undefined;
}

/**
 * Removes a stale lock, making sure it is the very file judged stale: only the process that made the
 * `.takeover` hard link to it may unlink it, so two processes that find the same stale lock cannot
 * both remove it (the second would remove a live one).
 */
async function takeOver(lock: string, judged: Owner, waitMs: number): Promise<boolean> {
  const mutex = `${lock}.takeover`;
  try {
    await link(lock, mutex);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      // A take-over lasts microseconds; one older than the wait was cut short by a kill (link() sets ctime).
      const st = await lstat(mutex).catch(() => undefined);
      if (st && Date.now() - st.ctimeMs > waitMs) await unlink(mutex).catch(() => undefined);
      return false;
    }
    if (code === "ENOENT") return false;
    throw e;
  }
  try {
    const [st, text] = await Promise.all([stat(mutex), readFile(mutex, "utf8")]);
    if (st.ino !== judged.ino || st.mtimeMs !== judged.mtimeMs || text !== judged.text) return false;
    await unlink(lock);
    return true;
  } finally {
    await unlink(mutex).catch(() => undefined);
  }
}

/**
 * Takes `<file>.lock` as kubectl does (created with O_EXCL, so kubectl and dk-bootstrap exclude each
 * other), recording our PID and host in it. A lock held by a live process is waited for (bounded);
 * one whose owner is gone is taken over with a note. Makes the file's folder (0755) first, as
 * client-go's lockFile does. Resolves to the function that releases the lock.
 */
export async function lockKubeconfig(file: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const lock = `${file}.lock`;
  const waitMs = options.waitMs ?? LOCK_WAIT_MS;
  const deadline = Date.now() + waitMs;
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lock, "wx", 0o600);
      const mine = `${process.pid} ${hostname()} ${randomBytes(6).toString("hex")}\n`;
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      return async () => {
        // Never remove a lock that is no longer ours (taken over after we were presumed dead).
        if ((await readFile(lock, "utf8").catch(() => undefined)) === mine) await unlink(lock).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = await readOwner(lock);
    if (owner === undefined) continue;
    const reason = staleReason(owner, waitMs);
    if (reason !== undefined) {
      if (await takeOver(lock, owner, waitMs)) (options.note ?? defaultNote)(`${lock}: took over a stale lock: ${reason}`);
      continue;
    }
    if (Date.now() > deadline) {
      const who =
        owner.pid === undefined ? "held by a process that did not record its PID" : `in use by PID ${owner.pid}${owner.host ? ` on ${owner.host}` : ""}`;
      throw new KubeconfigLockedError(lock, who);
    }
    // Writers hold the lock for milliseconds: poll quickly at first, with jitter so waiters do not move in step.
    await sleep(Math.min(5 + attempt * 5, 100) * (0.5 + Math.random()));
  }
}

/** Takes the locks of several files in one order (sorted), so two processes locking overlapping sets cannot deadlock. */
export async function lockKubeconfigs(files: string[], options: LockOptions = {}): Promise<() => Promise<void>> {
  const releases: (() => Promise<void>)[] = [];
  try {
    for (const f of [...new Set(files)].sort()) releases.push(await lockKubeconfig(f, options));
  } catch (e) {
    for (const r of releases.reverse()) await r();
    throw e;
  }
  return async () => {
    for (const r of releases.reverse()) await r();
  };
}
