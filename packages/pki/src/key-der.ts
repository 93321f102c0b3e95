import { bigIntToBytes, bytesToBigInt, toBase64 } from "./bytes.js";
import { bitString, context, octetString, oid as derOid, sequence as derSequence, unsignedInteger } from "./der.js";

// The private key formats cfssl, kubeadm and OpenSSL write, read and written with DER alone, for runtimes
// whose only crypto is WebCrypto (which imports and exports PKCS#8 and JWK, never PKCS#1 or SEC1):
// PKCS#8 (RFC 5208/5958), PKCS#1 RSAPrivateKey (RFC 8017 A.1.2), SEC1 ECPrivateKey (RFC 5915). Writing uses
// der.ts. The reader accepts what OpenSSL's accepts (core-node.test.ts flips bytes and compares verdicts), so that a
// key file is refused or read alike on every runtime.

/** A DER element: its tag and its content. */
export interface Der {
  tag: number;
  content: Uint8Array;
}

/** Thrown for DER that is not what it should be: the caller turns it into an error naming the file. */
export class DerError extends Error {}

/** The elements of DER `bytes` in order, which must fill it exactly: definite lengths only. */
export function readDer(bytes: Uint8Array): Der[] {
  const out: Der[] = [];
  for (let at = 0; at < bytes.length;) {
    const tag = bytes[at]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not used by key formats");
    let len = bytes[at + 1];
    if (len === undefined) throw new DerError("truncated");
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4) throw new DerError("indefinite or oversized length");
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (bytes[start + i] ?? NaN);
      // A long form where a short one would do is BER, not DER; OpenSSL reads it, and so does this.
      if (Number.isNaN(len)) throw new DerError("truncated");
      start += n;
    }
    if (start + len > bytes.length) throw new DerError("truncated");
    out.push({ tag, content: bytes.subarray(start, start + len) });
    at = start + len;
  }
  return out;
}

/** The single element of `bytes`, with the tag expected. */
export function readOne(bytes: Uint8Array, tag: number): Der {
  const all = readDer(bytes);
  if (all.length !== 1 || all[0]!.tag !== tag) throw new DerError(`expected one element of tag 0x${tag.toString(16)}`);
  return all[0]!;
}

/** The children of the SEQUENCE at the start of `bytes`; what follows it is ignored, as OpenSSL's d2i ignores it. */
export function sequence(bytes: Uint8Array): Der[] {
  const first = readDer(bytes.subarray(0, derLength(bytes)))[0];
  if (first?.tag !== 0x30) throw new DerError("expected a SEQUENCE");
  return readDer(first.content);
}

/** The length of the DER element at the start of `bytes`, header included (the whole when it can't be told). */
function derLength(bytes: Uint8Array): number {
  const len = bytes[1] ?? 0;
  if (!(len & 0x80)) return 2 + len;
  const n = len & 0x7f;
  let body = 0;
  for (let i = 0; i < n && n <= 4; i++) body = body * 256 + (bytes[2 + i] ?? 0);
  return n > 4 ? bytes.length : 2 + n + body;
}

/** A non-negative INTEGER's value, minimal encoding required. */
export function integer(el: Der | undefined): bigint {
  if (el?.tag !== 0x02 || el.content.length === 0) throw new DerError("expected an INTEGER");
  const c = el.content;
  if (c[0]! & 0x80) throw new DerError("negative INTEGER");
  if (c.length > 1 && c[0] === 0 && !(c[1]! & 0x80)) throw new DerError("non-minimal INTEGER");
  return bytesToBigInt(c);
}

/** An OBJECT IDENTIFIER's dotted text. */
export function oid(el: Der | undefined): string {
  if (el?.tag !== 0x06 || el.content.length === 0) throw new DerError("expected an OBJECT IDENTIFIER");
  const parts: number[] = [];
  let v = 0;
  for (const b of el.content) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  if (el.content[el.content.length - 1]! & 0x80) throw new DerError("truncated OBJECT IDENTIFIER");
  const first = parts.shift()!;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...parts].join(".");
}

export const OID_RSA = "1.2.840.113549.1.1.1";
export const OID_EC = "1.2.840.10045.2.1";
export const OID_ED25519 = "1.3.101.112";

/** The named curves, by OID, with their sizes in bytes. */
export const CURVE_OIDS: Readonly<Record<string, { name: "P-256" | "P-384" | "P-521"; bytes: number }>> = {
  "1.2.840.10045.3.1.7": { name: "P-256", bytes: 32 },
  "1.3.132.0.34": { name: "P-384", bytes: 48 },
  "1.3.132.0.35": { name: "P-521", bytes: 66 },
};

/** The numbers of an RSA private key. */
export interface RsaNumbers {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qi: bigint;
}

/** A private key as read from its DER, before any check. */
export type ParsedKey =
  | ({ kind: "rsa" } & RsaNumbers)
  | { kind: "ec"; curve: string; d: Uint8Array; point?: Uint8Array }
  | { kind: "ed25519"; seed: Uint8Array; publicKey?: Uint8Array }
  | { kind: "other"; oid: string };

/** A PKCS#1 RSAPrivateKey (two primes: version 0). */
export function parsePkcs1(der: Uint8Array): ParsedKey {
  const f = sequence(der);
  // The version is 0 for two primes; OpenSSL reads the key whatever it says, and so does this.
  if (f.length !== 9 || f[0]?.tag !== 0x02) throw new DerError("not a two-prime RSAPrivateKey");
  const [n, e, d, p, q, dp, dq, qi] = f.slice(1).map(integer) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  return { kind: "rsa", n, e, d, p, q, dp, dq, qi };
}

/** A SEC1 ECPrivateKey; `curveOid` comes from PKCS#8's algorithm when the key is wrapped, else from the key's own parameters. */
export function parseSec1(der: Uint8Array, curveOid?: string): ParsedKey {
  const f = sequence(der);
  // RFC 5915's version is 1; OpenSSL reads any (Go refuses other versions), and a key it reads is read here too.
  if (f[0]?.tag !== 0x02 || f[1]?.tag !== 0x04) throw new DerError("not an ECPrivateKey");
  let curve = curveOid;
  let point: Uint8Array | undefined;
  for (const el of f.slice(2)) {
    if (el.tag === 0xa0) {
      const own = oid(readOne(el.content, 0x06));
      if (curve !== undefined && own !== curve) throw new DerError("the key's curve differs from its algorithm's");
      curve = own;
    } else if (el.tag === 0xa1) {
      const bits = readOne(el.content, 0x03).content;
      if (bits[0] !== 0) throw new DerError("a public key BIT STRING with unused bits");
      point = bits.subarray(1);
    } else throw new DerError("unexpected field in an ECPrivateKey");
  }
  if (curve === undefined) throw new DerError("an ECPrivateKey without its curve");
  return { kind: "ec", curve, d: f[1].content, ...(point ? { point } : {}) };
}

/** A PKCS#8 PrivateKeyInfo or OneAsymmetricKey, unencrypted. */
export function parsePkcs8(der: Uint8Array): ParsedKey {
  const f = sequence(der);
  const alg = f[1]?.tag === 0x30 ? readDer(f[1].content) : [];
  // Any version, as OpenSSL reads it (RFC 5958 has 0 and 1).
  if (f[0]?.tag !== 0x02 || alg.length === 0 || f[2]?.tag !== 0x04) throw new DerError("not a PKCS#8 PrivateKeyInfo");
  const algOid = oid(alg[0]);
  const rest = f.slice(3);
  if (rest.some((el) => el.tag !== 0xa0 && el.tag !== 0x81 && el.tag !== 0xa1)) throw new DerError("unexpected field in a PrivateKeyInfo");
  if (algOid === OID_RSA) {
    // rsaEncryption's parameters are NULL (RFC 8017 A.1). OpenSSL (and Go) read past whatever is there, as long as
    // ASN.1 can decode it: an empty value of a type that can't be empty (an INTEGER, an OID...) is refused.
    if (alg.length > 2 || (alg[1] && alg[1].content.length === 0 && !emptyValueDecodes(alg[1].tag))) throw new DerError("rsaEncryption with broken parameters");
    return parsePkcs1(f[2].content);
  }
  if (algOid === OID_EC) return parseSec1(f[2].content, oid(alg[1]));
  if (algOid === OID_ED25519) {
    const seed = readOne(f[2].content, 0x04).content;
    if (seed.length !== 32 || alg.length !== 1) throw new DerError("not an Ed25519 private key");
    const pub = rest.find((el) => el.tag === 0x81)?.content;
    if (pub && pub[0] !== 0) throw new DerError("a public key BIT STRING with unused bits");
    return { kind: "ed25519", seed, ...(pub ? { publicKey: pub.subarray(1) } : {}) };
  }
  return { kind: "other", oid: algOid };
}

/** An empty value with this tag decodes as ASN.1 ANY: not EOC, BOOLEAN, INTEGER, BIT STRING, OID, ENUMERATED, nor SEQUENCE/SET in primitive form. */
function emptyValueDecodes(tag: number): boolean {
  if (tag & 0xc0) return true;
  const [number, constructed] = [tag & 0x1f, (tag & 0x20) !== 0];
  return !(constructed ? [1, 2, 3, 5, 6, 10] : [0, 1, 2, 3, 6, 10, 16, 17]).includes(number);
}

/** PKCS#8 of an EC key, with its public point when given (without, WebCrypto derives it from the scalar on import). */
export function ecPkcs8(curveOid: string, d: Uint8Array, point?: Uint8Array): Uint8Array<ArrayBuffer> {
  const sec1 = derSequence(unsignedInteger(1), octetString(d), ...(point ? [context(1, true, bitString(point))] : []));
  return derSequence(unsignedInteger(0), derSequence(derOid(OID_EC), derOid(curveOid)), octetString(sec1));
}

/**
 * One PKCS#8 encoding per key, whatever runtime exported it: an EC key's scalar at the curve order's full length
 * (RFC 5915) and its public point included, as OpenSSL writes it. RSA and Ed25519 exports are already the same everywhere.
 */
export function canonicalPkcs8(pkcs8: Uint8Array, spki: Uint8Array): Uint8Array {
  const f = sequence(pkcs8);
  const alg = readDer(f[1]!.content);
  if (oid(alg[0]) !== OID_EC) return pkcs8;
  const curveOid = oid(alg[1]);
  const key = parseSec1(f[2]!.content, curveOid) as { d: Uint8Array };
  return ecPkcs8(curveOid, bigIntToBytes(bytesToBigInt(key.d), CURVE_OIDS[curveOid]!.bytes), spkiKeyBytes(spki));
}

/** PKCS#8 of an Ed25519 seed (RFC 8410). */
export function ed25519Pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer> {
  return derSequence(unsignedInteger(0), derSequence(derOid(OID_ED25519)), octetString(octetString(seed)));
}

/**
 * The traditional form of a PKCS#8 key, as OpenSSL writes it: PKCS#1 for RSA (the wrapped key itself), SEC1 for
 * ECDSA with its curve and public point (`point`, uncompressed, from the key's SubjectPublicKeyInfo).
 */
export function traditionalOf(pkcs8: Uint8Array, point: Uint8Array): { label: "RSA PRIVATE KEY" | "EC PRIVATE KEY"; der: Uint8Array } {
  const f = sequence(pkcs8);
  const algOid = oid(readDer(f[1]!.content)[0]);
  if (algOid === OID_RSA) return { label: "RSA PRIVATE KEY", der: f[2]!.content };
  const curveOid = oid(readDer(f[1]!.content)[1]);
  const key = parseSec1(f[2]!.content, curveOid) as { d: Uint8Array };
  const size = CURVE_OIDS[curveOid]!.bytes;
  // RFC 5915: the scalar is written at the curve order's full length.
  const d = bigIntToBytes(bytesToBigInt(key.d), size);
  return {
    label: "EC PRIVATE KEY",
    der: derSequence(unsignedInteger(1), octetString(d), context(0, true, derOid(curveOid)), context(1, true, bitString(point))),
  };
}

/** The public point (EC) or key bytes (Ed25519) of a SubjectPublicKeyInfo. */
export function spkiKeyBytes(spki: Uint8Array): Uint8Array {
  const bits = sequence(spki)[1];
  if (bits?.tag !== 0x03 || bits.content[0] !== 0) throw new DerError("not a SubjectPublicKeyInfo");
  return bits.content.subarray(1);
}

/** PEM text of DER, 64 columns, with a final newline, as OpenSSL writes it. */
export function toPem(label: string, der: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${toBase64(der).replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END ${label}-----\n`;
}
