// The library as a user's code meets it: the short common path (sizes by algorithm, partial SANs), usage
// names checked by the compiler, and inspection that returns plain data.
import { describe, expect, it } from "vitest";
import { typecheck } from "../../../test-support/typecheck.js";
import {
  InputError,
  KeyPair,
  checkUsages,
  clusterSpec,
  createCsr,
  describeCertificate,
  isUsageName,
  issueCertificate,
  kubeadmValidity,
  parseCsr,
  parseUsages,
  csrPem,
  validateKeySpec,
} from "../src/index.js";

const DAY = 86_400_000;

describe("key specs", () => {
  it("a spec without a size gets its algorithm's: RSA 2048, ECDSA P-256, none for Ed25519", async () => {
    expect(validateKeySpec({ algo: "rsa" })).toEqual({ algo: "rsa", size: 2048 });
    expect(validateKeySpec({ algo: "ecdsa" })).toEqual({ algo: "ecdsa", size: 256 });
    expect(validateKeySpec({ algo: "ed25519" })).toEqual({ algo: "ed25519", size: 0 });
    const ec = await KeyPair.generate({ algo: "ecdsa" });
    expect(ec.spec).toEqual({ algo: "ecdsa", size: 256 });
    expect((ec.publicKey.algorithm as EcKeyAlgorithm).namedCurve).toBe("P-256");
    expect((await KeyPair.generate({ algo: "ed25519" })).publicKey.algorithm.name).toBe("Ed25519");
    expect(clusterSpec({ key: { algo: "ecdsa" } }).key).toEqual({ algo: "ecdsa", size: 256 });
  });

  it("an explicit size is kept, and a wrong one is still refused", () => {
    expect(validateKeySpec({ algo: "ecdsa", size: 384 })).toEqual({ algo: "ecdsa", size: 384 });
    expect(validateKeySpec({ algo: "rsa", size: 4096 })).toEqual({ algo: "rsa", size: 4096 });
    expect(() => validateKeySpec({ algo: "ecdsa", size: 255 }, { file: "csr.json", field: "key" })).toThrow("csr.json: key.size: ECDSA key size must be 256");
  });
});

describe("SANs given partially", () => {
  it("issueCertificate and createCsr take only the kinds given; the others are empty", async () => {
    const key = await KeyPair.generate({ algo: "ecdsa" });
    const cert = await issueCertificate(
      { subject: { CN: "web" }, publicKey: key.publicKey, sans: { dns: ["web.example"] }, validity: kubeadmValidity(new Date(), DAY) },
      { selfKey: key },
    );
    expect((await describeCertificate(cert)).sans).toEqual({ dns: ["web.example"], ip: [], email: [], uri: [] });
    const csr = await parseCsr(csrPem(await createCsr({ CN: "web" }, { ip: ["10.0.0.5"] }, key)));
    expect(csr.sans).toEqual({ dns: [], ip: ["10.0.0.5"], email: [], uri: [] });
  });
});

describe("usage names", () => {
  it("parseUsages takes cfssl's names, typed: a wrong name does not compile", () => {
    const errors = typecheck({
      "bad-usage.ts": `import { parseUsages } from "@dk-bootstrap/pki";\nparseUsages(["server-auth"]);\n`,
      "good-usage.ts": [
        `import { type ExtKeyUsageName, type KeyUsageName, type UsageName, parseUsages } from "@dk-bootstrap/pki";`,
        `const ku: KeyUsageName = "cert sign";`,
        `const eku: ExtKeyUsageName = "client auth";`,
        `const all: UsageName[] = [ku, eku, "server auth", "digital signature"];`,
        `console.log(parseUsages(all).extKeyUsage.length, parseUsages(["signing", "key encipherment"]).keyUsage);`,
      ].join("\n"),
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^bad-usage\.ts\(2,14\): TS2820 Type '"server-auth"' is not assignable to type 'UsageName'. Did you mean '"server auth"'\?$/);
  });

  it("checkUsages reads untrusted names (JSON, a command line) with a clear error naming the place", () => {
    expect(checkUsages([" Server Auth", "signing"])).toEqual(parseUsages(["server auth", "signing"]));
    expect(() => checkUsages(["signing", "server-auth"], { file: "ca-config.json", field: "signing.profiles.www.usages" })).toThrow(
      /^ca-config.json: signing.profiles.www.usages\[1\]: unknown usage; known: signing, .*\(got "server-auth"\)$/,
    );
    // Names an object has from its prototype are not usages.
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(() => checkUsages([name]), name).toThrow(InputError);
      expect(isUsageName(name), name).toBe(false);
    }
    expect(isUsageName("crl sign")).toBe(true);
  });
});

/** Where `value` is not plain data (strings, numbers, booleans, undefined, arrays, plain objects, Dates), the path to it. */
function notPlain(value: unknown, path: string): string[] {
  if (value === undefined || value === null || ["string", "number", "boolean"].includes(typeof value)) return [];
  if (value instanceof Date && Object.getPrototypeOf(value) === Date.prototype) return [];
  if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) return value.flatMap((v, i) => notPlain(v, `${path}[${i}]`));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    return Object.entries(value).flatMap(([k, v]) => notPlain(v, `${path}.${k}`));
  return [`${path}: ${Object.getPrototypeOf(value)?.constructor?.name ?? typeof value}`];
}

describe("describeCertificate", () => {
  it("returns plain data in every field: names, SANs, usages as cfssl's names or OIDs", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const caKey = await KeyPair.generate({ algo: "ecdsa" });
    const ca = await issueCertificate(
      { subject: { CN: "ca" }, publicKey: caKey.publicKey, validity: kubeadmValidity(now, 10 * DAY), ca: { pathLen: 1 } },
      { selfKey: caKey },
    );
    const key = await KeyPair.generate({ algo: "ecdsa" });
    const usages = parseUsages(["digital signature", "server auth", "client auth"]);
    usages.extKeyUsage.push("1.2.3.4.5"); // an OID cfssl has no name for
    const cert = await issueCertificate(
      {
        subject: { CN: "web", C: ["FR"], ST: ["IDF"], L: ["Paris"], O: ["a", "b"], OU: ["ops"] },
        publicKey: key.publicKey,
        sans: { dns: ["web.example"], ip: ["10.0.0.5"], email: ["ops@example.com"], uri: ["spiffe://td/web"] },
        validity: kubeadmValidity(now, DAY),
        usages,
        serial: "0a0b",
      },
      { cert: ca, key: caKey },
    );
    const info = await describeCertificate(cert);
    const caInfo = await describeCertificate(ca);
    expect(notPlain(info, "info")).toEqual([]);
    expect(notPlain(caInfo, "caInfo")).toEqual([]);
    expect(info).toEqual({
      subject: { CN: "web", C: ["FR"], ST: ["IDF"], L: ["Paris"], O: ["a", "b"], OU: ["ops"] },
      issuer: { CN: "ca" },
      sans: { dns: ["web.example"], ip: ["10.0.0.5"], email: ["ops@example.com"], uri: ["spiffe://td/web"] },
      serialHex: "0a0b",
      serialDecimal: "2571",
      notBefore: new Date(now.getTime() - 5 * 60_000),
      notAfter: new Date(now.getTime() + DAY),
      isCA: false,
      pathLen: undefined,
      keyUsage: ["digital signature"],
      extKeyUsage: ["server auth", "client auth", "1.2.3.4.5"],
      subjectKeyId: expect.stringMatching(/^[0-9a-f]{40}$/),
      authorityKeyId: caInfo.subjectKeyId,
      sha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
      signatureAlgorithm: "ECDSAWithSHA256",
      selfSigned: false,
    });
    expect(caInfo).toMatchObject({ isCA: true, pathLen: 1, keyUsage: ["cert sign", "crl sign"], extKeyUsage: [], selfSigned: true, authorityKeyId: undefined });
    // What a user does with plain data: serialize it, and get the same thing back.
    expect(JSON.parse(JSON.stringify(info.extKeyUsage))).toEqual(info.extKeyUsage);
    expect(structuredClone(info)).toEqual(info);
  });
});
