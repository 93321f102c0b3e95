import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_SIGNING_CONFIG,
  DkError,
  certinfoJson,
  describeCertificate,
  gencert,
  gencertInitCa,
  loadSigner,
  parseCertificate,
  parseCsr,
  parseCsrJson,
  selectProfile,
  signCsr,
} from "@dk-bootstrap/pki";
import { MUTATIONS, derToPem, flipByte, mutatePem, pemToDer, prng, tlvs } from "../../../test-support/mutate.js";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";

/**
 * Damaged inputs to sign, certinfo and gencert -ca/-ca-key: seeded mutants (bit flips, truncations,
 * changed DER lengths and tags, wrong PEM labels, base64 garbage) run in-process through the library
 * functions the CLI calls, then a sample through the CLI. Before, 7 of 261 CSRs crashed `sign` with
 * WebCrypto's "Invalid keyData" (exit 70); now each is accepted or refused as bad input, in one line
 * naming the file.
 */
describe("fuzzed CSRs, certificates and keys", () => {
  const dir = tempDir();
  const profile = selectProfile(DEFAULT_SIGNING_CONFIG, undefined, "default config");
  const leafJson = () => parseCsrJson('{"CN":"leaf","hosts":["leaf.example"],"key":{"algo":"ecdsa","size":256}}', "leaf-csr.json");
  const inputs: Record<string, string> = {};
  beforeAll(async () => {
    for (const [name, json] of [
      ["ca", '{"CN":"fuzz ca","key":{"algo":"ecdsa","size":256}}'],
      ["rsa-ca", '{"CN":"fuzz rsa ca","key":{"algo":"rsa","size":2048}}'],
    ]) {
      const ca = await gencertInitCa(parseCsrJson(json!, `${name}.json`));
      inputs[`${name}.pem`] = ca.cert;
      inputs[`${name}-key.pem`] = ca.key;
    }
    // CSRs from OpenSSL, one of each key kind, with SANs in an extensionRequest.
    for (const [name, newkey] of [
      ["ec.csr", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]],
      ["rsa.csr", ["-newkey", "rsa:2048"]],
      ["ed.csr", ["-newkey", "ed25519"]],
    ] as const) {
      const r = run(peer("openssl"), [
        "req",
        "-new",
        ...newkey,
        "-nodes",
        "-keyout",
        "/dev/null",
        "-subj",
        "/CN=fuzz/O=system:masters",
        "-addext",
        "subjectAltName=DNS:a.example,IP:192.0.2.1",
      ]);
      expect(r.status, r.stderr).toBe(0);
      inputs[name] = r.stdout;
    }
    const signer = await loadSigner(inputs["ca.pem"]!, inputs["ca-key.pem"]!, { cert: "ca.pem", key: "ca-key.pem" });
    inputs["leaf.pem"] = (await signCsr(inputs["ec.csr"]!, signer, profile)).cert;
    for (const [name, text] of Object.entries(inputs)) writeFileSync(join(dir, name), text);
  });

  /** Runs `f`; a refusal must be a DkError of one line naming `file`. Returns the kind of outcome. */
  async function outcome(file: string, f: () => Promise<unknown>): Promise<"accepted" | "refused" | string> {
    try {
      await f();
      return "accepted";
    } catch (e) {
      if (!(e instanceof DkError)) return `CRASH ${String(e)}`;
      if (e.message.includes("\n") || !e.message.includes(file)) return `BAD MESSAGE ${e.message}`;
      return "refused";
    }
  }

  it("in-process: 300 CSRs through sign and certinfo -csr, 150 certificates through certinfo -cert, 300 CAs and CA keys through gencert: 0 crashes", async () => {
    const rand = prng(261);
    const tally = new Map<string, number>();
    const count = (what: string, result: string) => tally.set(`${what}: ${result}`, (tally.get(`${what}: ${result}`) ?? 0) + 1);
    const signer = await loadSigner(inputs["ca.pem"]!, inputs["ca-key.pem"]!, { cert: "ca.pem", key: "ca-key.pem" });
    const csrs = ["ec.csr", "rsa.csr", "ed.csr"];
    for (let i = 0; i < 300; i++) {
      // Every kind of damage, in turn, on every kind of CSR.
      const m = mutatePem(inputs[csrs[i % 3]!]!, rand, MUTATIONS[i % MUTATIONS.length]);
      count("sign", await outcome("x.csr", () => signCsr(m.pem, signer, profile, { file: "x.csr" })));
      count("certinfo -csr", await outcome("x.csr", () => parseCsr(m.pem, { file: "x.csr" })));
    }
    for (let i = 0; i < 150; i++) {
      const m = mutatePem(inputs[["leaf.pem", "ca.pem", "rsa-ca.pem"][i % 3]!]!, rand, MUTATIONS[i % MUTATIONS.length]);
      count("certinfo -cert", await outcome("x.pem", async () => certinfoJson(parseCertificate(m.pem, { file: "x.pem" }))));
    }
    const files = { cert: "ca.pem", key: "ca-key.pem" };
    for (let i = 0; i < 150; i++) {
      const [cert, key] = i % 2 ? [inputs["ca.pem"]!, inputs["ca-key.pem"]!] : [inputs["rsa-ca.pem"]!, inputs["rsa-ca-key.pem"]!];
      const kind = MUTATIONS[i % MUTATIONS.length];
      const badCert = mutatePem(cert, rand, kind).pem;
      count("gencert -ca", await outcome("ca.pem", async () => gencert(leafJson(), await loadSigner(badCert, key, files), profile)));
      const badKey = mutatePem(key, rand, kind).pem;
      count("gencert -ca-key", await outcome("ca-key.pem", async () => gencert(leafJson(), await loadSigner(cert, badKey, files), profile)));
    }
    const bad = [...tally].filter(([k]) => /: (CRASH|BAD MESSAGE)/.test(k));
    expect(bad).toEqual([]);
    // The mutants mostly damage: each path refused far more than it accepted.
    for (const what of ["sign", "certinfo -csr", "certinfo -cert", "gencert -ca", "gencert -ca-key"])
      expect(tally.get(`${what}: refused`) ?? 0, what).toBeGreaterThan(tally.get(`${what}: accepted`) ?? 0);
  });

  /** Every CLI refusal: exit 1, one `error:` line naming the file (a `hint:` line may follow), nothing on stdout. */
  function expectCleanRefusal(r: { status: number | null; stdout: string; stderr: string }, file: string, label: string) {
    expect(r.status, `${label}: ${r.stderr}`).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0], label).toMatch(/^error: /);
    expect(lines[0], label).toContain(file);
    expect(
      lines.slice(1).every((l) => l.startsWith("hint: ")),
      label,
    ).toBe(true);
    expect(r.stdout, label).toBe("");
  }

  it("a CSR whose EC public point is off its curve (WebCrypto: Invalid keyData) is refused in one line, exit 1", () => {
    const { label, der } = pemToDer(inputs["ec.csr"]!);
    // The SPKI's BIT STRING holds 04 || X || Y: damage Y so the point leaves the curve.
    const point = tlvs(der).find((t) => t.tag === 0x03 && t.length === 98)!;
    writeFileSync(join(dir, "offcurve.csr"), derToPem(label, flipByte(der, point.contentStart + point.length - 1, 0x01)));
    for (const args of [
      ["sign", "-ca=ca.pem", "-ca-key=ca-key.pem", "offcurve.csr"],
      ["certinfo", "-csr=offcurve.csr"],
    ]) {
      const r = dk(args, { cwd: dir });
      expectCleanRefusal(r, "offcurve.csr", args[0]!);
      expect(r.stderr).toMatch(/its public key is damaged/);
      expect(r.stderr).not.toMatch(/keyData|DOMException|bug/);
    }
  });

  it("through the CLI: 2 mutants of each input (every kind of damage once), one line naming the file, exit 1 (or a clean success)", () => {
    const rand = prng(70);
    const cases: [string, string, (f: string) => string[]][] = [
      ["ec.csr", "x.csr", (f) => ["sign", "-ca=ca.pem", "-ca-key=ca-key.pem", f]],
      ["rsa.csr", "y.csr", (f) => ["certinfo", `-csr=${f}`]],
      ["leaf.pem", "z.pem", (f) => ["certinfo", `-cert=${f}`]],
      ["rsa-ca.pem", "bad-ca.pem", (f) => ["gencert", `-ca=${f}`, "-ca-key=rsa-ca-key.pem", "leaf-csr.json"]],
      ["ca-key.pem", "bad-ca-key.pem", (f) => ["gencert", "-ca=ca.pem", `-ca-key=${f}`, "leaf-csr.json"]],
    ];
    writeFileSync(join(dir, "leaf-csr.json"), '{"CN":"leaf","hosts":["leaf.example"],"key":{"algo":"ecdsa","size":256}}');
    let refused = 0;
    for (const [c, [source, file, args]] of cases.entries()) {
      for (let i = 0; i < 2; i++) {
        const m = mutatePem(inputs[source]!, rand, MUTATIONS[(c * 2 + i) % MUTATIONS.length]);
        writeFileSync(join(dir, file), m.pem);
        const r = dk(args(file), { cwd: dir });
        if (r.status === 0) continue;
        refused++;
        expectCleanRefusal(r, file, `${source} ${m.kind}`);
        expect(r.stderr, `${source} ${m.kind}`).not.toMatch(/keyData|DOMException|bug|\n\s+at /);
      }
    }
    expect(refused).toBeGreaterThan(5);
  });

  it("accepts the undamaged inputs", () => {
    const r = dk(["sign", "-ca=ca.pem", "-ca-key=ca-key.pem", "rsa.csr"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(dk(["certinfo", "-cert=leaf.pem"], { cwd: dir }).status).toBe(0);
    expect(readFileSync(join(dir, "ed.csr"), "utf8")).toMatch(/BEGIN CERTIFICATE REQUEST/);
    expect(dk(["certinfo", "-csr=ed.csr"], { cwd: dir }).status).toBe(0);
  });
});
