import { equalBytes } from "./bytes.js";
import type { InputLocation } from "./errors.js";
import { type KeyMaterial, keyBackend } from "./key-backend.js";
import { type KeySpec, type PrivateKeyFormat, type ResolvedKeySpec, validateKeySpec } from "./key-spec.js";
import { portableKeyBackend } from "./portable-keys.js";

export * from "./key-spec.js";

/**
 * A private/public key pair, usable for signing (WebCrypto) and for writing PEM. What makes, reads and writes
 * keys is the runtime's key backend: Node's (node-keys.ts, installed by the Node entry) or the portable one.
 */
export class KeyPair {
  /** What the key is. */
  readonly spec: ResolvedKeySpec;
  /** WebCrypto private key, for signing. */
  readonly privateKey: CryptoKey;
  /** WebCrypto public key, for certificates and CSRs. */
  readonly publicKey: CryptoKey;
  readonly #material: KeyMaterial;

  private constructor(material: KeyMaterial) {
    this.spec = material.spec;
    this.privateKey = material.privateKey;
    this.publicKey = material.publicKey;
    this.#material = material;
  }

  /** Makes a new key (`{ algo: "ecdsa" }` is P-256). On Node, RSA primes are found on libuv's thread pool, so several keys can be made at once. */
  static async generate(spec: KeySpec): Promise<KeyPair> {
    return new KeyPair(await backend().generate(validateKeySpec(spec)));
  }

  /**
   * Reads a PEM private key: PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`,
   * or cfssl's `Ed25519 PRIVATE KEY`. Encrypted keys are refused, and so is a key whose parts don't
   * belong together (a damaged file): n = p·q and the CRT values for RSA, the point for ECDSA, then a
   * signature it makes must verify.
   */
  static async fromPem(pem: string, where: InputLocation = {}): Promise<KeyPair> {
    return new KeyPair(await backend().readPrivateKey(pem, where));
  }

  /** Wraps a Node private KeyObject (Node only). */
  static async fromKeyObject(key: unknown, where: InputLocation = {}): Promise<KeyPair> {
    const b = backend();
    if (!b.fromKeyObject) throw new TypeError("KeyPair.fromKeyObject needs Node's key backend (import @dk-bootstrap/pki on Node)");
    return new KeyPair(await b.fromKeyObject(key, where));
  }

  /** The private key as PEM. `traditional` gives PKCS#1 for RSA and SEC1 (with its curve) for ECDSA; Ed25519 has only PKCS#8. */
  privateKeyPem(format: PrivateKeyFormat = "traditional"): string {
    return backendOf(this.#material).privateKeyPem(this.#material, format);
  }

  /** The public key as a PKIX `PUBLIC KEY` PEM (kubeadm's `sa.pub`). */
  publicKeyPem(): string {
    return backendOf(this.#material).publicKeyPem(this.#material);
  }

  /** DER SubjectPublicKeyInfo, to compare keys. */
  async spki(): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.exportKey("spki", this.publicKey));
  }

  /** True when `spki` (DER SubjectPublicKeyInfo, e.g. from a certificate) is this pair's public key. */
  async matches(spki: ArrayBuffer | Uint8Array): Promise<boolean> {
    return equalBytes(await this.spki(), new Uint8Array(spki));
  }
}

function backend() {
  return keyBackend(portableKeyBackend);
}

/** A key made by the portable backend keeps its DER and is written by it, whatever backend is installed later. */
function backendOf(material: KeyMaterial) {
  return material.der ? portableKeyBackend : backend();
}
