import type { InputLocation } from "./errors.js";
import type { PrivateKeyFormat, ResolvedKeySpec } from "./key-spec.js";

// The seam between KeyPair and the runtime. The portable backend (portable-keys.ts) needs nothing but WebCrypto;
// the Node build (index.ts) installs node-keys.ts instead, which keeps Node's fast paths: RSA primes from
// OpenSSL on the thread pool, KeyObject's synchronous PEM export and OpenSSL's parsing of every key format.

/** A key pair as a backend hands it to KeyPair. */
export interface KeyMaterial {
  spec: ResolvedKeySpec;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The DER a backend keeps when its runtime can only export keys asynchronously (WebCrypto's exportKey). */
  der?: { pkcs8: Uint8Array; spki: Uint8Array };
}

/** What KeyPair asks of its runtime. */
export interface KeyBackend {
  /** Makes a key pair of a checked spec. */
  generate(spec: ResolvedKeySpec): Promise<KeyMaterial>;
  /** Reads a PEM private key, refusing one that is encrypted, unreadable or damaged, with `where` named. */
  readPrivateKey(pem: string, where: InputLocation): Promise<KeyMaterial>;
  /** The private key as PEM, in `format` (Ed25519 is always PKCS#8). */
  privateKeyPem(key: KeyMaterial, format: PrivateKeyFormat): string;
  /** The public key as a PKIX `PUBLIC KEY` PEM. */
  publicKeyPem(key: KeyMaterial): string;
  /** Wraps a Node KeyObject (the Node backend only). */
  fromKeyObject?(key: unknown, where: InputLocation): Promise<KeyMaterial>;
}

let current: KeyBackend | undefined;

/** Installs the backend every KeyPair uses from now on (the Node entry installs Node's at load). */
export function setKeyBackend(backend: KeyBackend): void {
  current = backend;
}

/** The backend in use; `fallback` (the portable one) until another is installed. */
export function keyBackend(fallback: KeyBackend): KeyBackend {
  return current ?? fallback;
}
