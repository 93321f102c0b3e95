import { InputError } from "@dk-bootstrap/pki";

/**
 * A minimal, deterministic POSIX ustar writer: just what an OCI image archive and its layers need (folders
 * and regular files). Every entry has the same mtime, uid/gid 0 and no user or group names, so the same
 * entries always give the same bytes, and with them the same digests.
 */

/** One entry of a tar: a folder (`dir/`) or a regular file, its path relative (no leading `/`). */
export interface TarEntry {
  path: string;
  /** Absent: a folder. */
  content?: Buffer;
  /** Permission bits (`0o755`); default 0o755 for a folder, 0o644 for a file. */
  mode?: number;
}

const BLOCK = 512;

/** The bytes of a tar holding `entries` in the order given, ended by two zero blocks. */
export function tarBytes(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const isDir = e.content === undefined;
    const size = e.content?.length ?? 0;
    parts.push(header(isDir ? `${e.path.replace(/\/+$/, "")}/` : e.path, e.mode ?? (isDir ? 0o755 : 0o644), size, isDir));
    if (e.content) {
      parts.push(e.content);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/**
 * `entries` with every parent folder added before its children and sorted by path (byte order), folders
 * once each: the order `tar` itself would walk a tree in, and one order only for the same set of files.
 */
export function withParents(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "").replace(/\/+$/, "");
    if (path === "" || path.split("/").some((p) => p === "" || p === "." || p === ".."))
      throw new InputError("a path in an image must name a file below / (no empty, . or .. parts)", { value: e.path });
    if (byPath.has(path)) throw new InputError("a path given twice in one image", { value: e.path });
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const seen = byPath.get(dir);
      if (seen?.content !== undefined) throw new InputError("a path in an image lies under a file", { value: e.path });
      if (!seen) byPath.set(dir, { path: dir });
    }
    byPath.set(path, { ...e, path });
  }
  // Byte order, so `a/b` sorts before `a.b`'s siblings the same way on every machine (no locale).
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

function header(path: string, mode: number, size: number, isDir: boolean): Buffer {
  const h = Buffer.alloc(BLOCK);
  const [prefix, name] = splitName(path);
  h.write(name, 0, 100, "utf8");
  octal(h, 100, 8, mode & 0o7777);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime: the epoch, for every entry
  h.fill(" ", 148, 156); // the checksum counts its own field as spaces
  h.write(isDir ? "5" : "0", 156, 1, "ascii");
  h.write("ustar\u000000", 257, 8, "binary");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "binary");
  return h;
}

/** ustar's two name fields: up to 155 bytes of prefix and 100 of name, cut at a `/`. */
function splitName(path: string): [string, string] {
  const bytes = Buffer.byteLength(path);
  if (bytes <= 100) return ["", path];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const [prefix, name] = [path.slice(0, i), path.slice(i + 1)];
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== "") return [prefix, name];
  }
  throw new InputError("a path too long for a tar header (255 bytes, 100 after the last /)", { value: path });
}

function octal(h: Buffer, at: number, width: number, value: number): void {
  const text = value.toString(8);
  if (text.length > width - 1) throw new InputError("a value too large for a tar header", { value });
  h.write(`${text.padStart(width - 1, "0")}\u0000`, at, width, "ascii");
}
