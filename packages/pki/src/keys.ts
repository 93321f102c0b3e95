import { KeyObject, createPrivateKey, createPublicKey, timingSafeEqual } from "node:crypto";
import { InputError, type InputLocation } from "./errors.js";
import { checkPrivateKey } from "./key-check.js";
import { generateRsaKey } from "./rsa.js";
import { crypto } from "./x509.js";

/** Key algorithms, by cfssl's names (`key.algo` in a CSR JSON). */
export type KeyAlgorithm = "rsa" | "ecdsa" | "ed25519";

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

const CURVES: Record<number, string> = { 256: "P-256", 384: "P-384", 521: "P-521" };
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
function signingAlgorithm(spec: ResolvedKeySpec): RsaHashedImportParams | EcKeyImportParams | Algorithm {
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

/** A private/public key pair, usable for signing (WebCrypto) and for writing PEM (Node KeyObject). */
export class KeyPair {
  private constructor(
    /** What the key is. */
    readonly spec: ResolvedKeySpec,
    /** WebCrypto private key, for signing. */
    readonly privateKey: CryptoKey,
    /** WebCrypto public key, for certificates and CSRs. */
    readonly publicKey: CryptoKey,
  ) {}

  /** Makes a new key (`{ algo: "ecdsa" }` is P-256). RSA primes are found on libuv's thread pool, so several keys can be made at once. */
  static async generate(spec: KeySpec): Promise<KeyPair> {
    const checked = validateKeySpec(spec);
    if (checked.algo === "rsa") return KeyPair.fromKeyObject(await generateRsaKey(checked.size));
    const pair = (await crypto.subtle.generateKey(signingAlgorithm(checked), true, ["sign", "verify"])) as CryptoKeyPair;
    return new KeyPair(checked, pair.privateKey, pair.publicKey);
  }

  /**
   * Reads a PEM private key: PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`,
   * or cfssl's `Ed25519 PRIVATE KEY`. Encrypted keys are refused, and so is a key whose parts don't
   * belong together (a damaged file): see {@link checkPrivateKey}.
   */
  static async fromPem(pem: string, where: InputLocation = {}): Promise<KeyPair> {
    let key: KeyObject;
    try {
      // cfssl labels its PKCS#8 Ed25519 keys with a name OpenSSL doesn't know.
      key = createPrivateKey({ key: pem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/gi, "-----$1 PRIVATE KEY-----"), format: "pem" });
    } catch (cause) {
      throw new InputError("not a readable PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted)", where, { cause });
    }
    const spec = keySpecOf(key, where);
    checkPrivateKey(key, where);
    return KeyPair.fromKeyObject(key, where, spec);
  }

  /** Wraps a Node private KeyObject. */
  static async fromKeyObject(key: KeyObject, where: InputLocation = {}, spec: ResolvedKeySpec = keySpecOf(key, where)): Promise<KeyPair> {
    const alg = signingAlgorithm(spec);
    try {
      const der = key.export({ type: "pkcs8", format: "der" });
      const spki = createPublicKey(key).export({ type: "spki", format: "der" });
      const privateKey = await crypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]);
      const publicKey = await crypto.subtle.importKey("spki", spki, alg, true, ["verify"]);
      return new KeyPair(spec, privateKey, publicKey);
    } catch (cause) {
      // WebCrypto's own words ("Invalid keyData") name neither the file nor the problem.
      throw new InputError(`the ${spec.algo.toUpperCase()} private key cannot be used for signing`, where, { cause });
    }
  }

  /** The private key as PEM. `traditional` gives PKCS#1 for RSA and SEC1 (with its curve) for ECDSA; Ed25519 has only PKCS#8. */
  privateKeyPem(format: PrivateKeyFormat = "traditional"): string {
    const key = KeyObject.from(this.privateKey);
    if (format === "pkcs8" || this.spec.algo === "ed25519") return key.export({ type: "pkcs8", format: "pem" }) as string;
    return key.export({ type: this.spec.algo === "rsa" ? "pkcs1" : "sec1", format: "pem" }) as string;
  }

  /** The public key as a PKIX `PUBLIC KEY` PEM (kubeadm's `sa.pub`). */
  publicKeyPem(): string {
    return KeyObject.from(this.publicKey).export({ type: "spki", format: "pem" }) as string;
  }

  /** DER SubjectPublicKeyInfo, to compare keys. */
  async spki(): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.exportKey("spki", this.publicKey));
  }

  /** True when `spki` (DER SubjectPublicKeyInfo, e.g. from a certificate) is this pair's public key. */
  async matches(spki: ArrayBuffer | Uint8Array): Promise<boolean> {
    const mine = await this.spki();
    const theirs = new Uint8Array(spki);
    return mine.length === theirs.length && timingSafeEqual(mine, theirs);
  }
}

/** The algorithm and size of a key, private or public (a certificate's: renew makes the new key like the old one). */
export function keySpecOf(key: KeyObject, where: InputLocation = {}): ResolvedKeySpec {
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
