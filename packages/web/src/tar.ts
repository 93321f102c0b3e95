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

/**
 * What the page unpacks at most: a cluster folder is a few dozen files of a few KiB, so an archive past these is no
 * cluster folder, and a small `.tar.gz` that unpacks to gigabytes (gzip packs a run of zeros 1000 to 1) must not
 * take the tab's memory with it.
 */
export const UNPACK_LIMITS = { bytes: 64 << 20, entries: 5000 } as const;

/** The regular files of a ustar/GNU/pax archive, paths without a leading `./`; at most `maxEntries` headers read. */
export function readTar(data: Uint8Array, maxEntries: number = UNPACK_LIMITS.entries): TarFile[] {
  const files: TarFile[] = [];
  let longName: string | undefined;
  let pax: PaxRecords = {};
  let entries = 0;
  for (let at = 0; at + BLOCK <= data.length;) {
    const h = data.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    if (++entries > maxEntries) throw new TarError(`tar archive: more than ${maxEntries} entries: not a cluster folder`);
    const sumText = text(h, 148, 8).trim();
    const sum = h.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (!/^[0-7]+$/.test(sumText) || parseInt(sumText, 8) !== sum) throw new TarError(`not a tar archive (bad header checksum at byte ${at})`);
    const type = String.fromCharCode(h[156] || 0x30);
    const prefix = text(h, 345, 155);
    const name = longName ?? pax.path ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const start = at;
    // Built only for an error: most archives never need it.
    const where = () => `entry ${JSON.stringify(name)} at byte ${start}`;
    // A pax header's size stands for the next entry's ustar field (which cannot hold 8 GiB or more); not for a header's own.
    const size = (type === "x" || type === "g" || type === "L" ? undefined : pax.size) ?? numberField(h, 124, 12, () => `size of ${where()}`);
    const body = data.subarray(at + BLOCK, at + BLOCK + size);
    if (body.length < size) throw new TarError(`tar archive cut short (${where()} needs ${size} bytes)`);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = dec.decode(body).replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      pax = paxRecords(body, where);
      continue;
    }
    longName = undefined;
    pax = {};
    if (type !== "0" && type !== "\0" && type !== "7") continue;
    files.push({ path: name.replace(/^(\.\/)+/, ""), content: body.slice(), mode: numberField(h, 100, 8, () => `mode of ${where()}`) & 0o7777 });
  }
  return files;
}

/** The largest size read: past it a double no longer counts bytes exactly (no archive a page holds comes near). */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/**
 * A numeric field: octal text, or GNU tar's base-256 form when the first byte's high bit is set: big-endian two's
 * complement over the whole field with that bit left out. GNU tar writes it for sizes of 8 GiB and more, uids past
 * 2097151, times before 1970 or after 2242. Anything but a count from 0 to MAX_SIZE is refused, saying `what`.
 */
function numberField(h: Uint8Array, at: number, len: number, what: () => string): number {
  if (h[at]! & 0x80) {
    let value = BigInt(h[at]! & 0x7f);
    for (let i = at + 1; i < at + len; i++) value = (value << 8n) | BigInt(h[i]!);
    if (h[at]! & 0x40) value -= 1n << BigInt(len * 8 - 1);
    if (value < 0n || value > BigInt(MAX_SIZE)) throw new TarError(`tar archive: the ${what()} is out of range (${value})`);
    return Number(value);
  }
  const digits = text(h, at, len).trim();
  if (!/^[0-7]*$/.test(digits)) throw new TarError(`tar archive: the ${what()} is not a number (${JSON.stringify(digits)})`);
  return digits ? parseInt(digits, 8) : 0;
}

interface PaxRecords {
  path?: string;
  size?: number;
}

/**
 * The records of a pax extended header (`where` it is) that matter here: the next entry's path and size. Each record is
 * `LENGTH KEY=VALUE\n`, LENGTH counting its bytes: read by length, since a value may hold a newline (and text that looks
 * like another record); a key given twice is its last value.
 */
function paxRecords(body: Uint8Array, where: () => string): PaxRecords {
  const out: PaxRecords = {};
  for (let at = 0; at < body.length && body[at] !== 0;) {
    const space = body.indexOf(0x20, at);
    const digits = space > at ? dec.decode(body.subarray(at, space)) : "";
    const length = /^\d+$/.test(digits) ? Number(digits) : NaN;
    const record =
      Number.isInteger(length) && at + length <= body.length && body[at + length - 1] === 0x0a
        ? dec.decode(body.subarray(space + 1, at + length - 1))
        : undefined;
    if (record === undefined || space + 1 >= at + length || !record.includes("="))
      throw new TarError(`tar archive: the pax ${where()} has a malformed record at byte ${at} of its body`);
    const key = record.slice(0, record.indexOf("="));
    const value = record.slice(key.length + 1);
    if (key === "path") out.path = value;
    else if (key === "size") {
      if (!/^\d+$/.test(value) || Number(value) > MAX_SIZE)
        throw new TarError(`tar archive: the size record of the pax ${where()} is not a size (${JSON.stringify(value)})`);
      out.size = Number(value);
    }
    at += length;
  }
  return out;
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

/**
 * Gunzips bytes with the runtime's DecompressionStream, reading at most `maxBytes` of output: past that the stream is
 * cancelled and the archive refused, before the rest is ever inflated.
 */
export async function gunzip(data: Uint8Array, maxBytes: number = UNPACK_LIMITS.bytes): Promise<Uint8Array> {
  const reader = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TarError(`a gzip archive that unpacks to more than ${maxBytes / (1 << 20)} MiB: not a cluster folder`);
    }
    chunks.push(value);
  }
  return concatBytes(...chunks);
}

async function pipe(data: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** True when the bytes start with gzip's magic number. */
export const isGzip = (data: Uint8Array): boolean => data[0] === 0x1f && data[1] === 0x8b;
