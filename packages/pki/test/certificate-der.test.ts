import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import {
  type CertificateTemplate,
  KeyPair,
  type KeySpec,
  type Signer,
  certificatePem,
  createCsr,
  fromX509Name,
  issueCertificate,
  parseCertificate,
  parseCsr,
  parseUsages,
  signatureParams,
  toGeneralNames,
  toX509Name,
  x509,
} from "../src/index.js";
import { children, readTlv, toHex } from "../src/der.js";

/**
 * The certificate @peculiar/x509's generator makes from a template: how issueCertificate made them before it
 * wrote the DER itself. Its TBSCertificate must be the same bytes as the hand-written one.
 */
async function libraryIssue(tpl: CertificateTemplate, signer: Signer | { selfKey: KeyPair }): Promise<x509.X509Certificate> {
  const signingKey = "selfKey" in signer ? signer.selfKey : signer.key;
  const subject = tpl.subject instanceof x509.Name ? tpl.subject : toX509Name(tpl.subject);
  const ext: x509.Extension[] = [];
  const F = x509.KeyUsageFlags;
  if (tpl.ca) {
    ext.push(new x509.BasicConstraintsExtension(true, tpl.ca.pathLen, true));
    if (tpl.exactCaUsages) {
      if (tpl.usages?.keyUsage) ext.push(new x509.KeyUsagesExtension(tpl.usages.keyUsage, true));
      if (tpl.usages?.extKeyUsage.length) ext.push(new x509.ExtendedKeyUsageExtension(tpl.usages.extKeyUsage, false));
    } else ext.push(new x509.KeyUsagesExtension(F.keyCertSign | F.cRLSign | (tpl.usages?.keyUsage ?? 0), true));
  } else {
    const usages = tpl.usages ?? { keyUsage: 0, extKeyUsage: [] };
    const keyUsage = tpl.publicKey.algorithm.name.startsWith("RSA") ? usages.keyUsage : usages.keyUsage & ~F.keyEncipherment;
    if (keyUsage !== 0) ext.push(new x509.KeyUsagesExtension(keyUsage, true));
    if (usages.extKeyUsage.length > 0) ext.push(new x509.ExtendedKeyUsageExtension(usages.extKeyUsage, false));
    ext.push(new x509.BasicConstraintsExtension(false, undefined, true));
  }
  ext.push(await x509.SubjectKeyIdentifierExtension.create(tpl.publicKey, false));
  if (!("selfKey" in signer)) ext.push(await x509.AuthorityKeyIdentifierExtension.create(signer.cert, false));
  const sans = toGeneralNames(tpl.sans ?? {});
  if (sans.length > 0) ext.push(new x509.SubjectAlternativeNameExtension(sans, false));
  return x509.X509CertificateGenerator.create({
    serialNumber: tpl.serial!,
    subject,
    issuer: "selfKey" in signer ? subject : signer.cert.subjectName,
    notBefore: tpl.validity.notBefore,
    notAfter: "selfKey" in signer || tpl.validity.notAfter <= signer.cert.notAfter ? tpl.validity.notAfter : signer.cert.notAfter,
    publicKey: tpl.publicKey,
    signingKey: signingKey.privateKey,
    signingAlgorithm: signatureParams(signingKey.spec),
    extensions: ext,
  });
}

/** The certificate's TBSCertificate, as hex DER: the outer SEQUENCE's first element. */
function tbsOf(cert: x509.X509Certificate): string {
  const der = new Uint8Array(cert.rawData);
  const tbs = children(der, readTlv(der, 0))[0]!;
  return toHex(der.subarray(tbs.at, tbs.end));
}

/** The certificate's signatureAlgorithm field, as DER: the outer SEQUENCE's second element. */
function signatureAlgorithmDer(cert: x509.X509Certificate): string {
  const der = new Uint8Array(cert.rawData);
  const alg = children(der, readTlv(der, 0))[1]!;
  return toHex(der.subarray(alg.at, alg.end));
}

const validity = { notBefore: new Date("2026-01-01T00:00:00.400Z"), notAfter: new Date("2036-01-01T00:00:00Z") };
const serial = (n: number) => `7f${n.toString(16).padStart(38, "0")}`;

describe("issueCertificate writes the same TBSCertificate as @peculiar/x509's generator did", async () => {
  const keys = new Map<string, KeyPair>();
  const key = async (name: string, spec: KeySpec) => {
    if (!keys.has(name)) keys.set(name, await KeyPair.generate(spec));
    return keys.get(name)!;
  };
  const cases: [string, KeySpec, KeySpec | undefined, (k: KeyPair) => CertificateTemplate][] = [
    [
      "an ECDSA root CA with a SAN",
      { algo: "ecdsa" },
      undefined,
      (k) => ({ subject: { CN: "kubernetes" }, publicKey: k.publicKey, sans: { dns: ["kubernetes"] }, validity, ca: {} }),
    ],
    [
      "a P-384 CA with a path length and exact usages",
      { algo: "ecdsa", size: 384 },
      undefined,
      (k) => ({
        subject: { CN: "intermediate", O: ["Two", "Over"], C: ["US"] },
        publicKey: k.publicKey,
        validity,
        ca: { pathLen: 0 },
        exactCaUsages: true,
        usages: parseUsages(["cert sign", "crl sign", "digital signature", "server auth"]),
      }),
    ],
    [
      "an ECDSA leaf with every kind of SAN (keyEncipherment dropped)",
      { algo: "ecdsa" },
      { algo: "ecdsa" },
      (k) => ({
        subject: { CN: "système:node:ü", O: ["system:nodes"] },
        publicKey: k.publicKey,
        sans: { dns: ["node-1", "*.example.com"], ip: ["192.0.2.10", "2001:db8::1", "::1"], email: ["a@example.com"], uri: ["spiffe://cluster/ns/x"] },
        validity,
        usages: parseUsages(["digital signature", "key encipherment", "server auth", "client auth"]),
      }),
    ],
    [
      "an RSA leaf under an RSA CA, past 2049 (GeneralizedTime) and capped at its CA",
      { algo: "rsa" },
      { algo: "rsa" },
      (k) => ({
        subject: { CN: "kube-apiserver" },
        publicKey: k.publicKey,
        validity: { notBefore: new Date("2049-12-31T23:59:59Z"), notAfter: new Date("2070-01-01T00:00:00Z") },
        usages: parseUsages(["digital signature", "key encipherment", "server auth"]),
      }),
    ],
    ["a self-signed Ed25519 leaf without usages", { algo: "ed25519" }, undefined, (k) => ({ subject: { CN: "ed" }, publicKey: k.publicKey, validity })],
    [
      "a P-521 CA's leaf",
      { algo: "ecdsa", size: 256 },
      { algo: "ecdsa", size: 521 },
      (k) => ({ subject: { CN: "leaf" }, publicKey: k.publicKey, validity, usages: parseUsages(["signing", "client auth"]) }),
    ],
  ];
  for (const [name, subjectSpec, caSpec, template] of cases)
    it(name, async () => {
      const subjectKey = await key(`${name}/subject`, subjectSpec);
      let signer: Signer | { selfKey: KeyPair } = { selfKey: subjectKey };
      if (caSpec) {
        const caKey = await key(`${name}/ca`, caSpec);
        const caTpl: CertificateTemplate = {
          subject: { CN: "the CA", O: ["dk"] },
          publicKey: caKey.publicKey,
          validity: { notBefore: validity.notBefore, notAfter: new Date("2060-06-01T12:00:00Z") },
          ca: {},
          serial: serial(1),
        };
        const [caCert, caRef] = await Promise.all([issueCertificate(caTpl, { selfKey: caKey }), libraryIssue(caTpl, { selfKey: caKey })]);
        expect(tbsOf(caCert)).toBe(tbsOf(caRef));
        signer = { cert: caCert, key: caKey };
      }
      const tpl = { ...template(subjectKey), serial: serial(2) };
      const [cert, ref] = await Promise.all([issueCertificate(tpl, signer), libraryIssue(tpl, signer)]);
      expect(tbsOf(cert)).toBe(tbsOf(ref));
      expect(signatureAlgorithmDer(cert)).toBe(signatureAlgorithmDer(ref));
      const publicKey = "selfKey" in signer ? subjectKey.publicKey : signer.key.publicKey;
      expect(await parseCertificate(certificatePem(cert)).verify({ publicKey, signatureOnly: true })).toBe(true);
    });

  it("copies a parsed subject (a CSR's) byte for byte", async () => {
    const k = await key("csr", { algo: "ecdsa" });
    const csr = await parseCsr((await createCsr({ CN: "from a CSR", O: ["b", "a"], OU: ["x"] }, {}, k)).toString("pem"));
    const tpl: CertificateTemplate = { subject: csr.csr.subjectName, publicKey: k.publicKey, validity, serial: serial(3) };
    const [cert, ref] = await Promise.all([issueCertificate(tpl, { selfKey: k }), libraryIssue(tpl, { selfKey: k })]);
    expect(tbsOf(cert)).toBe(tbsOf(ref));
    expect(toHex(new Uint8Array(cert.subjectName.toArrayBuffer()))).toBe(toHex(new Uint8Array(csr.csr.subjectName.toArrayBuffer())));
  });
});

describe("issued certificates", () => {
  it("read the same through every getter as the same DER parsed, without parsing for PEM, DER and validity", async () => {
    const caKey = await KeyPair.generate({ algo: "ecdsa" });
    const leafKey = await KeyPair.generate({ algo: "ecdsa" });
    const ca = await issueCertificate({ subject: { CN: "ca" }, publicKey: caKey.publicKey, validity, ca: {} }, { selfKey: caKey });
    const leaf = await issueCertificate(
      {
        subject: { CN: "leaf", O: ["o"] },
        publicKey: leafKey.publicKey,
        sans: { dns: ["leaf"], ip: ["10.0.0.1"] },
        validity,
        usages: parseUsages(["server auth"]),
      },
      { cert: ca, key: caKey },
    );
    for (const cert of [ca, leaf]) {
      const fresh = parseCertificate(certificatePem(cert));
      expect(cert).toBeInstanceOf(x509.X509Certificate);
      expect(cert.notBefore.toISOString()).toBe(fresh.notBefore.toISOString());
      expect(cert.notAfter.toISOString()).toBe(fresh.notAfter.toISOString());
      for (const get of [
        (c: x509.X509Certificate) => c.serialNumber,
        (c: x509.X509Certificate) => c.subject,
        (c: x509.X509Certificate) => c.issuer,
        (c: x509.X509Certificate) => JSON.stringify(c.signatureAlgorithm),
        (c: x509.X509Certificate) => toHex(new Uint8Array(c.publicKey.rawData)),
        (c: x509.X509Certificate) => tbsOf(c),
        (c: x509.X509Certificate) => toHex(new Uint8Array(c.signature)),
        (c: x509.X509Certificate) => c.extensions.map((e) => `${e.type}/${e.critical}/${toHex(new Uint8Array(e.value))}`).join(","),
        (c: x509.X509Certificate) => c.toString("pem"),
      ])
        expect(get(cert)).toBe(get(fresh));
    }
    expect(await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => n.value)).toEqual(["leaf", "10.0.0.1"]);
  });
});

// Bugs of the library's encoding that the hand-written one fixes: each fails with the library's generator.
describe("what the library wrote wrong", () => {
  const openssl = peer("openssl");
  const dir = tempDir();
  const text = (cert: x509.X509Certificate) => {
    const file = join(dir, "c.pem");
    writeFileSync(file, certificatePem(cert));
    return run(openssl, ["x509", "-in", file, "-noout", "-text", "-nameopt", "RFC2253"]).stdout;
  };

  it("an IPv4-mapped IPv6 SAN is the IPv4 address, as Go writes it (the library wrote 16 wrong bytes)", async () => {
    const k = await KeyPair.generate({ algo: "ecdsa" });
    const cert = await issueCertificate({ subject: { CN: "mapped" }, publicKey: k.publicKey, sans: { ip: ["::ffff:192.0.2.1"] }, validity }, { selfKey: k });
    expect(text(cert)).toMatch(/IP Address:192\.0\.2\.1\s*$/m);
  });

  it("a subject keeps backslashes, quotes and a leading # as given, as Go writes them (the library unescaped them)", async () => {
    const k = await KeyPair.generate({ algo: "ecdsa" });
    const subject = { CN: '#a\\b "quoted"', O: ["\\0aorg"] };
    const cert = await issueCertificate({ subject, publicKey: k.publicKey, validity }, { selfKey: k });
    expect(fromX509Name(parseCertificate(certificatePem(cert)).subjectName)).toEqual(subject);
  });
});

describe("OpenSSL's -x509_strict accepts every chain of every key type", () => {
  const openssl = peer("openssl");
  const dir = tempDir();
  const specs: KeySpec[] = [
    { algo: "ecdsa", size: 256 },
    { algo: "ecdsa", size: 384 },
    { algo: "ecdsa", size: 521 },
    { algo: "ed25519" },
    { algo: "rsa", size: 2048 },
  ];
  for (const caSpec of specs)
    it(`a ${caSpec.algo}${caSpec.size ? `-${caSpec.size}` : ""} CA and a leaf of each key type`, async () => {
      const caKey = await KeyPair.generate(caSpec);
      const ca = await issueCertificate({ subject: { CN: "strict CA" }, publicKey: caKey.publicKey, validity, ca: { pathLen: 0 } }, { selfKey: caKey });
      writeFileSync(join(dir, "ca.pem"), certificatePem(ca));
      for (const leafSpec of specs.filter((s) => s.algo !== "rsa" || caSpec.algo === "rsa")) {
        const leafKey = await KeyPair.generate(leafSpec);
        const leaf = await issueCertificate(
          {
            subject: { CN: `leaf ${leafSpec.algo}`, O: ["b", "a"] },
            publicKey: leafKey.publicKey,
            sans: { dns: ["leaf.example"], ip: ["192.0.2.1", "2001:db8::5"] },
            validity: { notBefore: new Date(Date.now() - 60_000), notAfter: new Date("2055-01-01T00:00:00Z") },
            usages: parseUsages(["digital signature", "key encipherment", "server auth", "client auth"]),
          },
          { cert: ca, key: caKey },
        );
        writeFileSync(join(dir, "leaf.pem"), certificatePem(leaf));
        const r = run(openssl, ["verify", "-x509_strict", "-CAfile", join(dir, "ca.pem"), join(dir, "leaf.pem")]);
        expect(r.stdout + r.stderr, `${leafSpec.algo} under ${caSpec.algo}`).toContain(": OK");
      }
    });
});

describe("certificatePem", () => {
  it("writes what the library's PEM encoder wrote, with Unix newlines, for certificates of several sizes", async () => {
    for (const spec of [{ algo: "ed25519" }, { algo: "ecdsa", size: 521 }, { algo: "rsa", size: 2048 }] as KeySpec[]) {
      const k = await KeyPair.generate(spec);
      const cert = await issueCertificate({ subject: { CN: "pem" }, publicKey: k.publicKey, sans: { dns: ["a".repeat(60)] }, validity }, { selfKey: k });
      const library = `${new x509.X509Certificate(cert.rawData).toString("pem").replace(/\r\n/g, "\n").trimEnd()}\n`;
      expect(certificatePem(cert), spec.algo).toBe(library);
      expect(toHex(new Uint8Array(parseCertificate(certificatePem(cert)).rawData))).toBe(toHex(new Uint8Array(cert.rawData)));
    }
  });
});

describe("a CA certificate in BER the library reads", () => {
  it("still signs: its subject, notAfter and key identifier are read by the library (a 5-byte length once crashed gencert -ca)", async () => {
    const k = await KeyPair.generate({ algo: "ecdsa" });
    const ca = await issueCertificate({ subject: { CN: "ber ca", O: ["o"] }, publicKey: k.publicKey, validity, ca: {} }, { selfKey: k });
    const der = new Uint8Array(ca.rawData);
    expect([der[0], der[1]]).toEqual([0x30, 0x82]);
    // The outer SEQUENCE's length in 5 bytes: BER allows it, DER does not.
    const ber = Uint8Array.from([0x30, 0x85, 0, 0, 0, der[2]!, der[3]!, ...der.subarray(4)]);
    const parsed = parseCertificate(ber);
    const leafKey = await KeyPair.generate({ algo: "ecdsa" });
    const leaf = await issueCertificate(
      { subject: { CN: "leaf" }, publicKey: leafKey.publicKey, validity: { ...validity, notAfter: new Date("2099-01-01T00:00:00Z") } },
      { cert: parsed, key: k },
    );
    expect(toHex(new Uint8Array(leaf.issuerName.toArrayBuffer()))).toBe(toHex(new Uint8Array(ca.subjectName.toArrayBuffer())));
    expect(leaf.notAfter.toISOString()).toBe(ca.notAfter.toISOString());
    expect(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    expect(await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
  });
});
