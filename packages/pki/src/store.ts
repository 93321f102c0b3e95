import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { FileExistsError } from "./errors.js";

/** How to write one file. */
export interface WriteOptions {
  /** File mode; private keys are 0600. */
  mode: number;
  /** Mode of folders made on the way; 0700 for folders that hold keys. */
  dirMode?: number;
  /** Refuse to replace an existing file (a CA, a private key) unless `force`. */
  protect?: { what: string; force: boolean };
}

/**
 * Writes a file atomically: a temporary file in the same folder, written with its final mode from
 * the start (a key is never readable by others, not even for a moment), fsynced, then renamed over
 * the target. A crash leaves either the old file or the new one, never half of one.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, opts: WriteOptions): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: opts.dirMode ?? 0o755 });
  if (opts.protect && !opts.protect.force && (await exists(path))) throw new FileExistsError(path, opts.protect.what);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", opts.mode);
  try {
    await fh.writeFile(content);
    await fh.chmod(opts.mode); // the umask may have narrowed the mode given to open()
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Makes a folder that holds private keys: 0700, tightened if it already exists. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** True when the path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads a text file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}
