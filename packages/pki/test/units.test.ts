import { createPrivateKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  InputError,
  KeyPair,
  classifyHosts,
  describeCertificate,
  firstServiceIP,
  issueCertificate,
  kubeadmValidity,
  cfsslValidity,
  checkUsages,
  parseDuration,
  parseUsages,
  randomSerial,
  toX509Name,
  type UsageName,
  keyUsageNames,
  validateKeySpec,
  x509,
} from "../src/index.js";

describe("durations", () => {
  it("reads Go durations as cfssl does", () => {
    expect(parseDuration("8760h")).toBe(8760 * 3_600_000);
    expect(parseDuration("1h30m")).toBe(90 * 60_000);
    expect(parseDuration("1.5h")).toBe(90 * 60_000);
    expect(parseDuration("300ms")).toBe(300);
  });
  it.each(["", "10d", "1y", "h", "8760", "1h 30m"])("refuses %j", (text) => {
    expect(() => parseDuration(text, { file: "ca-config.json", field: "signing.default.expiry" })).toThrow(
      /ca-config.json: signing.default.expiry: invalid duration/,
    );
  });
});

describe("hosts", () => {
  it("classifies IPs, DNS names, emails and URIs, first match wins", () => {
    const s = classifyHosts(["127.0.0.1", "localhost", "::1", "*.svc.example", "ops@example.com", "spiffe://td/ns/x", "localhost"]);
    expect(s).toEqual({ ip: ["127.0.0.1", "::1"], dns: ["localhost", "*.svc.example"], email: ["ops@example.com"], uri: ["spiffe://td/ns/x"] });
  });
  it.each(["exa mple.com", "-bad.com", "a..b", "http//x", "x@", "bad_host!"])("refuses the invalid host %j with its place", (host) => {
    expect(() => classifyHosts(["ok.com", host], { file: "csr.json", field: "hosts" })).toThrow(/^csr.json: hosts\[1\]: invalid/);
  });
});

describe("usages", () => {
  it("maps cfssl names to key usage bits and EKU OIDs", () => {
    const u = parseUsages(["signing", "key encipherment", "server auth", "client auth"]);
    expect(u.keyUsage).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    expect(u.extKeyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  });
  it("numbers each key usage bit as @peculiar/x509 does (usages.ts spells them out so as not to load the library)", () => {
    const names = {
      signing: "digitalSignature",
      "content commitment": "nonRepudiation",
      "key encipherment": "keyEncipherment",
      "key agreement": "keyAgreement",
    };
    const more = { "data encipherment": "dataEncipherment", "cert sign": "keyCertSign", "crl sign": "cRLSign", "encipher only": "encipherOnly" };
    for (const [cfssl, flag] of Object.entries({ ...names, ...more, "decipher only": "decipherOnly" }))
      expect(parseUsages([cfssl as UsageName]).keyUsage, cfssl).toBe(x509.KeyUsageFlags[flag as keyof typeof x509.KeyUsageFlags]);
    expect(keyUsageNames(511)).toHaveLength(9);
  });
  it("makes an unknown usage an error where cfssl drops it", () => {
    expect(() => checkUsages(["signing", "server-auth"], { file: "ca-config.json", field: "signing.profiles.kubernetes.usages" })).toThrow(
      /ca-config.json: signing.profiles.kubernetes.usages\[1\]: unknown usage.*\(got "server-auth"\)/,
    );
  });
});

describe("keys", () => {
  it.each([
    [{ algo: "rsa", size: 1024 }, /RSA key size/],
    [{ algo: "rsa", size: 16384 }, /RSA key size/],
    [{ algo: "ecdsa", size: 255 }, /ECDSA key size/],
    [{ algo: "dsa", size: 2048 }, /key algorithm/],
  ] as const)("refuses %j", (spec, msg) => {
    expect(() => validateKeySpec(spec as never, { file: "csr.json", field: "key" })).toThrow(msg);
    expect(() => validateKeySpec(spec as never, { file: "csr.json", field: "key" })).toThrow(InputError);
  });

  it("writes EC keys as SEC1 with their curve, and reads PKCS#8, SEC1 and cfssl's Ed25519 label back", async () => {
    const ec = await KeyPair.generate({ algo: "ecdsa", size: 384 });
    const sec1 = ec.privateKeyPem();
    expect(sec1).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    // Go's tls.X509KeyPair needs the namedCurve inside SEC1: Node must see the curve from the SEC1 block alone.
    expect(createPrivateKey(sec1).asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
    const back = await KeyPair.fromPem(ec.privateKeyPem("pkcs8"));
    expect(back.spec).toEqual({ algo: "ecdsa", size: 384 });
    expect(await back.matches(await ec.spki())).toBe(true);

    const ed = await KeyPair.generate({ algo: "ed25519", size: 0 });
    const cfsslStyle = ed.privateKeyPem().replace(/PRIVATE KEY/g, "ED25519 PRIVATE KEY");
    expect((await KeyPair.fromPem(cfsslStyle)).spec.algo).toBe("ed25519");
  });

  it("refuses garbage with the file named", async () => {
    await expect(KeyPair.fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", { file: "ca-key.pem" })).rejects.toThrow(
      /^ca-key.pem: not a readable PEM private key/,
    );
  });
});

describe("certificates", () => {
  it("makes positive, minimal, 20-byte serials", () => {
    for (let i = 0; i < 200; i++) {
      const s = randomSerial();
      expect(s).toHaveLength(40);
      expect(parseInt(s.slice(0, 2), 16)).toBeGreaterThan(0);
      expect(parseInt(s.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });

  it("encodes subjects as Go does: PrintableString when possible, several O in one RDN", () => {
    const der = Buffer.from(toX509Name({ CN: "admin", O: ["system:masters", "dev"], OU: ["Démystifions"] }).toArrayBuffer());
    const name = new x509.Name(der);
    // One RDN's values in DER order (a SET OF is sorted by encoding), as Go writes them: cfssl gives O=dev+O=system:masters.
    expect(name.toString()).toBe("O=dev+O=system:masters, OU=Démystifions, CN=admin");
    // 0x13 = PrintableString tag before "system:masters", 0x0c = UTF8String before "Démystifions".
    expect(der.includes(Buffer.concat([Buffer.from([0x13, 14]), Buffer.from("system:masters")]))).toBe(true);
    expect(der.includes(Buffer.concat([Buffer.from([0x0c]), Buffer.from([Buffer.byteLength("Démystifions")]), Buffer.from("Démystifions")]))).toBe(true);
  });

  it("backdates 5 minutes: kubeadm from now, cfssl from the rounded minute", () => {
    const now = new Date("2026-01-01T10:20:40Z");
    expect(kubeadmValidity(now, 3_600_000)).toEqual({ notBefore: new Date("2026-01-01T10:15:40Z"), notAfter: new Date("2026-01-01T11:20:40Z") });
    expect(cfsslValidity(now, 3_600_000)).toEqual({ notBefore: new Date("2026-01-01T10:16:00Z"), notAfter: new Date("2026-01-01T11:16:00Z") });
  });

  it("keeps keyEncipherment for RSA leaves only, and copies the issuer bytes", async () => {
    const caKey = await KeyPair.generate({ algo: "ecdsa", size: 256 });
    const now = new Date();
    const ca = await issueCertificate(
      { subject: { CN: "ca", O: ["Démystifions"] }, publicKey: caKey.publicKey, validity: kubeadmValidity(now, 3_600_000), ca: {} },
      { selfKey: caKey },
    );
    const leafKey = await KeyPair.generate({ algo: "ecdsa", size: 256 });
    const usages = parseUsages(["signing", "key encipherment", "client auth"]);
    const leaf = await issueCertificate(
      { subject: { CN: "x" }, publicKey: leafKey.publicKey, validity: kubeadmValidity(now, 60_000), usages },
      { cert: ca, key: caKey },
    );
    const info = await describeCertificate(leaf);
    expect(info.keyUsage).toEqual(["digital signature"]);
    expect(Buffer.from(leaf.issuerName.toArrayBuffer()).equals(Buffer.from(ca.subjectName.toArrayBuffer()))).toBe(true);
    expect(info.authorityKeyId).toBe((await describeCertificate(ca)).subjectKeyId);
  });
});

describe("service CIDR", () => {
  it.each([
    ["10.0.0.0/24", "10.0.0.1"],
    ["10.96.0.0/12", "10.96.0.1"],
    ["10.96.5.7/12", "10.96.0.1"],
    ["fd00:10:96::/112", "fd00:10:96::1"],
  ])("first IP of %s is %s", (cidr, ip) => expect(firstServiceIP(cidr)).toBe(ip));
  it.each(["10.0.0.0", "10.0.0.0/31", "10.0.0/24", "x/8"])("refuses %j", (cidr) => expect(() => firstServiceIP(cidr)).toThrow(/service-cidr/));
});
