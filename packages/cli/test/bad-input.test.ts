import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";
import { SEED_ADMIN_CSR, SEED_CA_CONFIG, SEED_CA_CSR } from "./seed.js";

/** Every failure: exit 1, one `error:` line naming the place (and maybe a `hint:`), no stack, nothing written. */
function expectCleanFailure(r: { status: number | null; stderr: string; stdout: string }, pattern: RegExp) {
  expect(r.status).toBe(1);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.slice(1).every((l) => l.startsWith("hint: "))).toBe(true);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe("");
}

describe("bad input to the cfssl drop-ins", () => {
  const dir = tempDir();
  const files = () => readdirSync(dir).sort();
  beforeAll(() => {
    writeFileSync(join(dir, "ca-csr.json"), SEED_CA_CSR);
    writeFileSync(join(dir, "admin-csr.json"), SEED_ADMIN_CSR);
    writeFileSync(join(dir, "ca-config.json"), SEED_CA_CONFIG);
    const ca = dk(["gencert", "-initca", "ca-csr.json"], { cwd: dir });
    expect(dk(["json", "-bare", "ca"], { cwd: dir, input: ca.stdout }).status).toBe(0);
    const other = dk(["gencert", "-initca", "ca-csr.json"], { cwd: dir });
    expect(dk(["json", "-bare", "other"], { cwd: dir, input: other.stdout }).status).toBe(0);
  });

  const cases: [string, Record<string, string>, string[], RegExp][] = [
    ["malformed JSON", { "bad.json": '{"CN": "x",, }' }, ["gencert", "-initca", "bad.json"], /^error: bad.json: malformed JSON at line 1 column \d+/],
    ["truncated JSON", { "cut.json": SEED_CA_CSR.slice(0, 60) }, ["gencert", "-initca", "cut.json"], /^error: cut.json: malformed JSON.*truncated/],
    [
      "a field of the wrong type",
      { "t.json": '{"CN": "x", "hosts": "localhost"}' },
      ["gencert", "-initca", "t.json"],
      /t.json: hosts: expected a list of strings/,
    ],
    [
      "a key size out of range",
      { "k.json": '{"CN":"x","key":{"algo":"rsa","size":1024}}' },
      ["gencert", "-initca", "k.json"],
      /k.json: key.size: RSA key size .*\(got 1024\)/,
    ],
    ["an invalid host", { "h.json": '{"CN":"x","hosts":["ok","bad host"]}' }, ["gencert", "-initca", "h.json"], /h.json: hosts\[1\]: invalid host.*"bad host"/],
    [
      "an unknown usage",
      { "u.json": '{"signing":{"default":{"expiry":"1h"},"profiles":{"p":{"usages":["server auth","client-auth"],"expiry":"1h"}}}}' },
      ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=u.json", "-profile=p", "admin-csr.json"],
      /u.json: signing.profiles.p.usages\[1\]: unknown usage.*"client-auth"/,
    ],
    [
      "an unknown profile",
      {},
      ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ca-config.json", "-profile=kubernetse", "admin-csr.json"],
      /ca-config.json: signing.profiles: unknown profile; known: kubernetes.*"kubernetse"/,
    ],
    [
      "a bad expiry",
      { "e.json": '{"signing":{"default":{"expiry":"1y"}}}' },
      ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=e.json", "admin-csr.json"],
      /e.json: signing.default.expiry: invalid duration.*"1y"/,
    ],
    [
      "a default profile with no usages (no -profile)",
      {},
      ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ca-config.json", "admin-csr.json"],
      /ca-config.json: signing.default.usages: the default profile has no usages: pass -profile \(kubernetes\)/,
    ],
    [
      "a CA key that doesn't match",
      {},
      ["gencert", "-ca=ca.pem", "-ca-key=other-key.pem", "-config=ca-config.json", "-profile=kubernetes", "admin-csr.json"],
      /other-key.pem: the CA key does not match the CA certificate ca.pem/,
    ],
    ["a missing file", {}, ["gencert", "-initca", "nope.json"], /nope.json: cannot read the CSR JSON: no such file/],
    ["an unknown flag", {}, ["gencert", "-bogus", "x.json"], /flag provided but not defined: -bogus/],
    [
      "a CSR that isn't one",
      { "x.csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" },
      ["sign", "-ca=ca.pem", "-ca-key=ca-key.pem", "x.csr"],
      /x.csr: not a readable PKCS#10/,
    ],
  ];

  it.each(cases)("%s: one clear line, exit 1, nothing written", (_, inputs, args, pattern) => {
    for (const [name, text] of Object.entries(inputs)) writeFileSync(join(dir, name), text);
    const before = files();
    expectCleanFailure(dk(args, { cwd: dir }), pattern);
    expect(files()).toEqual(before);
  });

  it("shows the stack with --debug", () => {
    const r = dk(["--debug", "gencert", "-initca", "nope.json"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe("an expired CA", () => {
  it("is refused by gencert", () => {
    const dir = tempDir();
    // Expiry in the past: notAfter = notBefore + 1ms, before now.
    writeFileSync(join(dir, "ca-csr.json"), '{"CN":"old","key":{"algo":"ecdsa","size":256},"ca":{"expiry":"1ms"}}');
    writeFileSync(join(dir, "leaf.json"), '{"CN":"leaf","hosts":["a.example"],"key":{"algo":"ecdsa","size":256}}');
    expect(dk(["json", "-bare", "ca"], { cwd: dir, input: dk(["gencert", "-initca", "ca-csr.json"], { cwd: dir }).stdout }).status).toBe(0);
    expectCleanFailure(dk(["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "leaf.json"], { cwd: dir }), /ca.pem: the CA expired on/);
  });
});

describe("dk-bootstrap certs", () => {
  it("makes the PKI in ./cluster relative to the current folder, and keeps it on a re-run", () => {
    const dir = tempDir();
    const r = dk(["certs", "--key-algo", "ecdsa", "--node-ip", "192.0.2.7"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[certs\] Generated "ca" certificate and key/);
    expect(readdirSync(join(dir, "cluster", "pki"))).toContain("apiserver.crt");
    const again = dk(["certs", "--key-algo", "ecdsa", "--node-ip", "192.0.2.7"], { cwd: dir });
    expect(again.stdout).toMatch(/\[certs\] Using the existing "ca" certificate and key/);
    expect(again.stdout).toMatch(/0 made, \d+ kept, 0 renewed/);
    const table = dk(["certs", "check-expiration"], { cwd: dir });
    expect(table.stdout).toMatch(/^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY\s+EXTERNALLY MANAGED/);
    expect(table.stdout).toMatch(/\napiserver\s+\w{3} \d\d, \d{4} \d\d:\d\d UTC\s+36[45]d\s+ca\s+no/);
    const json = JSON.parse(dk(["certs", "check-expiration", "-o", "json"], { cwd: dir }).stdout);
    expect(json.authorities.map((a: { name: string }) => a.name)).toEqual(["ca", "etcd/ca", "front-proxy-ca"]);
  });

  it.each([
    [["--key-algo", "dsa"], /--key-algo: must be rsa, ecdsa or ed25519 \(got "dsa"\)/],
    [["--key-size", "1024"], /--key-size: RSA key size/],
    [["--node-ip", "300.1.1.1"], /node-ip: not an IP address \(got "300.1.1.1"\)/],
    [["--service-cidr", "10.0.0.0"], /service-cidr: not a CIDR/],
    [["--validity", "1y"], /--validity: invalid duration/],
    [["--key-format", "der"], /key-format: must be traditional or pkcs8 \(got "der"\)/],
  ])("refuses %j with one line and writes nothing", (args, pattern) => {
    const dir = tempDir();
    expectCleanFailure(dk(["certs", ...args], { cwd: dir }), pattern);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("writes PKCS#8 keys with --key-format pkcs8, which openssl reads", () => {
    const dir = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa", "--key-format", "pkcs8"], { cwd: dir }).status).toBe(0);
    for (const key of ["pki/ca.key", "pki/etcd/server.key", "pki/sa.key"]) {
      const pem = readFileSync(join(dir, "cluster", key), "utf8");
      expect(pem, key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(run(peer("openssl"), ["pkey", "-in", join(dir, "cluster", key), "-noout"]).status, key).toBe(0);
    }
  });

  it("makes the workshop's two cfssl files", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "x"));
    const r = dk(["certs", "--workshop", "--dir", "x"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(dir, "x", "certs")).sort()).toEqual(["admin-key.pem", "admin.csr", "admin.pem", "ca-key.pem", "ca.csr", "ca.pem"]);
  });
});
