import { KeyObject, createPrivateKey, createPublicKey, generatePrime, sign, verify } from "node:crypto";
import { PkiError } from "./errors.js";

// OpenSSL 3 makes every RSA key of 2048 bits or more with the SP 800-56B method (auxiliary primes,
// its own checks), which costs about 2.5 times what two random primes of half the size cost; and a
// cluster PKI is 18 RSA keys. Go's rsa.GenerateKey — what kubeadm and cfssl run — only asks for two
// random primes. So we do what Go does: OpenSSL finds the primes (its CSPRNG, sieve and Miller-Rabin
// rounds, top two bits set so the modulus has exactly the requested size), we derive the rest, check
// the FIPS 186-4 conditions, and prove the pair with a signature before handing it out. `bench/pki.mjs`
// measures both ways.

const E = 65537n;

function findPrime(bits: number): Promise<bigint> {
  return new Promise((resolve, reject) => generatePrime(bits, { bigint: true }, (error, prime) => (error ? reject(error) : resolve(prime))));
}

/** Makes an RSA private key of `bits` bits (a multiple of 8, 2048 or more) with public exponent 65537. */
export async function generateRsaKey(bits: number): Promise<KeyObject> {
  for (;;) {
    const [p, q] = await Promise.all([findPrime(bits / 2), findPrime(bits / 2)]);
    const key = rsaKeyFromPrimes(p, q, bits);
    if (key) return key;
  }
}

/**
 * The RSA key made of primes `p` and `q`, or undefined when the pair breaks a condition of FIPS 186-4
 * (B.3.1): a modulus of exactly `bits` bits, e coprime with p-1 and q-1, |p-q| > 2^(bits/2-100),
 * d > 2^(bits/2). The caller draws new primes then, as Go and OpenSSL do.
 */
export function rsaKeyFromPrimes(p: bigint, q: bigint, bits: number): KeyObject | undefined {
  if (p < q) [p, q] = [q, p];
  const n = p * q;
  if (bitLength(n) !== bits || p - q <= 1n << BigInt(bits / 2 - 100)) return undefined;
  if ((p - 1n) % E === 0n || (q - 1n) % E === 0n) return undefined;
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(E, lambda);
  if (d <= 1n << BigInt(bits / 2)) return undefined;
  const key = createPrivateKey({
    format: "jwk",
    key: {
      kty: "RSA",
      n: b64u(n),
      e: b64u(E),
      d: b64u(d),
      p: b64u(p),
      q: b64u(q),
      dp: b64u(d % (p - 1n)),
      dq: b64u(d % (q - 1n)),
      qi: b64u(modInverse(q, p)),
    },
  });
  // Pairwise consistency test (FIPS 140): a key that can't verify its own signature never leaves here.
  const message = Buffer.from("dk-bootstrap pairwise test");
  if (!verify("sha256", message, createPublicKey(key), sign("sha256", message, key))) {
    throw new PkiError("a generated RSA key failed its pairwise consistency test");
  }
  return key;
}

function bitLength(x: bigint): number {
  return x.toString(2).length;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

// Not constant-time: neither is math/big's ModInverse in the Go versions cfssl and kubeadm were built
// with for years, and this runs once per key, on the operator's own machine, with no one to time it.
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1) {
    const k = r0 / r1;
    [r0, r1] = [r1, r0 - k * r1];
    [s0, s1] = [s1, s0 - k * s1];
  }
  if (r0 !== 1n) throw new PkiError("internal error: RSA parameters are not coprime");
  return ((s0 % m) + m) % m;
}

function b64u(x: bigint): string {
  const hex = x.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex").toString("base64url");
}
