import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { FileSystemError } from "./errors.js";

/** The operating system's error codes, said in words. */
const MEANING: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of this path is a file, not a folder",
  EISDIR: "is a folder, not a file",
  EEXIST: "already exists",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "name too long",
  EMFILE: "too many open files in this process (ulimit -n)",
  ENFILE: "too many open files on this system",
};

/** A Node system error (ENOENT, EACCES, ...) as one line naming the path, or undefined when it is not one. */
export function describeSystemError(e: unknown, path?: string): FileSystemError | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== "string" || typeof err.syscall !== "string") return undefined;
  const where = path ?? err.path ?? (err as { dest?: string }).dest;
  const what = `${MEANING[err.code] ?? err.code.toLowerCase()} (${err.code}, ${err.syscall})`;
  return where === undefined ? undefined : new FileSystemError(where, what, { cause: e });
}

/**
 * Makes a folder and its missing parents, one at a time, with `mode` for each new one. Unlike
 * `mkdir -p` (Node's `recursive`), it stops at the first folder the system refuses: on /proc or
 * /sys a recursive mkdir can loop forever on ENOENT, and a file in the way is named as such.
 */
export async function ensureFolder(path: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    const found = await stat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw describeSystemError(e, p) ?? e;
      return undefined;
    });
    if (found && !found.isDirectory()) throw new FileSystemError(p, "is a file, not a folder");
    if (found) break;
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      await mkdir(p, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
      const problem = describeSystemError(e, p);
      throw problem ? new FileSystemError(p, `cannot make this folder: ${problem.message.slice(p.length + 2)}`, { cause: e }) : e;
    }
  }
}
