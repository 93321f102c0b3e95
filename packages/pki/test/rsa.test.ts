import { checkPrimeSync, generatePrimeSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { KeyPair } from "../src/index.js";
import { generateRsaKey, rsaKeyFromPrimes } from "../src/rsa.js";

const E = 65537n;
const big = (b64u: string | undefined) => BigInt(`0x${Buffer.from(b64u!, "base64url").toString("hex")}`);
const prime = (bits: number) => generatePrimeSync(bits, { bigint: true });

describe("RSA keys from two primes, as Go makes them", () => {
  it.each([2048, 3072])("makes %i-bit keys that OpenSSL checks and that meet FIPS 186-4's conditions", async (bits) => {
    const dir = tempDir();
    const keys = await Promise.all([generateRsaKey(bits), generateRsaKey(bits)]);
    for (const [i, key] of keys.entries()) {
      expect(key.asymmetricKeyDetails).toMatchObject({ modulusLength: bits, publicExponent: E });
      const file = join(dir, `${i}.pem`);
      writeFileSync(file, key.export({ type: "pkcs1", format: "pem" }));
      // `openssl rsa -check` tests primality of p and q and every CRT value.
      const check = run(peer("openssl"), ["rsa", "-check", "-noout", "-in", file]);
      expect(check.stdout + check.stderr).toMatch(/RSA key ok/);

      const jwk = key.export({ format: "jwk" });
      const [n, d, p, q] = [big(jwk.n), big(jwk.d), big(jwk.p), big(jwk.q)];
      expect(p * q).toBe(n);
      expect(n.toString(2)).toHaveLength(bits);
      expect(p > q && p - q > 1n << BigInt(bits / 2 - 100)).toBe(true);
      expect([(d * E) % (p - 1n), (d * E) % (q - 1n)]).toEqual([1n, 1n]);
      expect(d > 1n << BigInt(bits / 2)).toBe(true);
      expect((big(jwk.qi) * q) % p).toBe(1n);
    }
    expect(keys[0]!.export({ format: "jwk" }).n).not.toBe(keys[1]!.export({ format: "jwk" }).n);
  });

  it("turns a good pair of primes into the key they make", () => {
    const [p, q] = [prime(256), prime(256)];
    const jwk = rsaKeyFromPrimes(p, q, 512)!.export({ format: "jwk" });
    expect(big(jwk.n)).toBe(p * q);
    expect([big(jwk.p), big(jwk.q)].sort()).toEqual([p, q].sort());
  });

  it("refuses pairs that break FIPS 186-4's conditions, so new primes are drawn", () => {
    const p = prime(256);
    let close = p + 2n;
    while (!checkPrimeSync(close)) close += 2n;
    expect(rsaKeyFromPrimes(p, p, 512)).toBeUndefined();
    expect(rsaKeyFromPrimes(p, close, 512)).toBeUndefined();
    // Too short a modulus: primes without their top bits set.
    expect(rsaKeyFromPrimes(prime(255), prime(255), 512)).toBeUndefined();
    // e must be coprime with p-1: a prime p with p ≡ 1 (mod 2e).
    const bad = generatePrimeSync(256, { bigint: true, add: 2n * E, rem: 1n });
    expect((bad - 1n) % E).toBe(0n);
    expect(rsaKeyFromPrimes(bad, prime(256), 512)).toBeUndefined();
  });

  it("KeyPair.generate gives RSA pairs that sign and verify, written as cfssl writes them", async () => {
    const pair = await KeyPair.generate({ algo: "rsa", size: 2048 });
    const data = new TextEncoder().encode("dk-bootstrap");
    const alg = { name: "RSASSA-PKCS1-v1_5" };
    const signature = await crypto.subtle.sign(alg, pair.privateKey, data);
    expect(await crypto.subtle.verify(alg, pair.publicKey, signature, data)).toBe(true);
    expect(pair.privateKeyPem()).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
  });
});
