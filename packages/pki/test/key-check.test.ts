import { createPrivateKey } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { derToPem, flipByte, pemToDer, prng, topLevelIntegers } from "../../../test-support/mutate.js";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { InputError, KeyPair, type KeySpec } from "../src/index.js";

/** OpenSSL's verdict on a key file: `pkey -check` (which for RSA runs the same checks as `rsa -check`). */
function opensslAccepts(dir: string, name: string, pem: string): boolean {
  const file = join(dir, name);
  writeFileSync(file, pem);
  const r = run(peer("openssl"), ["pkey", "-check", "-noout", "-in", file]);
  return r.status === 0 && /valid/i.test(r.stdout) && !/invalid/i.test(r.stdout);
}

/** Our verdict: KeyPair.fromPem accepts it, or refuses it with an InputError naming the file (nothing else is allowed). */
async function weAccept(pem: string, file: string): Promise<boolean> {
  try {
    await KeyPair.fromPem(pem, { file });
    return true;
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(InputError);
    expect((e as Error).message.startsWith(`${file}: `)).toBe(true);
    expect((e as Error).message).not.toMatch(/\n/);
    return false;
  }
}

describe("a damaged private key is refused where OpenSSL refuses it", () => {
  const dir = tempDir();
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    const specs: Record<string, KeySpec> = { rsa: { algo: "rsa", size: 2048 }, p256: { algo: "ecdsa", size: 256 }, p384: { algo: "ecdsa", size: 384 } };
    for (const [name, spec] of Object.entries(specs)) keys[name] = (await KeyPair.generate(spec)).privateKeyPem("traditional");
    keys.ed25519 = (await KeyPair.generate({ algo: "ed25519", size: 0 })).privateKeyPem();
  });

  it("RSA: one flipped byte in any of n, e, d, p, q, dP, dQ, qInv (openssl: RSA key not ok)", async () => {
    const { label, der } = pemToDer(keys.rsa!);
    const fields = topLevelIntegers(der);
    expect(fields).toHaveLength(9);
    const names = ["n", "e", "d", "p", "q", "dP", "dQ", "qInv"];
    for (const [i, name] of names.entries()) {
      const f = fields[i + 1]!;
      // The last byte: e is 3 bytes long, and a flip there leaves the leading zero alone.
      const pem = derToPem(label, flipByte(der, f.contentStart + f.length - 1, 0x10));
      const r = run(peer("openssl"), ["rsa", "-check", "-noout"], { input: pem });
      expect(r.stdout + r.stderr, name).toMatch(/RSA key not ok/);
      expect(await weAccept(pem, `ca-${name}.key`), name).toBe(false);
    }
  });

  it("RSA, ECDSA and Ed25519: 100 seeded byte flips anywhere in the DER, the same verdict as openssl pkey -check", async () => {
    const rand = prng(9);
    const verdicts: string[] = [];
    for (const [name, count] of [
      ["rsa", 35],
      ["p256", 25],
      ["p384", 20],
      ["ed25519", 20],
    ] as const) {
      const { label, der } = pemToDer(keys[name]!);
      for (let i = 0; i < count; i++) {
        const pos = Math.floor(rand() * der.length);
        const pem = derToPem(label, flipByte(der, pos, 1 + Math.floor(rand() * 255)));
        const theirs = opensslAccepts(dir, `${name}-${i}.key`, pem);
        const ours = await weAccept(pem, `${name}-${i}.key`);
        verdicts.push(`${name}@${pos}: openssl ${theirs ? "ok" : "refuses"}, we ${ours ? "accept" : "refuse"}`);
      }
    }
    expect(verdicts.filter((v) => /ok, we refuse|refuses, we accept/.test(v))).toEqual([]);
    // Most flips damage the key: the test is about those, not about flips that happen to make another valid key.
    expect(verdicts.filter((v) => /refuses, we refuse/.test(v)).length).toBeGreaterThan(60);
  });

  it("ECDSA: a valid public point that is not the private scalar's (openssl: invalid private key)", async () => {
    const a = pemToDer(keys.p256!);
    const b = pemToDer((await KeyPair.generate({ algo: "ecdsa", size: 256 })).privateKeyPem("traditional"));
    // SEC1 for P-256 ends with the 65-byte uncompressed point: keep a's scalar, take b's point.
    const spliced = derToPem(a.label, Buffer.concat([a.der.subarray(0, a.der.length - 65), b.der.subarray(b.der.length - 65)]));
    expect(opensslAccepts(dir, "spliced.key", spliced)).toBe(false);
    await expect(KeyPair.fromPem(spliced, { file: "spliced.key" })).rejects.toThrow(
      /^spliced.key: the private key is damaged: the ECDSA public point is not the one its private scalar gives$/,
    );
  });

  it("accepts whole keys of every kind, in every form", async () => {
    for (const [name, pem] of Object.entries(keys)) {
      expect(opensslAccepts(dir, `${name}.key`, pem), name).toBe(true);
      expect(await weAccept(pem, `${name}.key`), name).toBe(true);
      const pkcs8 = createPrivateKey(pem).export({ type: "pkcs8", format: "pem" }) as string;
      expect(await weAccept(pkcs8, `${name}.pkcs8.key`), name).toBe(true);
    }
  });
});
