import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, stat } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { FileExistsError, FileSystemError, PkiError } from "./errors.js";
import { FolderGoneError, type FolderLock, type LockOptions, lockFolder } from "./folder-lock.js";
import { describeSystemError, ensureFolder } from "./folders.js";
import { type StagedFile, commitFiles, hasStaging, recoverJournal, removeStrayFiles } from "./journal.js";
import type { WriteOptions } from "./store.js";

/** Options of {@link openClusterFolder}. */
export interface OpenOptions extends LockOptions {
  /**
   * Only reads (check-expiration): a missing folder is not made, and a folder we may not write is read
   * without the lock, as long as no interrupted run needs finishing there.
   */
  readOnly?: boolean;
  /** The folder must exist already (renew): a missing one is an error, not made. */
  mustExist?: boolean;
}

/**
 * A cluster folder opened for one run: its lock is held, what an interrupted run left has been rolled
 * forward or back, and the files this run stages are written together by {@link ClusterFolder.commit},
 * all of them or none. Reads through {@link ClusterFolder.read} see the staged files, so that one step
 * (the kubeconfigs) can build on what an earlier step (the certificates) staged.
 */
export class ClusterFolder {
  private readonly files = new Map<string, StagedFile>();
  private state: "open" | "committed" | "released" = "open";
  private wrote = false;

  private constructor(
    /** The folder's absolute path. */
    readonly dir: string,
    private readonly lock: FolderLock | undefined,
    private readonly madeDir: boolean,
  ) {}

  /** @internal use {@link openClusterFolder}. */
  static async open(dir: string, options: OpenOptions = {}): Promise<ClusterFolder> {
    const abs = resolve(dir);
    const notify = options.notify ?? ((line: string) => process.stderr.write(`${line}\n`));
    for (;;) {
      let madeDir = false;
      const found = await stat(abs).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw describeSystemError(e, abs) ?? e;
        return undefined;
      });
      if (found && !found.isDirectory()) throw new FileSystemError(abs, "is a file, not a folder");
      if (!found) {
        if (options.mustExist) throw new PkiError(`${abs}: no such cluster folder`, { hint: "run `dk-bootstrap certs --dir DIR` first" });
        if (options.readOnly) return new ClusterFolder(abs, undefined, false);
        madeDir = await makeLastLevel(abs);
      }
      // Until a commit writes in it, a folder this run made is removed whenever the run stops (release() too).
      const unmake = () => (madeDir ? rmdir(abs).catch(() => undefined) : Promise.resolve());
      let lock: FolderLock;
      try {
        lock = await lockFolder(abs, { ...options, notify });
      } catch (e) {
        if (e instanceof FolderGoneError) continue; // the run we waited for failed and removed the folder it made: start again
        await unmake();
        const code = (e as NodeJS.ErrnoException).code;
        if (!options.readOnly || !(code === "EACCES" || code === "EROFS" || code === "EPERM")) throw e;
        if (await hasStaging(abs))
          throw new PkiError(`${abs}: an interrupted run left files to finish, and this user may not write here`, {
            hint: "run the same command as the folder's owner",
          });
        return new ClusterFolder(abs, undefined, false);
      }
      try {
        const note = await recoverJournal(abs);
        if (note) notify(note);
        const strays = await removeStrayFiles(abs);
        if (strays > 0) notify(`${abs}: removed ${strays} temporary or lock files left by interrupted runs`);
      } catch (e) {
        await lock.release();
        await unmake();
        throw e;
      }
      return new ClusterFolder(abs, lock, madeDir);
    }
  }

  /**
   * Adds a file to this run's set. Nothing is written until {@link commit}. A `protect`ed target (a CA,
   * a private key) that exists is refused here, before anything is written, unless forced.
   */
  async stage(path: string, content: string | Uint8Array, options: WriteOptions): Promise<void> {
    await this.stageAll([{ path, content, options }]);
  }

  /**
   * Adds several files, in their order, as {@link stage} does. When several protected targets exist, the first is
   * refused. They are looked up with existsSync (false on any error, as store.ts's exists()): a few microseconds each, where a trip to the thread pool and back
   * costs ~50 (a `certs` looks up ~20).
   */
  async stageAll(files: readonly { path: string; content: string | Uint8Array; options: WriteOptions }[]): Promise<void> {
    this.mustBeOpen();
    const targets = files.map((f) => this.relativeTarget(f.path));
    const refused = files.findIndex(({ options }, i) => options.protect && !options.protect.force && existsSync(resolve(this.dir, targets[i]!)));
    if (refused >= 0) throw new FileExistsError(files[refused]!.path, files[refused]!.options.protect!.what);
    files.forEach(({ content, options }, i) => {
      const target = targets[i]!;
      this.files.set(target, { target, content, mode: options.mode, ...(options.dirMode === undefined ? {} : { dirMode: options.dirMode }) });
    });
  }

  /** A file's text as this run sees it: staged when staged, else on disk; undefined when neither. */
  async read(path: string): Promise<string | undefined> {
    const staged = this.files.get(this.relativeTarget(path));
    if (staged) return typeof staged.content === "string" ? staged.content : Buffer.from(staged.content).toString("utf8");
    try {
      return await readFile(resolve(this.dir, path), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  /** The staged files' paths, relative to the folder. */
  get staged(): string[] {
    return [...this.files.keys()];
  }

  /** Writes every staged file as one set (see journal.ts): after a crash at any instant, the next open sees all of them or none. */
  async commit(): Promise<void> {
    this.mustBeOpen();
    if (this.files.size > 0 && !this.lock) throw new PkiError(`${this.dir}: opened read-only, nothing can be written`);
    await commitFiles(this.dir, [...this.files.values()]);
    this.wrote = this.files.size > 0;
    this.state = "committed";
  }

  /** Gives the folder back. Without a commit, nothing staged is written (and a folder this run made and wrote nothing in is removed). */
  async release(): Promise<void> {
    if (this.state === "released") return;
    this.state = "released";
    this.files.clear();
    await this.lock?.release();
    if (this.madeDir && !this.wrote) await rmdir(this.dir).catch(() => undefined); // only if empty: someone else may have put files there
  }

  private mustBeOpen(): void {
    if (this.state !== "open") throw new Error(`cluster folder ${this.dir} is ${this.state}`);
  }

  private relativeTarget(path: string): string {
    const rel = relative(this.dir, resolve(this.dir, path));
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw new Error(`${path} is not inside the cluster folder ${this.dir}`);
    return rel;
  }
}

/**
 * Makes the cluster folder itself (0700: it holds keys) below parents made as needed, and says whether this run
 * made it. Only the last level is made here, by a plain mkdir (a recursive one spins on /proc), so that a run that
 * fails removes exactly the folder it made; one that another run made at the same instant is not ours.
 */
async function makeLastLevel(abs: string): Promise<boolean> {
  await ensureFolder(dirname(abs), 0o700);
  try {
    await mkdir(abs, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    const problem = describeSystemError(e, abs);
    throw problem ? new FileSystemError(abs, `cannot make this folder: ${problem.message.slice(abs.length + 2)}`, { cause: e }) : e;
  }
}

/** Opens a cluster folder for a run: takes its lock (waiting a bounded time) and finishes what an interrupted run left. */
export function openClusterFolder(dir: string, options: OpenOptions = {}): Promise<ClusterFolder> {
  return ClusterFolder.open(dir, options);
}

/**
 * Runs `work` with the folder open, then commits what it staged and releases the folder; when `work`
 * throws, nothing is written. A caller that already holds the folder passes it as `folder`: its
 * staged files then join the caller's set, committed by the caller.
 */
export async function withClusterFolder<T>(
  dir: string,
  folder: ClusterFolder | undefined,
  work: (f: ClusterFolder) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> {
  if (folder) {
    // A node's folder inside a cluster's (nodes/NAME) joins the cluster folder's set.
    const rel = relative(folder.dir, resolve(dir));
    if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(`${dir} is not inside the open cluster folder ${folder.dir}`);
    return work(folder);
  }
  const opened = await openClusterFolder(dir, options);
  try {
    const result = await work(opened);
    await opened.commit();
    return result;
  } finally {
    await opened.release();
  }
}
