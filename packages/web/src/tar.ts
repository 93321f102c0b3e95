/**
 * A small ustar writer and reader: the page packs `cluster.tar.gz` and reads the archives `certs` users
 * make with GNU tar, in memory, with no dependency. Only regular files and directories are written; a
 * reader meets more kinds (links, pax headers) and skips what is not a regular file.
 */
import { DkError, concatBytes } from "@dk-bootstrap/pki";

/** One file of an archive, its path relative to the archive's root (`cluster/pki/ca.crt`). */
export interface TarFile {
  path: string;
  content: Uint8Array;
  /** Permission bits, e.g. 0o600. */
  mode: number;
}

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A ustar archive of these files, with a directory entry (mode `dirMode`: a cluster folder's are 0700) before
 * the first file of each directory, as `tar` lists them.
 */
export function writeTar(files: readonly TarFile[], mtime: Date = new Date(), dirMode = 0o700): Uint8Array {
  const parts: Uint8Array[] = [];
  const seen = new Set<string>();
  const secs = Math.floor(mtime.getTime() / 1000);
  for (const f of files) {
    const dirs = f.path.split("/").slice(0, -1);
    for (let i = 1; i <= dirs.length; i++) {
      const dir = `${dirs.slice(0, i).join("/")}/`;
      if (seen.has(dir)) continue;
      seen.add(dir);
      parts.push(header(dir, dirMode, 0, secs, "5"));
    }
    parts.push(header(f.path, f.mode, f.content.length, secs, "0"), f.content);
    const pad = (BLOCK - (f.content.length % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  return concatBytes(...parts);
}

function header(path: string, mode: number, size: number, mtime: number, type: "0" | "5"): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const [prefix, name] = splitName(path);
  put(h, 0, 100, name);
  put(h, 100, 8, octal(mode, 7));
  put(h, 108, 8, octal(0, 7));
  put(h, 116, 8, octal(0, 7));
  put(h, 124, 12, octal(size, 11));
  put(h, 136, 12, octal(mtime, 11));
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  h[156] = type.charCodeAt(0);
  put(h, 257, 6, "ustar");
  put(h, 263, 2, "00");
  put(h, 265, 32, "root");
  put(h, 297, 32, "root");
  put(h, 345, 155, prefix);
  const sum = h.reduce((a, b) => a + b, 0);
  put(h, 148, 8, `${octal(sum, 6)}\0 `);
  return h;
}

/** ustar keeps a path over 100 bytes as prefix + "/" + name, split at a slash. */
function splitName(path: string): [string, string] {
  if (enc.encode(path).length <= 100) return ["", path];
  const cut = path.lastIndexOf("/", path.length - 2);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut < 0 || enc.encode(prefix).length > 155 || enc.encode(name).length > 100) throw new Error(`path too long for a tar archive: ${path}`);
  return [prefix, name];
}

const octal = (n: number, width: number) => n.toString(8).padStart(width, "0");

function put(h: Uint8Array, at: number, len: number, text: string): void {
  h.set(enc.encode(text).subarray(0, len), at);
}

/** A tar archive that cannot be read, with where it went wrong. */
export class TarError extends DkError {
  constructor(message: string) {
    super(message, "TAR");
  }
}

/** The regular files of a ustar/GNU/pax archive, paths without a leading `./`. */
export function readTar(data: Uint8Array): TarFile[] {
  const files: TarFile[] = [];
  let longName: string | undefined;
  let paxPath: string | undefined;
  for (let at = 0; at + BLOCK <= data.length;) {
    const h = data.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const stored = parseInt(text(h, 148, 8).trim() || "0", 8);
    const sum = h.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (stored !== sum) throw new TarError(`not a tar archive (bad header checksum at byte ${at})`);
    const size = parseInt(text(h, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(h[156] || 0x30);
    const body = data.subarray(at + BLOCK, at + BLOCK + size);
    if (body.length < size) throw new TarError(`tar archive cut short (entry at byte ${at} needs ${size} bytes)`);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = dec.decode(body).replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(dec.decode(body))?.[1];
      continue;
    }
    const prefix = text(h, 345, 155);
    const name = longName ?? paxPath ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    longName = paxPath = undefined;
    if (type !== "0" && type !== "\0" && type !== "7") continue;
    files.push({ path: name.replace(/^(\.\/)+/, ""), content: body.slice(), mode: parseInt(text(h, 100, 8).trim() || "0", 8) & 0o7777 });
  }
  return files;
}

function text(h: Uint8Array, at: number, len: number): string {
  const field = h.subarray(at, at + len);
  const end = field.indexOf(0);
  return dec.decode(end < 0 ? field : field.subarray(0, end));
}

/** Gzips bytes with the runtime's CompressionStream (browsers, Node 18+). */
export async function gzip(data: Uint8Array): Promise<Uint8Array> {
  return pipe(data, new CompressionStream("gzip"));
}

/** Gunzips bytes with the runtime's DecompressionStream. */
export async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  return pipe(data, new DecompressionStream("gzip"));
}

async function pipe(data: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** True when the bytes start with gzip's magic number. */
export const isGzip = (data: Uint8Array): boolean => data[0] === 0x1f && data[1] === 0x8b;
