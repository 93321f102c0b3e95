// Byte helpers for the portable core: Buffer is Node's, and the core runs wherever WebCrypto does. Hex and byte order
// are der.ts's (the certificate writer's), exported here with the rest.
import { compareBytes, fromHex, toHex } from "./der.js";

export { compareBytes, fromHex, toHex };

/** The bytes of several arrays, one after the other. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
// Node's decoder takes the URL-safe alphabet too; PEM and kubeconfigs never need it, but what Buffer read, this reads.
B64_VALUE["-".charCodeAt(0)] = 62;
B64_VALUE["_".charCodeAt(0)] = 63;

/** Standard base64 with padding, as Buffer's `toString("base64")`. */
export function toBase64(bytes: Uint8Array): string {
  // btoa (every runtime has it) over a byte string, in slices that stay under the arguments limit; a loop of our own
  // cost a `certs` run 7 ms for its kubeconfigs' embedded PEM.
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Unpadded base64url (JWK's encoding of numbers). */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * Decodes base64 as Buffer.from(text, "base64") does: either alphabet, characters outside it skipped,
 * decoding stopped at the first `=`, leftover bits dropped. Callers that need strict input check it first.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let len = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 61) break;
    const v = code < 128 ? B64_VALUE[code]! : -1;
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[len++] = (acc >> bits) & 0xff;
    }
  }
  return out.slice(0, len);
}

/** The UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

/** A string from bytes, decoded as UTF-8 (invalid sequences become U+FFFD, as with Buffer), Latin-1, UTF-16BE or UTF-32BE. */
export function decodeText(bytes: Uint8Array, encoding: "utf8" | "latin1" | "utf16be" | "utf32be"): string {
  switch (encoding) {
    case "utf8":
      return new TextDecoder().decode(bytes);
    case "latin1": {
      let out = "";
      for (const b of bytes) out += String.fromCharCode(b);
      return out;
    }
    case "utf16be": {
      // An odd length is a damaged BMPString: refused, as Buffer's swap16 refuses it.
      if (bytes.length % 2) throw new RangeError("a UTF-16 string of an odd number of bytes");
      let out = "";
      for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
      return out;
    }
    case "utf32be": {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return String.fromCodePoint(...Array.from({ length: bytes.length >> 2 }, (_, i) => view.getUint32(i * 4)));
    }
  }
}

/**
 * True when both hold the same bytes. The time taken depends on the length only, not on where they differ
 * (timingSafeEqual's property, for comparing keys).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The unsigned big-endian integer of `bytes` (0 for none). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}

/** The unsigned big-endian bytes of `x`, at least `length` long (left-padded with zeros). */
export function bigIntToBytes(x: bigint, length = 0): Uint8Array<ArrayBuffer> {
  const hex = x.toString(16);
  return fromHex((hex.length % 2 ? `0${hex}` : hex).padStart(length * 2, "0"));
}
