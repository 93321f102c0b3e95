import { readFile, rmdir } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { FileExistsError, PkiError } from "./errors.js";
import { FolderGoneError, type FolderLock, type LockOptions, lockFolder } from "./folder-lock.js";
import { ensureFolder } from "./folders.js";
import { type StagedFile, commitFiles, hasStaging, recoverJournal, removeStrayFiles } from "./journal.js";
import { type WriteOptions, exists } from "./store.js";

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
      if (!(await exists(abs))) {
        if (options.mustExist) throw new PkiError(`${abs}: no such cluster folder`, { hint: "run `dk-bootstrap certs --dir DIR` first" });
        if (options.readOnly) return new ClusterFolder(abs, undefined, false);
        // A folder that holds keys: 0700 from the start.
        await ensureFolder(abs, 0o700);
        madeDir = true;
      }
      let lock: FolderLock;
      try {
        lock = await lockFolder(abs, { ...options, notify });
      } catch (e) {
        if (e instanceof FolderGoneError) continue; // the run we waited for failed and removed the folder it made: start again
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
   * Adds several files, in their order, as {@link stage} does. The protected targets are looked up all at once (a
   * stat each, on the thread pool, rather than one after the other); when several exist, the first is refused.
   */
  async stageAll(files: readonly { path: string; content: string | Uint8Array; options: WriteOptions }[]): Promise<void> {
    this.mustBeOpen();
    const targets = files.map((f) => this.relativeTarget(f.path));
    const taken = await Promise.all(
      files.map(({ options }, i) => (options.protect && !options.protect.force ? exists(resolve(this.dir, targets[i]!)) : false)),
    );
    const refused = taken.indexOf(true);
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
