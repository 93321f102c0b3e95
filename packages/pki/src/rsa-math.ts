import type { RsaNumbers } from "./key-der.js";

// The arithmetic of RSA keys that every runtime shares: the FIPS 186-4 conditions a new key must meet, and
// the consistency of a key read from a file (what Go's rsa.PrivateKey.Validate and `openssl rsa -check` check).

/** The public exponent of every key made here, as Go, OpenSSL and WebCrypto callers use. */
export const RSA_E = 65537n;

/** The number of bits of a positive integer. */
export function bitLength(x: bigint): number {
  return x.toString(2).length;
}

/** Greatest common divisor. */
export function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

// Not constant-time: neither is math/big's ModInverse in the Go versions cfssl and kubeadm were built
// with for years, and this runs once per key, on the operator's own machine, with no one to time it.
/** a⁻¹ mod m, or undefined when they are not coprime. */
export function modInverse(a: bigint, m: bigint): bigint | undefined {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1) {
    const k = r0 / r1;
    [r0, r1] = [r1, r0 - k * r1];
    [s0, s1] = [s1, s0 - k * s1];
  }
  return r0 === 1n ? ((s0 % m) + m) % m : undefined;
}

/**
 * The whole key made of primes `p` and `q` (p > q) with e = 65537, or undefined when the pair breaks a condition of
 * FIPS 186-4 (B.3.1): a modulus of exactly `bits` bits, e coprime with p-1 and q-1, |p-q| > 2^(bits/2-100),
 * d > 2^(bits/2). The caller draws new primes then, as Go and OpenSSL do.
 */
export function rsaNumbersFromPrimes(p: bigint, q: bigint, bits: number): RsaNumbers | undefined {
  if (p < q) [p, q] = [q, p];
  const n = p * q;
  if (bitLength(n) !== bits || p - q <= 1n << BigInt(bits / 2 - 100)) return undefined;
  if ((p - 1n) % RSA_E === 0n || (q - 1n) % RSA_E === 0n) return undefined;
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(RSA_E, lambda);
  if (d === undefined || d <= 1n << BigInt(bits / 2)) return undefined;
  return { n, e: RSA_E, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qi: modInverse(q, p)! };
}

/**
 * What is wrong with an RSA key's numbers, or undefined: n = p·q, e·d ≡ 1 mod lcm(p−1, q−1) and the CRT values
 * agree with d (short of proving p and q prime, which no single damaged byte can fake since n = p·q would then fail).
 */
export function rsaNumbersProblem(k: Partial<RsaNumbers>): string | undefined {
  const { n, e, d, p, q, dp, dq, qi } = k;
  if (n === undefined || e === undefined || d === undefined) return "RSA key without n, e or d";
  if (p === undefined || q === undefined || dp === undefined || dq === undefined || qi === undefined) return "RSA key without its primes and CRT values";
  if (e < 3n || e % 2n === 0n) return "the RSA public exponent e is not an odd number above 1";
  if (p < 2n || q < 2n || p * q !== n) return "the RSA modulus n is not p*q";
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  if ((d * e) % lambda !== 1n) return "the RSA exponents d and e are not inverses (d*e mod lcm(p-1, q-1) is not 1)";
  if (dp !== d % (p - 1n)) return "the RSA CRT exponent dP is not d mod (p-1)";
  if (dq !== d % (q - 1n)) return "the RSA CRT exponent dQ is not d mod (q-1)";
  if ((qi * q) % p !== 1n) return "the RSA CRT coefficient qInv is not the inverse of q mod p";
  return undefined;
}
