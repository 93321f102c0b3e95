import { InputError, type InputLocation } from "./errors.js";

/**
 * The key algorithms, by cfssl's names (`key.algo` in a CSR JSON), in the order they are offered: the one list
 * that `--key-algo`, the cluster file's `pki.keyAlgorithm` and the page's choices check against.
 */
export const KEY_ALGORITHMS = ["rsa", "ecdsa", "ed25519"] as const;

/** A key algorithm, by cfssl's name: one of {@link KEY_ALGORITHMS}. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/**
 * What key to make: cfssl's `key` object. `size` is bits for RSA (default 2048), the curve size for ECDSA
 * (default 256, P-256); Ed25519 has no size.
 */
export interface KeySpec {
  algo: KeyAlgorithm;
  size?: number;
}

/** A key spec with its size settled (0 for Ed25519): what {@link validateKeySpec} returns and a {@link KeyPair} holds. */
export interface ResolvedKeySpec extends KeySpec {
  size: number;
}

/** The size a {@link KeySpec} without one gets: Go's and kubeadm's RSA-2048, and P-256. */
export const DEFAULT_KEY_SIZES: Readonly<Record<KeyAlgorithm, number>> = { rsa: 2048, ecdsa: 256, ed25519: 0 };

/** How a private key is written: PKCS#8 `PRIVATE KEY`, or the traditional `RSA/EC PRIVATE KEY` cfssl and kubeadm write. */
export type PrivateKeyFormat = "pkcs8" | "traditional";

/** The WebCrypto curve of each ECDSA size. */
export const CURVES: Readonly<Record<number, "P-256" | "P-384" | "P-521">> = { 256: "P-256", 384: "P-384", 521: "P-521" };
const CURVE_SIZES: Record<string, number> = { "P-256": 256, "P-384": 384, "P-521": 521, prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** The default cfssl uses when a CSR JSON has no `key`. */
export const DEFAULT_KEY_SPEC: ResolvedKeySpec = { algo: "ecdsa", size: 256 };

/**
 * Checks a key spec the way cfssl does, but with a clear error: RSA 2048 to 8192 bits,
 * ECDSA on P-256, P-384 or P-521, Ed25519 with any size. A missing size gets {@link DEFAULT_KEY_SIZES}.
 */
export function validateKeySpec(spec: KeySpec, where: InputLocation = {}): ResolvedKeySpec {
  const size = spec.size ?? DEFAULT_KEY_SIZES[spec.algo];
  switch (spec.algo) {
    case "rsa":
      if (!Number.isInteger(size) || size < 2048 || size > 8192 || size % 8 !== 0) {
        throw new InputError("RSA key size must be a multiple of 8 from 2048 to 8192", { ...where, field: fieldOf(where, "size"), value: size });
      }
      return { algo: "rsa", size };
    case "ecdsa":
      if (!CURVES[size]) {
        throw new InputError("ECDSA key size must be 256, 384 or 521", { ...where, field: fieldOf(where, "size"), value: size });
      }
      return { algo: "ecdsa", size };
    case "ed25519":
      return { algo: "ed25519", size: 0 };
    default:
      throw new InputError("key algorithm must be rsa, ecdsa or ed25519", { ...where, field: fieldOf(where, "algo"), value: (spec as KeySpec).algo });
  }
}

function fieldOf(where: InputLocation, leaf: string): string {
  return where.field ? `${where.field}.${leaf}` : leaf;
}

/** The WebCrypto algorithm a key signs with; the hash follows the key size as cfssl chooses it. */
export function signingAlgorithm(spec: ResolvedKeySpec): RsaHashedImportParams | EcKeyImportParams | Algorithm {
  switch (spec.algo) {
    case "rsa":
      return { name: "RSASSA-PKCS1-v1_5", hash: spec.size >= 4096 ? "SHA-512" : spec.size >= 3072 ? "SHA-384" : "SHA-256" };
    case "ecdsa":
      return { name: "ECDSA", namedCurve: CURVES[spec.size]! };
    case "ed25519":
      return { name: "Ed25519" };
  }
}

/** The hash to pass along with an ECDSA signature (WebCrypto binds it per call, not per key). */
export function signatureParams(spec: ResolvedKeySpec): Algorithm | EcdsaParams {
  if (spec.algo === "ecdsa") return { name: "ECDSA", hash: spec.size === 384 ? "SHA-384" : spec.size === 521 ? "SHA-512" : "SHA-256" };
  return signingAlgorithm(spec);
}

/** The form a PEM private key is in, by its label: `RSA`/`EC PRIVATE KEY` are traditional, the rest PKCS#8. */
export function privateKeyFormatOf(pem: string): PrivateKeyFormat {
  return /-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(pem) ? "traditional" : "pkcs8";
}

/**
 * What {@link keySpecOf} reads of a key: a Node `KeyObject` has these (described here by shape, so that this
 * module needs no `node:` import).
 */
export interface AsymmetricKeyInfo {
  asymmetricKeyType?: string | undefined;
  asymmetricKeyDetails?: { modulusLength?: number | undefined; namedCurve?: string | undefined } | undefined;
}

/** The algorithm and size of a key, private or public (a certificate's: renew makes the new key like the old one). */
export function keySpecOf(key: AsymmetricKeyInfo, where: InputLocation = {}): ResolvedKeySpec {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "rsa":
      return validateKeySpec({ algo: "rsa", size: details.modulusLength ?? 0 }, where);
    case "ec": {
      const size = CURVE_SIZES[details.namedCurve ?? ""];
      if (!size) throw new InputError("unsupported ECDSA curve", { ...where, value: details.namedCurve });
      return { algo: "ecdsa", size };
    }
    case "ed25519":
      return { algo: "ed25519", size: 0 };
    default:
      throw new InputError("unsupported private key type", { ...where, value: key.asymmetricKeyType });
  }
}
