/**
 * What the user gives the page to look at, read in the page only: a dropped folder (read through
 * webkitGetAsEntry), a .tar.gz or .tar, a kubeconfig or loose PEM files, or the files of a file input.
 */
import { TarError, gunzip, isGzip, readTar } from "./tar.js";

/** Files by path (a folder's name first: `cluster/pki/ca.crt`). */
export type FileSet = Map<string, Uint8Array>;

/** The files of a drop: folders walked, archives unpacked. */
export async function filesOfDrop(items: DataTransferItemList | null, files: FileList | null): Promise<FileSet> {
  const out: FileSet = new Map();
  const entries = items ? [...items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e) : [];
  if (entries.length > 0) {
    for (const e of entries) await walk(e, out);
    return out;
  }
  for (const f of files ? [...files] : []) await addFile(f.webkitRelativePath || f.name, f, out);
  return out;
}

/** The files of an `<input type=file>` (multiple files, or a folder with webkitdirectory). */
export async function filesOfInput(files: FileList): Promise<FileSet> {
  return filesOfDrop(null, files);
}

async function walk(entry: FileSystemEntry, out: FileSet): Promise<void> {
  const path = entry.fullPath.replace(/^\//, "");
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    await addFile(path, file, out);
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns at most 100 entries a call: read until it returns none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const e of batch) await walk(e, out);
  }
}

async function addFile(path: string, file: Blob, out: FileSet): Promise<void> {
  const data = new Uint8Array(await file.arrayBuffer());
  if (/\.(tar\.gz|tgz|tar)$/i.test(path) || isGzip(data)) {
    for (const f of readTar(isGzip(data) ? await gunzip(data) : data)) out.set(f.path, f.content);
    if (out.size === 0) throw new TarError(`${path}: an archive with no files`);
    return;
  }
  out.set(path, data);
}
