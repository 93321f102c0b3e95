import { randomBytes } from "node:crypto";
import { link, readFile, readdir, stat, unlink, writeFile } from "node:fs/promises";
import { type Server, createServer } from "node:net";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { DkError } from "./errors.js";

/** The lock file of a cluster folder: who holds it, for messages and for telling a dead owner from a live one. */
export const LOCK_FILE = ".dk-bootstrap.lock";

/** Who holds a cluster folder: enough to tell a live owner from a dead one whose PID was reused. */
export interface FolderOwner {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22), when the system has /proc. */
  startTime?: string;
  host: string;
  /** What runs, e.g. `dk-bootstrap certs --dir ./cluster`. */
  command: string;
  since: string;
}

/** Another run holds the cluster folder, and waiting for it did not help. */
export class FolderInUseError extends DkError {
  readonly dir: string;
  readonly owner: FolderOwner | undefined;
  constructor(dir: string, owner: FolderOwner | undefined) {
    super(`${dir} is in use by ${owner ? `PID ${owner.pid} (${owner.command})` : "another process"}`, "LOCKED", {
      hint: `wait for it to finish and run again; if no such process runs, remove ${join(dir, LOCK_FILE)}`,
    });
    this.dir = dir;
    this.owner = owner;
  }
}

/** Options of {@link lockFolder}. */
export interface LockOptions {
  /** What the holder runs, shown to whoever waits (default: this process's command line). */
  command?: string;
  /** How long to wait for another holder, in ms (default 30 s); then {@link FolderInUseError}. */
  waitMs?: number;
  /** Where notes go (waiting, a dead owner's lock taken over); default stderr. */
  notify?: (line: string) => void;
}

/** A held cluster-folder lock. */
export interface FolderLock {
  readonly owner: FolderOwner;
  /** Gives the folder back; safe to call twice. */
  release(): Promise<void>;
}

/**
 * Takes a cluster folder's lock for a whole run (read, decide, write). On Linux the mutual exclusion is
 * an abstract Unix socket named after the folder: the kernel frees it when its process dies, however it
 * dies, so a kill -9 never leaves a lock to clean by hand and a reused PID cannot pass for the owner.
 * The lock file beside it records the owner (PID, start time, command) for the messages; one left by a
 * dead process is taken over with a note. Elsewhere the lock file alone decides, which is correct except
 * when two runs take over the same dead owner's lock at the same instant.
 */
export async function lockFolder(dir: string, options: LockOptions = {}): Promise<FolderLock> {
  const waitMs = options.waitMs ?? 30_000;
  const notify = options.notify ?? ((line: string) => process.stderr.write(`${line}\n`));
  const deadline = Date.now() + waitMs;
  const me: FolderOwner = {
    pid: process.pid,
    ...(await startTimeOf(process.pid).then((t) => (t === undefined ? {} : { startTime: t }))),
    host: hostname(),
    command: options.command ?? ["dk-bootstrap", ...process.argv.slice(2)].join(" "),
    since: new Date().toISOString(),
  };
  let told = false;
  const start = Date.now();
  for (;;) {
    const mutex = await kernelMutex(dir).catch(folderGone(dir));
    if (mutex !== "busy") {
      const claimed = await claimLockFile(dir, me, notify).catch((e: unknown) => {
        mutex?.close();
        return folderGone(dir)(e);
      });
      if (claimed) {
        if (mutex) await removeStaleCopies(dir);
        return heldLock(dir, me, mutex);
      }
      mutex?.close();
    }
    const owner = await readOwner(dir);
    if (Date.now() >= deadline) throw new FolderInUseError(dir, owner);
    // The holder writes its lock file just after taking the mutex: give it a moment before saying it is unknown.
    if (!told && (owner || Date.now() - start > 1000)) {
      notify(`${dir} is in use by ${owner ? `PID ${owner.pid} (${owner.command})` : "another process"}: waiting up to ${Math.round(waitMs / 1000)}s`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
}

/** The folder vanished while we waited for it (a failed first run removes the folder it made). */
export class FolderGoneError extends DkError {
  constructor(dir: string) {
    super(`${dir}: the folder was removed while this run waited for it`, "GONE");
  }
}

function folderGone(dir: string): (e: unknown) => never {
  return (e) => {
    throw (e as NodeJS.ErrnoException).code === "ENOENT" ? new FolderGoneError(dir) : e;
  };
}

function heldLock(dir: string, owner: FolderOwner, mutex: Server | undefined): FolderLock {
  let released = false;
  return {
    owner,
    async release() {
      if (released) return;
      released = true;
      await unlink(join(dir, LOCK_FILE)).catch(() => undefined);
      mutex?.close();
    },
  };
}

/** The folder's kernel mutex: a listening abstract socket (Linux), "busy" when another process has it, undefined where there is none. */
async function kernelMutex(dir: string): Promise<Server | "busy" | undefined> {
  if (process.platform !== "linux") return undefined;
  const { dev, ino } = await stat(dir);
  // The name is public: a local user could hold it, and runs would then stop with "in use by another process".
  const name = `\0dk-bootstrap/${dev}:${ino}`;
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" ? resolve("busy") : reject(e)));
    server.listen(name, () => {
      server.unref(); // a forgotten release must not keep the process alive
      resolve(server);
    });
  });
}

/** The temporary copy {@link publish} links into place: `.dk-bootstrap.lock.<12 hex>.tmp`. */
const LOCK_COPY = /^\.dk-bootstrap\.lock\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporary copies of the lock file that runs killed inside {@link publish} left (a `certs --force` killed
 * while it takes the lock leaves an empty one). Called with the kernel mutex held: every copy is made under it, so no
 * live run is writing one now.
 */
async function removeStaleCopies(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => LOCK_COPY.test(n)).map((n) => unlink(join(dir, n)).catch(() => undefined)));
}

/**
 * Creates `path` with complete content, or does nothing if it exists: a temporary file linked into place
 * never shows half-written. No fsync: a lock is about live processes, and none outlives a power loss.
 */
async function publish(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, content, { flag: "wx", mode: 0o600 });
  } catch (e) {
    // The lock is the first thing a run writes: a folder it cannot write in is said as such, not as an internal file.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS")
      throw new DkError(`${dirname(path)}: the cluster folder is read-only here (${code}): nothing was changed`, "INPUT", {
        hint: "run as a user who can write in it, or copy it to a folder of yours and pass --dir",
      });
    throw e;
  }
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Writes our lock file, taking over one whose owner is dead; false when a live owner holds it. */
async function claimLockFile(dir: string, me: FolderOwner, notify: (line: string) => void): Promise<boolean> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await publish(path, `${JSON.stringify(me)}\n`)) return true;
    const owner = await readOwner(dir);
    if (owner && (await isAlive(owner))) return false;
    notify(`${dir}: took over the lock of ${owner ? `PID ${owner.pid} (${owner.command}), which is no longer running` : "a run that left no owner"}`);
    await unlink(path).catch(() => undefined);
  }
  return false;
}

/** The recorded owner of a folder's lock, if a readable one is there. */
export async function readOwner(dir: string): Promise<FolderOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as FolderOwner;
    return typeof o.pid === "number" && typeof o.command === "string" ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a recorded owner still runs: its PID lives and, where /proc tells, started when the owner did (not a reused PID). */
async function isAlive(owner: FolderOwner): Promise<boolean> {
  if (owner.host !== hostname()) return true; // another machine's process: we can't tell, so it holds the lock
  if (owner.startTime !== undefined) return (await startTimeOf(owner.pid)) === owner.startTime;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A process's start time from /proc/PID/stat (field 22, after the command name in parentheses), or undefined. */
async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
