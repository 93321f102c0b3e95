/**
 * A small DER writer and reader (X.690), enough to write an X.509 certificate's TBSCertificate by hand and
 * to read the few fields of a certificate we need while issuing (subject, notAfter, key identifier).
 * Certificates are issued 17 at a time in a process that lives a fraction of a second: an ASN.1 schema library
 * costs more there to load, build its objects and serialize them than the signatures do (`npm run bench:pki`).
 * No `node:` module and no Buffer: the pki core also runs in browsers.
 */

/** Universal tags and the context-specific ones a certificate uses. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Bytes backed by an ArrayBuffer: what WebCrypto takes. */
export type Bytes = Uint8Array<ArrayBuffer>;

const text = new TextEncoder();

/**
 * One TLV: tag, length, then the parts as its content. The length is DER's: one byte below 128, else 0x8N and
 * N big-endian bytes, the fewest that hold it. One allocation, as this runs cold (interpreted) in a short process.
 */
export function tlv(tag: number, ...parts: Uint8Array[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const head = n < 0x80 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : n < 0x1000000 ? 5 : 6;
  const out = new Uint8Array(head + n);
  out[0] = tag;
  if (head === 2) out[1] = n;
  else {
    out[1] = 0x80 | (head - 2);
    for (let i = head - 1, v = n; i >= 2; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  }
  let at = head;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SEQUENCE of the parts, in order. */
export const sequence = (...parts: Uint8Array[]): Bytes => tlv(TAG.SEQUENCE, ...parts);

/** SET OF: DER sorts the encodings of its elements (X.690 11.6), as Go's encoding/asn1 writes a multi-valued RDN. */
export function setOf(...parts: Uint8Array[]): Bytes {
  return tlv(TAG.SET, ...[...parts].sort(compareBytes));
}

/** Byte-wise order, a shorter prefix first: the order of X.690's SET OF. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** A context-specific tag `[n]`: constructed (EXPLICIT, or IMPLICIT over a constructed type) or primitive. */
export const context = (n: number, constructed: boolean, ...parts: Uint8Array[]): Bytes => tlv((constructed ? 0xa0 : 0x80) | n, ...parts);

/** BOOLEAN; DER writes TRUE as 0xff. */
export const boolean = (value: boolean): Bytes => tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));

/** NULL. */
export const nul = (): Bytes => Uint8Array.of(TAG.NULL, 0);

/**
 * INTEGER of a non-negative number given as big-endian bytes (a serial, an ECDSA r or s) or a small number:
 * leading zero bytes are dropped, and a 0x00 is put back in front when the top bit is set, which would
 * otherwise make it negative (Go and OpenSSL refuse both non-minimal and negative serials).
 */
export function unsignedInteger(value: Uint8Array | number): Bytes {
  let bytes: Uint8Array;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative integer: ${value}`);
    const b: number[] = [];
    for (let v = value; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
    bytes = Uint8Array.from(b);
  } else {
    let start = 0;
    while (start < value.length && value[start] === 0) start++;
    bytes = value.subarray(start);
  }
  if (bytes.length === 0) return Uint8Array.of(TAG.INTEGER, 1, 0);
  return bytes[0]! & 0x80 ? tlv(TAG.INTEGER, Uint8Array.of(0), bytes) : tlv(TAG.INTEGER, bytes);
}

const oids = new Map<string, Bytes>();

/** OBJECT IDENTIFIER from its dotted text: the first two arcs in one byte (40a + b), the rest in base 128. */
export function oid(dotted: string): Bytes {
  const known = oids.get(dotted);
  if (known) return known.slice();
  const arcs = dotted.split(".").map((a) => (/^\d+$/.test(a) ? Number(a) : Number.NaN));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a)) || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! > 39))
    throw new RangeError(`not an object identifier: ${dotted}`);
  const out: number[] = [];
  for (const arc of [40 * arcs[0]! + arcs[1]!, ...arcs.slice(2)]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  const der = tlv(TAG.OID, Uint8Array.from(out));
  oids.set(dotted, der);
  return der.slice();
}

/** OCTET STRING. */
export const octetString = (bytes: Uint8Array): Bytes => tlv(TAG.OCTET_STRING, bytes);

/** BIT STRING of whole bytes (a public key, a signature): no unused bits. */
export const bitString = (bytes: Uint8Array): Bytes => tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);

/**
 * A named-bit BIT STRING (KeyUsage): bit i of `flags` is the i-th named bit, the first byte's top bit being bit 0.
 * DER drops trailing zero bits (X.690 11.2.2), so the length and the unused-bits count follow the highest bit set.
 */
export function namedBits(flags: number): Bytes {
  if (flags === 0) return Uint8Array.of(TAG.BIT_STRING, 1, 0);
  const highest = 31 - Math.clz32(flags);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (let i = 0; i <= highest; i++) if (flags & (1 << i)) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return tlv(TAG.BIT_STRING, Uint8Array.of(7 - (highest & 7)), bytes);
}

/** UTF8String. */
export const utf8String = (s: string): Bytes => tlv(TAG.UTF8_STRING, text.encode(s));

/** PrintableString (the caller checks the text: {@link isPrintable}). */
export const printableString = (s: string): Bytes => tlv(TAG.PRINTABLE_STRING, text.encode(s));

/** IA5String (ASCII: DNS names, email addresses and URIs in SANs). */
export const ia5String = (s: string): Bytes => tlv(TAG.IA5_STRING, text.encode(s));

/** Whether a text fits a PrintableString: letters, digits, space and '()+,-./:=? (X.680 41.4; no * or &). */
export function isPrintable(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
}

/**
 * A certificate time as RFC 5280 4.1.2.5 requires: UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050, both in UTC with whole seconds (the milliseconds are dropped, not rounded).
 */
export function time(date: Date): Bytes {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 1950 || year > 9999) throw new RangeError(`a certificate cannot hold the date ${String(date)}`);
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year < 2050 ? tlv(TAG.UTC_TIME, text.encode(`${two(year % 100)}${rest}`)) : tlv(TAG.GENERALIZED_TIME, text.encode(`${year}${rest}`));
}

/** One TLV read from DER: its tag, and where its content starts and ends (offsets into the same bytes). */
export interface Tlv {
  tag: number;
  /** Where the TLV starts (its tag byte). */
  at: number;
  start: number;
  end: number;
}

/** Reads the TLV at `at` (single-byte tags, definite lengths of up to 4 bytes); throws on a TLV that runs past `limit`. */
export function readTlv(der: Uint8Array, at: number, limit = der.length): Tlv {
  if (at + 2 > limit) throw new RangeError("truncated DER");
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new RangeError("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > limit) throw new RangeError("truncated DER");
  return { tag, at, start, end: start + len };
}

/** The TLVs directly inside a constructed TLV, in order. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; at = out[out.length - 1]!.end) out.push(readTlv(der, at, parent.end));
  return out;
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Bytes of hex text (an even number of hex digits). */
export function fromHex(hex: string): Bytes {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new RangeError(`not hex: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
