/**
 * What the user gives the page to look at, read in the page only: a dropped folder, a .tar.gz or .tar, a
 * kubeconfig or loose PEM files, or the files of a file input.
 */
import { TarError, gunzip, isGzip, readTar } from "./tar.js";

/** Files by path (a folder's name first: `cluster/pki/ca.crt`). */
export type FileSet = Map<string, Uint8Array>;

/** The File System Access API's handles, where the browser has them (Chromium): typed here, as TypeScript's DOM lib lacks entries(). */
interface Handle {
  kind: "file" | "directory";
  name: string;
  getFile?(): Promise<File>;
  entries?(): AsyncIterable<[string, Handle]>;
}

/**
 * A drop's items, taken while the drop event runs (the browser empties them after it): the File System Access
 * handles (Chromium: they also read a folder dropped on a page opened from file://, where its readEntries fails with
 * an EncodingError), the older entries (Firefox, Safari), and the plain files.
 */
export interface DropItems {
  handles: Promise<Handle | null>[];
  entries: FileSystemEntry[];
  files: File[];
}

/** Takes a drop's items; call it inside the drop event's handler. */
export function dropItems(dt: DataTransfer | null): DropItems {
  const items = dt ? [...dt.items].filter((i) => i.kind === "file") : [];
  type WithHandle = DataTransferItem & { getAsFileSystemHandle?(): Promise<Handle | null> };
  return {
    handles: items.map((i) => (i as WithHandle).getAsFileSystemHandle?.()).filter((h): h is Promise<Handle | null> => h !== undefined),
    entries: items.map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e),
    files: dt ? [...dt.files] : [],
  };
}

/** The files of a drop: folders walked, archives unpacked, by the first way of reading them that the browser allows. */
export async function filesOfDrop(drop: DropItems): Promise<FileSet> {
  const ways: (() => Promise<FileSet>)[] = [];
  if (drop.handles.length) ways.push(() => read(drop.handles, walkHandle));
  if (drop.entries.length)
    ways.push(() =>
      read(
        drop.entries.map((e) => Promise.resolve(e)),
        walkEntry,
      ),
    );
  ways.push(() => filesOfInput(drop.files));
  let failure: unknown;
  for (const way of ways) {
    try {
      return await way();
    } catch (e) {
      if (e instanceof TarError) throw e;
      failure = e;
    }
  }
  throw failure;
}

async function read<T>(roots: Promise<T | null>[], walk: (root: T, out: FileSet) => Promise<void>): Promise<FileSet> {
  const out: FileSet = new Map();
  for (const root of await Promise.all(roots)) if (root) await walk(root, out);
  return out;
}

/** The files of an `<input type=file>` (multiple files, or a folder with webkitdirectory). */
export async function filesOfInput(files: Iterable<File>): Promise<FileSet> {
  const out: FileSet = new Map();
  for (const f of files) await addFile(f.webkitRelativePath || f.name, f, out);
  return out;
}

async function walkHandle(h: Handle, out: FileSet, dir = ""): Promise<void> {
  const path = `${dir}${h.name}`;
  if (h.kind === "file") return addFile(path, await h.getFile!(), out);
  for await (const [, child] of h.entries!()) await walkHandle(child, out, `${path}/`);
}

async function walkEntry(entry: FileSystemEntry, out: FileSet): Promise<void> {
  const path = entry.fullPath.replace(/^\//, "");
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    return addFile(path, file, out);
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns at most 100 entries a call: read until it returns none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const e of batch) await walkEntry(e, out);
  }
}

async function addFile(path: string, file: Blob, out: FileSet): Promise<void> {
  const data = new Uint8Array(await file.arrayBuffer());
  if (/\.(tar\.gz|tgz|tar)$/i.test(path) || isGzip(data)) {
    const files = readTar(isGzip(data) ? await gunzip(data) : data);
    if (files.length === 0) throw new TarError(`${path}: an archive with no files`);
    for (const f of files) out.set(f.path, f.content);
    return;
  }
  out.set(path, data);
}
