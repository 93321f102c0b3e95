import { cpSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { derToPem, flipByte, pemToDer, topLevelIntegers } from "../../../test-support/mutate.js";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";

/** Every file under `root` with its bytes, to prove a refused run wrote nothing. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p, "latin1"));
    }
  };
  walk(root);
  return out;
}

function expectRefused(r: { status: number | null; stdout: string; stderr: string }, file: RegExp) {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(file);
  expect(lines[0]).toMatch(/the private key is damaged: /);
  expect(lines.slice(1).every((l) => l.startsWith("hint: "))).toBe(true);
  expect(r.stdout).not.toMatch(/BEGIN/);
}

/**
 * A CA key with one damaged byte, as a disk or a bad copy leaves it: OpenSSL still loads it, and
 * before the check every command signed with it (`certs renew all` rewrote 34 files, exit 0).
 */
describe.each([
  // RSA is the point here: one byte of the prime p, which `openssl rsa -check` calls "RSA key not ok".
  ["rsa", /RSA key not ok/],
  // ECDSA: one byte of the private scalar; the public point (and so the certificate) still matches.
  ["ecdsa", /Key is invalid/],
])("a damaged %s CA key", (algo, opensslSays) => {
  const base = tempDir();
  const ca = (d: string) => join(d, "cluster", "pki", "ca.key");
  const copy = () => {
    const d = tempDir();
    cpSync(base, d, { recursive: true });
    return d;
  };
  beforeAll(() => {
    const r = dk(["certs", "--key-algo", algo, "--node-ip", "192.0.2.7"], { cwd: base });
    expect(r.status, r.stderr).toBe(0);
    const { label, der } = pemToDer(readFileSync(ca(base), "utf8"));
    // PKCS#1: version, n, e, d, p, ...; SEC1: version, then the scalar as an OCTET STRING at byte 7.
    const pos = algo === "rsa" ? topLevelIntegers(der)[4]!.contentStart + 40 : 7 + 10;
    writeFileSync(ca(base), derToPem(label, flipByte(der, pos, 0x10)), { mode: 0o600 });
    const check = run(peer("openssl"), ["pkey", "-check", "-noout", "-in", ca(base)]);
    const rsaCheck = algo === "rsa" ? run(peer("openssl"), ["rsa", "-check", "-noout", "-in", ca(base)]) : check;
    expect(check.status).not.toBe(0);
    expect(rsaCheck.stdout + rsaCheck.stderr).toMatch(opensslSays);
  });

  it("certs renew all refuses it, naming the file, and writes nothing", () => {
    const d = copy();
    const before = snapshot(d);
    expectRefused(dk(["certs", "renew", "all"], { cwd: d }), /cluster\/pki\/ca\.key: /);
    expect(snapshot(d)).toEqual(before);
  });

  it("certs re-run with the existing CA refuses it and writes nothing", () => {
    const d = copy();
    const before = snapshot(d);
    expectRefused(dk(["certs", "--key-algo", algo, "--node-ip", "192.0.2.7"], { cwd: d }), /cluster\/pki\/ca\.key: /);
    expect(snapshot(d)).toEqual(before);
  });

  it("gencert -ca -ca-key and sign refuse it", () => {
    const d = copy();
    writeFileSync(join(d, "leaf-csr.json"), '{"CN":"leaf","hosts":["leaf.example"],"key":{"algo":"ecdsa","size":256}}');
    const args = ["-ca=cluster/pki/ca.crt", "-ca-key=cluster/pki/ca.key"];
    expectRefused(dk(["gencert", ...args, "leaf-csr.json"], { cwd: d }), /^error: cluster\/pki\/ca\.key: /);
    const csr = run(peer("openssl"), [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "/dev/null",
      "-subj",
      "/CN=leaf",
    ]);
    writeFileSync(join(d, "leaf.csr"), csr.stdout);
    expectRefused(dk(["sign", ...args, "leaf.csr"], { cwd: d }), /^error: cluster\/pki\/ca\.key: /);
  });
});
