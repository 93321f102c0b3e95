import { KeyObject, createPrivateKey, createPublicKey, generatePrime, sign, verify } from "node:crypto";
import { toBase64Url, bigIntToBytes } from "./bytes.js";
import { PkiError } from "./errors.js";
import { rsaNumbersFromPrimes } from "./rsa-math.js";

// OpenSSL 3 makes every RSA key of 2048 bits or more with the SP 800-56B method (auxiliary primes,
// its own checks), which costs about 2.5 times what two random primes of half the size cost; and a
// cluster PKI is 18 RSA keys. Go's rsa.GenerateKey — what kubeadm and cfssl run — only asks for two
// random primes. So we do what Go does: OpenSSL finds the primes (its CSPRNG, sieve and Miller-Rabin
// rounds, top two bits set so the modulus has exactly the requested size), we derive the rest, check
// the FIPS 186-4 conditions, and prove the pair with a signature before handing it out. `bench/pki.mjs`
// measures both ways. This is the Node build's way; the portable core asks WebCrypto (portable-keys.ts).

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
 * (see {@link rsaNumbersFromPrimes}). The caller draws new primes then, as Go and OpenSSL do.
 */
export function rsaKeyFromPrimes(p: bigint, q: bigint, bits: number): KeyObject | undefined {
  const k = rsaNumbersFromPrimes(p, q, bits);
  if (!k) return undefined;
  const b64u = (x: bigint) => toBase64Url(bigIntToBytes(x));
  const key = createPrivateKey({
    format: "jwk",
    key: { kty: "RSA", n: b64u(k.n), e: b64u(k.e), d: b64u(k.d), p: b64u(k.p), q: b64u(k.q), dp: b64u(k.dp), dq: b64u(k.dq), qi: b64u(k.qi) },
  });
  // Pairwise consistency test (FIPS 140): a key that can't verify its own signature never leaves here.
  const message = Buffer.from("dk-bootstrap pairwise test");
  if (!verify("sha256", message, createPublicKey(key), sign("sha256", message, key))) {
    throw new PkiError("a generated RSA key failed its pairwise consistency test");
  }
  return key;
}
