import { bigIntToBytes, bytesToBigInt, concatBytes, fromBase64, toBase64Url, utf8 } from "./bytes.js";
import { InputError, type InputLocation } from "./errors.js";
import type { KeyBackend, KeyMaterial } from "./key-backend.js";
import {
  CURVE_OIDS,
  DerError,
  canonicalPkcs8,
  type ParsedKey,
  ecPkcs8,
  ed25519Pkcs8,
  parsePkcs1,
  parsePkcs8,
  parseSec1,
  spkiKeyBytes,
  toPem,
  traditionalOf,
} from "./key-der.js";
import { type ResolvedKeySpec, signatureParams, signingAlgorithm, validateKeySpec } from "./key-spec.js";
import { RSA_E, bitLength, rsaNumbersFromPrimes, rsaNumbersProblem } from "./rsa-math.js";

// Keys with WebCrypto alone: made by generateKey, read from PEM by our own DER code (WebCrypto imports PKCS#8
// and JWK only), checked as key-check.ts checks them on Node, and written from the DER kept at creation
// (WebCrypto exports only asynchronously, and KeyPair's PEM methods are synchronous).

const UNREADABLE = "not a readable PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted)";
const KEY_LABELS = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ED25519 PRIVATE KEY"];

/** The NIST curves y² = x³ − 3x + b over GF(p), with n the order of their base point (a private scalar lies in [1, n−1]). */
const CURVE_PARAMS: Record<string, { p: bigint; b: bigint; n: bigint }> = {
  "P-256": {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  "P-384": {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  "P-521": {
    p: (1n << 521n) - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

/** The error for a key whose parts don't belong together, with the way to see the damage (the same on every runtime). */
export function damagedKeyError(problem: string, where: InputLocation): InputError {
  return new InputError(`the private key is damaged: ${problem}`, where, {
    hint: `restore it from a backup (\`openssl pkey -check -noout -in ${where.file ?? "FILE"}\` shows the damage too)`,
  });
}

/** The key backend that needs nothing but WebCrypto (`globalThis.crypto`): browsers, Deno, Bun, Node. */
export const portableKeyBackend: KeyBackend = {
  async generate(spec) {
    for (;;) {
      const pair = (await crypto.subtle.generateKey(generateParams(spec), true, ["sign", "verify"])) as CryptoKeyPair;
      const material = await withDer(spec, pair.privateKey, pair.publicKey);
      // WebCrypto's RSA keys come from the runtime's own generator: they must meet the conditions ours meet on Node.
      if (spec.algo !== "rsa" || (await rsaMeetsFips(material, spec.size))) return material;
    }
  },

  async readPrivateKey(pem, where) {
    const parsed = parsePem(pem, where);
    return importChecked(parsed, where);
  },

  privateKeyPem(key, format) {
    const { pkcs8, spki } = derOf(key);
    if (format === "pkcs8" || key.spec.algo === "ed25519") return toPem("PRIVATE KEY", pkcs8);
    const { label, der } = traditionalOf(pkcs8, key.spec.algo === "ecdsa" ? spkiKeyBytes(spki) : new Uint8Array());
    return toPem(label, der);
  },

  publicKeyPem(key) {
    return toPem("PUBLIC KEY", derOf(key).spki);
  },
};

function generateParams(spec: ResolvedKeySpec): RsaHashedKeyGenParams | EcKeyGenParams | Algorithm {
  if (spec.algo !== "rsa") return signingAlgorithm(spec);
  return { ...(signingAlgorithm(spec) as RsaHashedImportParams), modulusLength: spec.size, publicExponent: new Uint8Array([1, 0, 1]) };
}

function derOf(key: KeyMaterial): { pkcs8: Uint8Array; spki: Uint8Array } {
  if (!key.der) throw new Error("internal error: a key without its DER reached the portable backend");
  return key.der;
}

async function withDer(spec: ResolvedKeySpec, privateKey: CryptoKey, publicKey: CryptoKey): Promise<KeyMaterial> {
  const [pkcs8, spki] = await Promise.all([crypto.subtle.exportKey("pkcs8", privateKey), crypto.subtle.exportKey("spki", publicKey)]);
  return { spec, privateKey, publicKey, der: { pkcs8: canonicalPkcs8(new Uint8Array(pkcs8), new Uint8Array(spki)), spki: new Uint8Array(spki) } };
}

/** FIPS 186-4's conditions on a new RSA key (the ones rsa.ts checks on the primes it draws), from its own numbers. */
async function rsaMeetsFips(key: KeyMaterial, bits: number): Promise<boolean> {
  const jwk = await crypto.subtle.exportKey("jwk", key.privateKey);
  const [p, q] = [int(jwk.p), int(jwk.q)];
  const derived = rsaNumbersFromPrimes(p, q, bits);
  return derived !== undefined && int(jwk.e) === RSA_E && bitLength(int(jwk.n)) === bits;
}

/** The first PEM block with a private key label, parsed; encrypted keys and any other block are refused. */
function parsePem(pem: string, where: InputLocation): ParsedKey {
  const blocks = pem.matchAll(/-----BEGIN ([^-\r\n]*)-----([\s\S]*?)-----END \1-----/g);
  for (const [, rawLabel, body] of blocks) {
    const label = rawLabel!.toUpperCase() === "ED25519 PRIVATE KEY" ? "ED25519 PRIVATE KEY" : rawLabel!;
    if (!KEY_LABELS.includes(label)) continue;
    // A `Proc-Type: 4,ENCRYPTED` header (or any header) means a traditional encrypted key.
    if (body!.includes(":") || !/^[A-Za-z0-9+/=\s]*$/.test(body!)) break;
    try {
      const der = fromBase64(body!);
      return label === "RSA PRIVATE KEY" ? parsePkcs1(der) : label === "EC PRIVATE KEY" ? parseSec1(der) : parsePkcs8(der);
    } catch (cause) {
      if (cause instanceof DerError) throw new InputError(UNREADABLE, where, { cause });
      throw cause;
    }
  }
  throw new InputError(UNREADABLE, where);
}

/** Imports a parsed key into WebCrypto once its parts are shown to belong together. */
async function importChecked(key: ParsedKey, where: InputLocation): Promise<KeyMaterial> {
  switch (key.kind) {
    case "rsa": {
      const spec = validateKeySpec({ algo: "rsa", size: bitLength(key.n) }, where);
      const problem = rsaNumbersProblem(key);
      if (problem) throw damagedKeyError(problem, where);
      const b = (x: bigint) => toBase64Url(bigIntToBytes(x));
      const jwk: JsonWebKey = { kty: "RSA", n: b(key.n), e: b(key.e), d: b(key.d), p: b(key.p), q: b(key.q), dp: b(key.dp), dq: b(key.dq), qi: b(key.qi) };
      const alg = signingAlgorithm(spec);
      const privateKey = await importOrRefuse(spec, () => crypto.subtle.importKey("jwk", jwk, alg, true, ["sign"]), where);
      const publicKey = await crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n!, e: jwk.e! }, alg, true, ["verify"]);
      return pairwiseChecked(spec, privateKey, publicKey, where);
    }
    case "ec": {
      const curve = CURVE_OIDS[key.curve];
      if (!curve) throw new InputError("unsupported ECDSA curve", { ...where, value: key.curve });
      const spec = validateKeySpec({ algo: "ecdsa", size: curve.name === "P-521" ? 521 : Number(curve.name.slice(2)) }, where);
      const d = bytesToBigInt(key.d);
      const params = CURVE_PARAMS[curve.name]!;
      if (d < 1n || d >= params.n) throw damagedKeyError("the ECDSA private scalar is out of range for its curve", where);
      const alg = signingAlgorithm(spec);
      // The scalar alone makes the private key; the stored point, when there is one, must be the scalar's: a
      // signature made with the scalar then verifies with it, and with no other point.
      const privateKey = await importOrRefuse(spec, () => crypto.subtle.importKey("pkcs8", ecPkcs8(key.curve, key.d), alg, true, ["sign"]), where);
      let publicKey: CryptoKey;
      if (key.point) {
        // Checked here: not every WebCrypto checks a point it imports (Deno's does not).
        const point = uncompressedPoint(key.point, params, curve.bytes);
        if (!point) throw damagedKeyError("the ECDSA public point is not on its curve", where);
        publicKey = await crypto.subtle.importKey("raw", point, alg, true, ["verify"]);
      } else publicKey = await publicOf(privateKey, alg);
      return pairwiseChecked(spec, privateKey, publicKey, where, "the ECDSA public point is not the one its private scalar gives");
    }
    case "ed25519": {
      const spec: ResolvedKeySpec = { algo: "ed25519", size: 0 };
      const alg = signingAlgorithm(spec);
      const privateKey = await importOrRefuse(spec, () => crypto.subtle.importKey("pkcs8", ed25519Pkcs8(key.seed), alg, true, ["sign"]), where);
      const publicKey = await publicOf(privateKey, alg);
      const derived = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
      if (key.publicKey && toBase64Url(key.publicKey) !== toBase64Url(derived))
        throw damagedKeyError("the Ed25519 public key is not the one its seed gives", where);
      return pairwiseChecked(spec, privateKey, publicKey, where);
    }
    case "other":
      throw new InputError("unsupported private key type", { ...where, value: key.oid });
  }
}

async function importOrRefuse(spec: ResolvedKeySpec, importKey: () => Promise<CryptoKey>, where: InputLocation): Promise<CryptoKey> {
  try {
    return await importKey();
  } catch (cause) {
    // WebCrypto's own words ("Invalid keyData") name neither the file nor the problem.
    throw new InputError(`the ${spec.algo.toUpperCase()} private key cannot be used for signing`, where, { cause });
  }
}

/** The public half of an imported private key: its JWK without the private members. */
async function publicOf(privateKey: CryptoKey, alg: Algorithm): Promise<CryptoKey> {
  const { kty, crv, x, y, n, e } = await crypto.subtle.exportKey("jwk", privateKey);
  const jwk = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JsonWebKey;
  return crypto.subtle.importKey("jwk", jwk, alg, true, ["verify"]);
}

/** FIPS 140's pairwise test: the key signs, and its public key verifies what it signed. */
async function pairwiseChecked(
  spec: ResolvedKeySpec,
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  where: InputLocation,
  problem = "a signature made with it does not verify with its own public key",
): Promise<KeyMaterial> {
  const message = utf8("dk-bootstrap pairwise test");
  const params = signatureParams(spec);
  let ok = false;
  try {
    ok = await crypto.subtle.verify(params, publicKey, await crypto.subtle.sign(params, privateKey, message), message);
  } catch {
    // A key WebCrypto can't sign with is as unusable as one whose signatures don't verify.
  }
  if (!ok) throw damagedKeyError(problem, where);
  return withDer(spec, privateKey, publicKey);
}

/**
 * The point as WebCrypto imports it (0x04, X, Y), from SEC1's uncompressed or compressed form, or undefined when it is
 * not a point of the curve. A compressed point's Y is the square root of x³ − 3x + b of the right parity: all three
 * primes are 3 mod 4, so the root is a power.
 */
function uncompressedPoint(point: Uint8Array, curve: { p: bigint; b: bigint }, size: number): Uint8Array<ArrayBuffer> | undefined {
  const { p, b } = curve;
  const x = bytesToBigInt(point.subarray(1, 1 + size));
  if (x >= p) return undefined;
  const rhs = (((modPow(x, 3n, p) - 3n * x + b) % p) + p) % p;
  let y: bigint;
  if (point[0] === 4 && point.length === 1 + 2 * size) y = bytesToBigInt(point.subarray(1 + size));
  else if ((point[0] === 2 || point[0] === 3) && point.length === 1 + size) {
    y = modPow(rhs, (p + 1n) / 4n, p);
    if ((y & 1n) !== BigInt(point[0] & 1)) y = p - y;
  } else return undefined;
  if (y >= p || modPow(y, 2n, p) !== rhs) return undefined;
  return concatBytes(new Uint8Array([4]), bigIntToBytes(x, size), bigIntToBytes(y, size));
}

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  base %= m;
  for (; exp > 0n; exp >>= 1n, base = (base * base) % m) if (exp & 1n) result = (result * base) % m;
  return result;
}

function int(b64u: string | undefined): bigint {
  return bytesToBigInt(fromBase64(b64u ?? ""));
}
