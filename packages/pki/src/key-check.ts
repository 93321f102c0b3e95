import { type JsonWebKey, KeyObject, createECDH, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import type { InputLocation } from "./errors.js";
import { damagedKeyError } from "./portable-keys.js";
import { rsaNumbersProblem } from "./rsa-math.js";

// OpenSSL parses a private key without checking that its numbers belong together, and signs with
// whatever it was given: a CA key with one byte of a prime or of d flipped still loads, and OpenSSL's
// RSA-CRT fault check even quietly falls back to d, so what it signs may or may not verify. cfssl and
// kubeadm refuse a key Go's rsa.PrivateKey.Validate rejects; this is the same check (plus ECDSA's and
// Ed25519's), so that a damaged key is refused, with its file named, before anything is signed with it.

/** The OpenSSL curve name of each JWK curve, for deriving a public point from a private scalar. */
const ECDH_CURVES: Record<string, string> = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" };

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * Checks that a private key read from a file is whole: for RSA, see {@link rsaNumbersProblem}; for ECDSA, the
 * public point is the private scalar's; for Ed25519, the public key is the seed's. Then every key must
 * verify a signature it made (FIPS 140's pairwise test). Throws an {@link InputError} naming `where`.
 */
export function checkPrivateKey(key: KeyObject, where: InputLocation = {}): void {
  const problem = keyProblem(key);
  if (problem) throw damagedKeyError(problem, where);
}

function keyProblem(key: KeyObject): string | undefined {
  let jwk: JsonWebKey;
  try {
    jwk = key.export({ format: "jwk" });
  } catch {
    // Node exports every RSA, EC and Ed25519 key as a JWK; the rest is refused later as unsupported.
    return undefined;
  }
  const problem = key.asymmetricKeyType === "rsa" ? rsaProblem(jwk) : key.asymmetricKeyType === "ec" ? ecProblem(jwk) : edProblem(key, jwk);
  return problem ?? pairwiseProblem(key);
}

function rsaProblem(jwk: JsonWebKey): string | undefined {
  const [n, e, d, p, q, dp, dq, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(int);
  return rsaNumbersProblem({ n, e, d, p, q, dp, dq, qi });
}

function ecProblem(jwk: JsonWebKey): string | undefined {
  const curve = ECDH_CURVES[jwk.crv ?? ""];
  // Other curves are refused as unsupported when the key is wrapped.
  if (!curve || jwk.d === undefined || jwk.x === undefined || jwk.y === undefined) return undefined;
  const ecdh = createECDH(curve);
  try {
    ecdh.setPrivateKey(Buffer.from(jwk.d, "base64url"));
  } catch {
    return "the ECDSA private scalar is out of range for its curve";
  }
  const derived = ecdh.getPublicKey();
  const stored = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  return derived.equals(stored) ? undefined : "the ECDSA public point is not the one its private scalar gives";
}

function edProblem(key: KeyObject, jwk: JsonWebKey): string | undefined {
  if (key.asymmetricKeyType !== "ed25519" || jwk.d === undefined || jwk.x === undefined) return undefined;
  const fromSeed = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(jwk.d, "base64url")]), format: "der", type: "pkcs8" });
  return fromSeed.export({ format: "jwk" }).x === jwk.x ? undefined : "the Ed25519 public key is not the one its seed gives";
}

function pairwiseProblem(key: KeyObject): string | undefined {
  const message = Buffer.from("dk-bootstrap pairwise test");
  const hash = key.asymmetricKeyType === "ed25519" ? null : "sha256";
  try {
    if (verify(hash, message, createPublicKey(key), sign(hash, message, key))) return undefined;
  } catch {
    // A key OpenSSL can't sign with is as unusable as one whose signatures don't verify.
  }
  return "a signature made with it does not verify with its own public key";
}

function int(b64u: string | undefined): bigint | undefined {
  return b64u === undefined ? undefined : BigInt(`0x${Buffer.from(b64u, "base64url").toString("hex") || "0"}`);
}
