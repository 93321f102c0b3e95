// Seeded mutations of PEM/DER inputs, for the fuzz and damaged-key tests: the same seed gives the same
// inputs on every machine, so a failure names a case that can be replayed.

/** A small seeded PRNG (mulberry32): deterministic, good enough to pick positions and bytes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The label and DER bytes of the first PEM block of `pem`. */
export function pemToDer(pem: string): { label: string; der: Buffer } {
  const m = /-----BEGIN ([^-]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Error("no PEM block");
  return { label: m[1]!, der: Buffer.from(m[2]!.replace(/\s/g, ""), "base64") };
}

/** PEM text of `der` under `label`, 64 characters a line as OpenSSL writes it. */
export function derToPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN ${label}-----\n${(b64.match(/.{1,64}/g) ?? []).join("\n")}\n-----END ${label}-----\n`;
}

/** One DER TLV: where its header starts, where its content starts, and its content's length. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  length: number;
}

/** Every TLV of a DER buffer, depth first (constructed ones and their children), as far as the bytes parse. */
export function tlvs(der: Uint8Array): Tlv[] {
  return walk(der, 0, der.length, true);
}

/** The INTEGERs directly inside the outer SEQUENCE (PKCS#1: version, n, e, d, p, q, dP, dQ, qInv). */
export function topLevelIntegers(der: Uint8Array): Tlv[] {
  const outer = walk(der, 0, der.length, false)[0]!;
  return walk(der, outer.contentStart, outer.contentStart + outer.length, false).filter((t) => t.tag === 0x02);
}

function walk(der: Uint8Array, from: number, to: number, deep: boolean, out: Tlv[] = []): Tlv[] {
  let off = from;
  while (off + 2 <= to) {
    const tag = der[off]!;
    let length = der[off + 1]!;
    let header = 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n === 0 || n > 4 || off + 2 + n > to) return out;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + der[off + 2 + i]!;
      header = 2 + n;
    }
    const contentStart = off + header;
    if (contentStart + length > to) return out;
    out.push({ tag, start: off, contentStart, length });
    if (deep && tag & 0x20) walk(der, contentStart, contentStart + length, true, out);
    off = contentStart + length;
  }
  return out;
}

/** A copy of `der` with the byte at `pos` XOR-ed with `mask` (never 0, so the byte always changes). */
export function flipByte(der: Uint8Array, pos: number, mask: number): Buffer {
  const copy = Buffer.from(der);
  copy[pos] = copy[pos]! ^ (mask & 0xff || 0x01);
  return copy;
}

/** The kinds of damage {@link mutatePem} does. */
export const MUTATIONS = [
  "bit flip",
  "byte flips",
  "truncated DER",
  "length field",
  "tag",
  "wrong PEM label",
  "base64 garbage",
  "truncated PEM",
  "appended bytes",
] as const;

/** One mutated copy of a PEM input, and what was done to it. */
export interface Mutant {
  kind: (typeof MUTATIONS)[number];
  pem: string;
}

/**
 * A damaged copy of `pem`, chosen with `rand`: bit flips, truncations, changed DER lengths and tags,
 * wrong PEM labels, garbage in the base64. The result may by chance still be valid; the tests only
 * ask that whatever comes out is either accepted or refused cleanly.
 */
export function mutatePem(pem: string, rand: () => number, kind: Mutant["kind"] = MUTATIONS[Math.floor(rand() * MUTATIONS.length)]!): Mutant {
  const { label, der } = pemToDer(pem);
  const at = (n: number) => Math.floor(rand() * n);
  switch (kind) {
    case "bit flip":
      return { kind, pem: derToPem(label, flipByte(der, at(der.length), 1 << at(8))) };
    case "byte flips": {
      let d = Buffer.from(der);
      for (let i = 1 + at(4); i > 0; i--) d = flipByte(d, at(d.length), 1 + at(255));
      return { kind, pem: derToPem(label, d) };
    }
    case "truncated DER":
      return { kind, pem: derToPem(label, der.subarray(0, at(der.length))) };
    case "length field": {
      const all = tlvs(der);
      const t = all[at(all.length)]!;
      const d = Buffer.from(der);
      // The last byte of the length field: off by a little, or by a lot.
      const pos = t.contentStart - 1;
      d[pos] = rand() < 0.5 ? (d[pos]! + (rand() < 0.5 ? 1 : 255)) & 0xff : at(256);
      return { kind, pem: derToPem(label, d) };
    }
    case "tag": {
      const all = tlvs(der);
      const d = Buffer.from(der);
      d[all[at(all.length)]!.start] = [0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x30, 0x31, 0xa0, 0xa3, 0x80][at(12)]!;
      return { kind, pem: derToPem(label, d) };
    }
    case "wrong PEM label": {
      const labels = [
        "CERTIFICATE",
        "CERTIFICATE REQUEST",
        "NEW CERTIFICATE REQUEST",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "RSA PRIVATE KEY",
        "PUBLIC KEY",
        "X509 CRL",
      ];
      return { kind, pem: derToPem(labels.filter((l) => l !== label)[at(labels.length - 1)]!, der) };
    }
    case "base64 garbage": {
      const b64 = der.toString("base64").split("");
      for (let i = 1 + at(3); i > 0; i--) b64.splice(at(b64.length), rand() < 0.5 ? 1 : 0, "!*#-=_ \u00e9"[at(8)]!);
      return { kind, pem: `-----BEGIN ${label}-----\n${b64.join("")}\n-----END ${label}-----\n` };
    }
    case "truncated PEM":
      return { kind, pem: pem.slice(0, at(pem.length)) };
    case "appended bytes":
      return { kind, pem: derToPem(label, Buffer.concat([der, Buffer.from([at(256), at(256), at(256)])])) };
  }
}
