// Byte helpers for the portable core: Buffer is Node's, and the core runs wherever WebCrypto does.

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
// Node's decoder takes the URL-safe alphabet too; PEM and kubeconfigs never need it, but what Buffer read, this reads.
B64_VALUE["-".charCodeAt(0)] = 62;
B64_VALUE["_".charCodeAt(0)] = 63;

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** The bytes of an even-length hex string. */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64 with padding, as Buffer's `toString("base64")`. */
export function toBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i]!, bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + (b === undefined ? "=" : B64[(n >> 6) & 63]!) + (c === undefined ? "=" : B64[n & 63]!);
  }
  return out;
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

/** Byte-wise order, shorter first on a common prefix (Buffer.compare's). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
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
