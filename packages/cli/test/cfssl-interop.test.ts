import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { describeCertificate, parseCertificate } from "@dk-bootstrap/pki";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";
import { CFSSL_CURRENT, cfsslPath } from "./cfssl-side-by-side.js";
import { SEED_ADMIN_CSR, SEED_CA_CONFIG, SEED_CA_CSR } from "./seed.js";

/** The seed's two commands, through `tool` (cfssl or dk-bootstrap), each piped into the real `cfssljson`. */
function seedCommands(dir: string, cfssljson: string, tool: (args: string[], cwd: string) => { stdout: string; status: number | null; stderr: string }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ca-csr.json"), SEED_CA_CSR);
  writeFileSync(join(dir, "admin-csr.json"), SEED_ADMIN_CSR);
  writeFileSync(join(dir, "ca-config.json"), SEED_CA_CONFIG);
  const ca = tool(["gencert", "-initca", "ca-csr.json"], dir);
  expect(ca.status, ca.stderr).toBe(0);
  expect(run(cfssljson, ["-bare", "ca"], { cwd: dir, input: ca.stdout }).status).toBe(0);
  const admin = tool(["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ca-config.json", "-profile=kubernetes", "admin-csr.json"], dir);
  expect(admin.status, admin.stderr).toBe(0);
  expect(run(cfssljson, ["-bare", "admin"], { cwd: dir, input: admin.stdout }).status).toBe(0);
}

// Current cfssl (built from github.com/cloudflare/cfssl) and Debian's 1.2 (what Debian users have), each with its own cfssljson.
describe.each([
  [CFSSL_CURRENT, "current"],
  ["1.2.0", "1.2"],
] as const)("side by side with the real cfssl %s", (_version, which) => {
  const root = tempDir();
  const ours = join(root, "dk");
  const theirs = join(root, "cfssl");
  const cfssl = cfsslPath(which);
  const cfssljson = cfsslPath(which, "cfssljson");
  beforeAll(() => {
    seedCommands(theirs, cfssljson, (args, cwd) => run(cfssl, args, { cwd }));
    seedCommands(ours, cfssljson, (args, cwd) => dk(args, { cwd }));
  });

  it.each(["ca", "admin"])("%s.pem has cfssl's subject, SANs, usages, constraints, validity and backdate", async (name) => {
    const a = await describeCertificate(parseCertificate(readFileSync(join(theirs, `${name}.pem`), "utf8")));
    const b = await describeCertificate(parseCertificate(readFileSync(join(ours, `${name}.pem`), "utf8")));
    expect(b.subject).toEqual(a.subject);
    expect(b.issuer).toEqual(a.issuer);
    expect(b.sans).toEqual(a.sans);
    expect(b.keyUsage).toEqual(a.keyUsage);
    expect(b.extKeyUsage).toEqual(a.extKeyUsage);
    expect([b.isCA, b.pathLen]).toEqual([a.isCA, a.pathLen]);
    expect(b.notAfter.getTime() - b.notBefore.getTime()).toBe(a.notAfter.getTime() - a.notBefore.getTime());
    // Both round to the minute and go back 5 minutes: made within the same minute or two, they agree to the minute.
    expect(Math.abs(b.notBefore.getTime() - a.notBefore.getTime())).toBeLessThanOrEqual(120_000);
    expect(b.notBefore.getUTCSeconds()).toBe(0);
    expect(b.signatureAlgorithm).toBe(a.signatureAlgorithm);
    expect(b.subjectKeyId).toBeDefined();
    expect(b.serialHex.length).toBe(40);
  });

  it("writes keys and CSRs cfssljson accepts and openssl verifies", () => {
    const openssl = peer("openssl");
    for (const name of ["ca", "admin"]) {
      expect(readFileSync(join(ours, `${name}-key.pem`), "utf8")).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect(run(openssl, ["req", "-in", join(ours, `${name}.csr`), "-noout", "-verify"]).status).toBe(0);
    }
    expect(run(openssl, ["verify", "-x509_strict", "-CAfile", join(ours, "ca.pem"), join(ours, "admin.pem")]).status).toBe(0);
  });

  it(`prints the same certinfo as cfssl for our certificate${which === "1.2" ? ", but for 1.2's unpadded key IDs" : ""}`, () => {
    const mine = JSON.parse(dk(["certinfo", "-cert", join(ours, "admin.pem")]).stdout);
    const real = JSON.parse(run(cfssl, ["certinfo", "-cert", join(ours, "admin.pem")]).stdout);
    if (which === "current") {
      expect(mine).toEqual(real);
      expect(Object.keys(mine)).toEqual(Object.keys(real));
      return;
    }
    const unpad = (s: string) =>
      s
        .split(":")
        .map((h) => h.replace(/^0(?=.)/, ""))
        .join(":");
    expect({ ...mine, authority_key_id: unpad(mine.authority_key_id), subject_key_id: unpad(mine.subject_key_id) }).toEqual(real);
    expect(Object.keys(mine)).toEqual(Object.keys(real));
  });

  it("cfssl signs our CSR, and we sign cfssl's", async () => {
    const a = run(cfssl, [
      "sign",
      "-ca",
      join(theirs, "ca.pem"),
      "-ca-key",
      join(theirs, "ca-key.pem"),
      "-config",
      join(theirs, "ca-config.json"),
      "-profile",
      "kubernetes",
      join(ours, "admin.csr"),
    ]);
    expect(a.status, a.stderr).toBe(0);
    const byCfssl = await describeCertificate(parseCertificate(JSON.parse(a.stdout).cert));
    expect(byCfssl.subject.CN).toBe("admin");
    expect(byCfssl.sans.ip).toEqual(["127.0.0.1"]);

    const b = dk([
      "sign",
      "-ca",
      join(ours, "ca.pem"),
      "-ca-key",
      join(ours, "ca-key.pem"),
      "-config",
      join(ours, "ca-config.json"),
      "-profile",
      "kubernetes",
      join(theirs, "admin.csr"),
    ]);
    expect(b.status, b.stderr).toBe(0);
    const byUs = await describeCertificate(parseCertificate(JSON.parse(b.stdout).cert));
    expect(byUs.subject).toEqual(byCfssl.subject);
    expect(byUs.sans).toEqual(byCfssl.sans);
    expect(byUs.issuer.CN).toBe("Kubernetes");
  });

  it("prints cfssl's defaults byte for byte, and cfssl signs with what it printed", () => {
    const dir = join(root, "defaults");
    mkdirSync(dir);
    for (const which of ["csr", "config"]) {
      const mine = dk(["print-defaults", which]).stdout;
      expect(mine).toBe(run(cfssl, ["print-defaults", which]).stdout);
      writeFileSync(join(dir, `${which}.json`), mine);
    }
    const r = run(cfssl, [
      "gencert",
      "-ca",
      join(ours, "ca.pem"),
      "-ca-key",
      join(ours, "ca-key.pem"),
      "-config",
      join(dir, "config.json"),
      "-profile",
      "www",
      join(dir, "csr.json"),
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).cert).toMatch(/BEGIN CERTIFICATE/);
  });

  it("genkey - reads the CSR JSON on stdin as cfssl's testdata scripts pipe it; cfssljson writes its CSR and key", () => {
    const dir = join(root, "genkey");
    mkdirSync(dir);
    const out = dk(["genkey", "-"], { cwd: dir, input: '{ "CN": "Pathlen Unspecified" }' });
    expect(out.status, out.stderr).toBe(0);
    expect(Object.keys(JSON.parse(out.stdout))).toEqual(["csr", "key"]);
    expect(run(cfssljson, ["-bare", "inter"], { cwd: dir, input: out.stdout }).status).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["inter-key.pem", "inter.csr"]);
    const csr = run(peer("openssl"), ["req", "-in", "inter.csr", "-noout", "-verify", "-subject"], { cwd: dir });
    expect(csr.status, csr.stderr).toBe(0);
    expect(csr.stdout).toContain("CN = Pathlen Unspecified");
  });

  it("sign's SUBJECT file: a missing or malformed one is one line naming it", () => {
    const dir = join(root, "genkey");
    writeFileSync(join(dir, "bad-subject.json"), '{"CN": ');
    for (const [file, says] of [
      ["missing.json", /missing\.json.*no such file/],
      ["bad-subject.json", /bad-subject\.json.*malformed JSON/],
    ] as const) {
      const r = dk(["sign", `-ca=${join(ours, "ca.pem")}`, `-ca-key=${join(ours, "ca-key.pem")}`, "inter.csr", file], { cwd: dir });
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(says);
    }
  });

  it("writes what cfssljson writes with its own `json -bare`", () => {
    const dir = join(root, "json");
    mkdirSync(dir);
    const out = dk(["gencert", "-initca", join(ours, "ca-csr.json")]).stdout;
    expect(dk(["json", "-bare", "ca"], { cwd: dir, input: out }).status).toBe(0);
    expect(run(peer("openssl"), ["x509", "-in", join(dir, "ca.pem"), "-noout", "-subject"]).stdout).toMatch(/CN = Kubernetes/);
    // The real cfssljson given the same JSON: the same files, bytes and modes.
    const real = join(root, "json-cfssljson");
    mkdirSync(real);
    const r = run(cfssljson, ["-bare", "ca"], { cwd: real, input: out });
    expect(r.status, r.stderr).toBe(0);
    const files = (d: string) =>
      readdirSync(d)
        .sort()
        .map((f) => ({ f, mode: (statSync(join(d, f)).mode & 0o777).toString(8), text: readFileSync(join(d, f), "utf8") }));
    expect(files(dir).map((x) => x.f)).toEqual(["ca-key.pem", "ca.csr", "ca.pem"]);
    expect(files(dir)).toEqual(files(real));
    const again = dk(["json", "-bare", "ca"], { cwd: dir, input: out });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/ca-key.pem: private key exists, refusing to overwrite it/);
  });
});
