import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsync, mkdirSync, openSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rm, stat, unlink } from "node:fs/promises";
import { promisify } from "node:util";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { PkiError } from "./errors.js";

/**
 * The write-ahead journal of a cluster folder. New files wait in `<dir>/.dk-staging/` (same filesystem,
 * final modes from the start), fsynced; then `journal.json` is written beside them and renamed into
 * place: that rename is the commit point. Then each staged file is renamed over its target and the
 * staging folder is removed. Whoever opens the folder next finishes a committed journal (roll forward)
 * or drops an uncommitted staging folder (roll back), so a kill at any instant leaves the complete old
 * set of files or the complete new one.
 */
export const STAGING_DIR = ".dk-staging";
const JOURNAL = "journal.json";

/** One file of a commit: where it waits, where it goes, and the mode of the folders on the way. */
export interface JournalEntry {
  /** Name inside the staging folder. */
  staged: string;
  /** Path relative to the cluster folder. */
  target: string;
  /** Mode of every folder from the cluster folder down to the file (0700 for folders holding keys). */
  dirMode?: number;
}

/** A file to commit, with its content and mode. */
export interface StagedFile {
  target: string;
  content: string | Uint8Array;
  mode: number;
  dirMode?: number;
}

/**
 * Test-only: `DK_TEST_WRITE_DELAY_MS` pauses before each step of a commit (each staged file, the journal,
 * each rename), so that tests can kill a run at chosen instants of its write phase. Never set it otherwise.
 */
async function testDelay(): Promise<void> {
  if (slowedDown()) await new Promise((r) => setTimeout(r, Number(process.env.DK_TEST_WRITE_DELAY_MS)));
}

function slowedDown(): boolean {
  return Number(process.env.DK_TEST_WRITE_DELAY_MS ?? 0) > 0;
}

/** Writes the files as one all-or-nothing set; returns once they are all in place and durable. */
export async function commitFiles(dir: string, files: StagedFile[]): Promise<void> {
  if (files.length === 0) return;
  const staging = join(dir, STAGING_DIR);
  const entries: JournalEntry[] = files.map((f, i) => ({ staged: `${i}.new`, target: f.target, ...(f.dirMode === undefined ? {} : { dirMode: f.dirMode }) }));
  try {
    const journal = await stage(dir, files, entries);
    renameSync(journal, join(staging, JOURNAL)); // the commit point
  } catch (e) {
    // Not committed: the old set stands, and nothing of this run may stay behind (staged keys included).
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  // From here a failure leaves a committed journal, which the next run that opens the folder completes.
  await syncDir(staging);
  await applyJournal(dir, entries);
}

/**
 * Writes the staged files and the journal (under a temporary name), all fsynced, and makes the targets' folders;
 * returns the journal's path. The journal lists only names, known before any file is written, so it is written
 * beside the files rather than after them: one round of fsyncs on the thread pool instead of two in a row. The
 * commit point stays the rename that follows, once every one of them is durable (the staging folder synced).
 */
async function stage(dir: string, files: StagedFile[], entries: JournalEntry[]): Promise<string> {
  const staging = join(dir, STAGING_DIR);
  mkdirSync(staging, { mode: 0o700 });
  const tmp = join(staging, `${JOURNAL}.${randomBytes(6).toString("hex")}.tmp`);
  const journal = { content: JSON.stringify({ version: 1, entries }), mode: 0o600 };
  const stagedPath = (i: number) => join(staging, entries[i]!.staged);
  if (slowedDown()) {
    // One step at a time, in the order the kill tests name: each staged file, the folders, the journal.
    const writeOne = async (path: string, f: { content: string | Uint8Array; mode: number }) => {
      await testDelay();
      const fd = create(path, f);
      try {
        await syncFile(fd, path);
      } finally {
        closeSync(fd);
      }
    };
    for (const [i, f] of files.entries()) await writeOne(stagedPath(i), f);
    await makeAllFolders(dir, entries);
    await writeOne(tmp, journal);
  } else {
    // Every file is created and written first, then all are fsynced at once on the thread pool: creating a file while
    // others are being synced waits on the filesystem's journal (about twice as long here).
    const paths = [...files.map((_, i) => stagedPath(i)), tmp];
    const fds: number[] = [];
    try {
      for (const [i, f] of files.entries()) fds.push(create(paths[i]!, f));
      fds.push(create(tmp, journal));
    } catch (e) {
      for (const fd of fds) closeSync(fd);
      throw e;
    }
    // Every fsync settles before a failure is reported, so that the clean-up races none of them.
    const settled = await Promise.allSettled([...fds.map((fd, i) => syncFile(fd, paths[i]!)), makeAllFolders(dir, entries)]);
    for (const fd of fds) closeSync(fd);
    for (const r of settled) if (r.status === "rejected") throw r.reason;
  }
  // The staging folder's own name in the cluster folder too: POSIX keeps a new folder's entry only once its parent is synced.
  await Promise.all([syncDir(staging), syncDir(dir)]);
  return tmp;
}

/**
 * Finishes or drops what an interrupted run left: a committed journal is rolled forward, an uncommitted
 * staging folder removed. Returns a note when there was something to do. Call it holding the folder's lock.
 */
export async function recoverJournal(dir: string): Promise<string | undefined> {
  const staging = join(dir, STAGING_DIR);
  let text: string;
  try {
    text = await readFile(join(staging, JOURNAL), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    if (!(await present(staging))) return undefined;
    // Staged files without a journal were never committed; an empty staging folder is a finished commit's last trace.
    const uncommitted = (await readdir(staging)).some((f) => f.endsWith(".new"));
    await rm(staging, { recursive: true, force: true });
    await syncDir(dir);
    return uncommitted ? `${dir}: discarded the files of an interrupted run (it had not committed them; the previous files stand)` : undefined;
  }
  const entries = parseJournal(text, join(staging, JOURNAL));
  await makeAllFolders(dir, entries);
  await applyJournal(dir, entries);
  return `${dir}: completed the interrupted commit of ${entries.length} files`;
}

/** Renames every staged file still waiting into place (the ones already moved are gone from staging), then ends the journal. */
async function applyJournal(dir: string, entries: JournalEntry[]): Promise<void> {
  const staging = join(dir, STAGING_DIR);
  // In any order: the journal, not the order, makes the set whole. Renames without a trip to the thread pool, as in stage().
  for (const e of entries) {
    await testDelay();
    try {
      renameSync(join(staging, e.staged), join(dir, e.target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err; // already moved before an interruption
    }
  }
  // The renames must be durable before the journal that would redo them goes.
  // Each target's folder, and every folder up to the cluster folder: a folder this commit made is kept only once its parent is synced.
  await Promise.all([...new Set(entries.flatMap((e) => foldersUpTo(dir, dirname(join(dir, e.target)))))].map(syncDir));
  await testDelay();
  unlinkSync(join(staging, JOURNAL));
  try {
    rmdirSync(staging); // empty by now
  } catch {
    await rm(staging, { recursive: true, force: true }); // what an interrupted run left there besides
  }
  // Not synced: after a power loss here, the next open finds the journal again and completes it, which changes
  // nothing (every rename is done and durable). One fsync less on every commit.
}

/** `folder` and each folder above it, up to and with `dir`. */
function foldersUpTo(dir: string, folder: string): string[] {
  const out = [folder];
  for (let d = folder; d !== dir && d.length > dir.length;) out.push((d = dirname(d)));
  return out;
}

/** Reads a journal, refusing any target outside the cluster folder. */
function parseJournal(text: string, file: string): JournalEntry[] {
  const bad = (why: string) =>
    new PkiError(`${file}: ${why}`, { hint: "the interrupted run can't be completed: remove the staging folder and run `certs` again" });
  let parsed: { entries?: unknown };
  try {
    parsed = JSON.parse(text) as { entries?: unknown };
  } catch {
    throw bad("not valid JSON");
  }
  if (!Array.isArray(parsed.entries)) throw bad("no entries");
  return parsed.entries.map((e: JournalEntry) => {
    const ok = typeof e.staged === "string" && /^\d+\.new$/.test(e.staged) && typeof e.target === "string" && !isAbsolute(e.target);
    if (!ok || normalize(e.target).split(sep).includes("..")) throw bad(`bad entry ${JSON.stringify(e)}`);
    return e;
  });
}

/** Makes the folders of every entry, each folder once. */
async function makeAllFolders(dir: string, entries: JournalEntry[]): Promise<void> {
  const seen = new Set<string>();
  for (const e of entries) {
    const key = `${dirname(e.target)}\0${e.dirMode}`;
    if (!seen.has(key)) await makeFolders(dir, e);
    seen.add(key);
  }
}

/** Makes the folders from the cluster folder down to an entry's file, with its folder mode when it has one. */
async function makeFolders(dir: string, e: JournalEntry): Promise<void> {
  const parent = dirname(join(dir, e.target));
  await mkdir(parent, { recursive: true, ...(e.dirMode === undefined ? {} : { mode: e.dirMode }) });
  if (e.dirMode === undefined) return;
  // Existing folders are tightened too: a key never sits in a folder others can list.
  for (let d = parent; d.length >= dir.length; d = dirname(d)) {
    await chmod(d, e.dirMode);
    if (d === dir) break;
  }
}

const STRAY_TMP = /^\..+\.[0-9a-f]{12}\.tmp$/;
const STALE_MS = 60_000;

/**
 * Removes what interrupted writes left in the cluster folder: `.NAME.xxxxxxxxxxxx.tmp` files (which may
 * hold private keys) and kubectl's `NAME.lock` files, once older than a minute (a live writer holds
 * them for milliseconds). Returns how many were removed.
 */
export async function removeStrayFiles(dir: string, now = Date.now()): Promise<number> {
  let removed = 0;
  const walk = async (folder: string): Promise<void> => {
    for (const d of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = join(folder, d.name);
      if (d.isDirectory() && d.name !== STAGING_DIR) await walk(path);
      else if (d.isFile() && (STRAY_TMP.test(d.name) || /\.conf\.lock$/.test(d.name))) {
        const age = now - (await stat(path)).mtimeMs;
        if (
          age > STALE_MS &&
          (await unlink(path)
            .then(() => true)
            .catch(() => false))
        )
          removed++;
      }
    }
  };
  await walk(dir);
  return removed;
}

/** Whether an interrupted run left a staging folder. */
export function hasStaging(dir: string): Promise<boolean> {
  return present(join(dir, STAGING_DIR));
}

async function present(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

const fsyncFd = promisify(fsync);

/**
 * Creates a file with its final mode from the start (a key is never readable by others) and writes it; returns the open
 * descriptor, for the caller's fsync. Small files: these calls take microseconds, far less than a trip to the thread
 * pool and back each (about half of a commit's time when each was awaited); only the fsync, which waits for the disk,
 * goes there.
 */
function create(path: string, f: { content: string | Uint8Array; mode: number }): number {
  const fd = openSync(path, "wx", f.mode);
  try {
    writeFileSync(fd, f.content);
    fchmodSync(fd, f.mode); // the umask may have narrowed the mode given to open()
    return fd;
  } catch (e) {
    closeSync(fd);
    throw naming(e, path);
  }
}

/** fsync on a file's open descriptor; a failure names the file. */
function syncFile(fd: number, path: string): Promise<void> {
  return fsyncFd(fd).catch((e: unknown) => {
    throw naming(e, path);
  });
}

/** fsync on a folder, so that the names made or removed in it survive a power loss. */
async function syncDir(path: string): Promise<void> {
  const fd = openSync(path, "r");
  try {
    await syncFile(fd, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * A call on a descriptor (write, fsync) fails without naming its file, which the CLI's one line would then leave out
 * ("ENOSPC: no space left on device, write"): the path is set as an open's error has it.
 */
function naming(e: unknown, path: string): unknown {
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string") (e as NodeJS.ErrnoException).path ??= path;
  return e;
}
