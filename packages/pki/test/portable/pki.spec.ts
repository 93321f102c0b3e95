// The pki's portable tests: one source run by vitest on Node (portable.test.ts with the portable key backend,
// portable-node-backend.test.ts with Node's) and, bundled, in Chromium, Bun and Deno (packages/kubeconfig/test/browser.test.ts).
// Only the portable entry and WebCrypto: no `node:` module, no file, no peer tool.
import { describe, expect, it } from "vitest";
import {
  CA_DEFS,
  HOUR_MS,
  InputError,
  KeyPair,
  LEAF_DEFS,
  type KeySpec,
  checkClusterFiles,
  clusterPkiFiles,
  clusterSpec,
  describeCertificate,
  firstServiceIP,
  fromBase64,
  isIP,
  issueCertificate,
  keyMatchesCertificate,
  kubeadmValidity,
  makeClusterPki,
  parseCertificate,
  parseUsages,
  toBase64,
  verifyChain,
} from "@dk-bootstrap/pki/core";

/** The error a promise is refused with (the test fails if it is not refused). */
async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a refusal, the promise resolved");
}

/** The label and DER of a PEM block. */
function pemParts(pem: string): { label: string; der: Uint8Array } {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem)!;
  return { label: m[1]!, der: fromBase64(m[2]!) };
}

function toPem(label: string, der: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${toBase64(der).replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END ${label}-----\n`;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

describe("keys with WebCrypto alone", () => {
  const cases: [string, KeySpec, string][] = [
    ["ECDSA P-256", { algo: "ecdsa" }, "EC PRIVATE KEY"],
    ["ECDSA P-384", { algo: "ecdsa", size: 384 }, "EC PRIVATE KEY"],
    ["ECDSA P-521", { algo: "ecdsa", size: 521 }, "EC PRIVATE KEY"],
    ["RSA-2048", { algo: "rsa", size: 2048 }, "RSA PRIVATE KEY"],
    ["Ed25519", { algo: "ed25519" }, "PRIVATE KEY"],
  ];
  for (const [name, spec, label] of cases) {
    it(`${name}: made, written in both forms, read back as the same key`, async () => {
      const key = await KeyPair.generate(spec);
      const spki = await key.spki();
      const traditional = key.privateKeyPem("traditional");
      const pkcs8 = key.privateKeyPem("pkcs8");
      expect(pemParts(traditional).label).toBe(label);
      expect(pemParts(pkcs8).label).toBe("PRIVATE KEY");
      expect(pemParts(key.publicKeyPem())).toEqual({ label: "PUBLIC KEY", der: spki });
      expect(traditional).toMatch(/^-----BEGIN [A-Z ]+-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END [A-Z ]+-----\n$/);
      for (const pem of [traditional, pkcs8]) {
        const back = await KeyPair.fromPem(pem, { file: "k.key" });
        expect(back.spec).toEqual(key.spec);
        expect(hex(await back.spki())).toBe(hex(spki));
        // The same key writes the same text again.
        expect(back.privateKeyPem(pem === traditional ? "traditional" : "pkcs8")).toBe(pem);
      }
    });
  }

  it("RSA-2048: a 2048-bit modulus with e = 65537", async () => {
    const key = await KeyPair.generate({ algo: "rsa" });
    const alg = key.publicKey.algorithm as RsaHashedKeyAlgorithm;
    expect(alg.modulusLength).toBe(2048);
    expect(hex(alg.publicExponent)).toBe("010001");
  });

  it("reads cfssl's Ed25519 PRIVATE KEY label", async () => {
    const key = await KeyPair.generate({ algo: "ed25519" });
    const cfssl = key.privateKeyPem().replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "-----$1 ED25519 PRIVATE KEY-----");
    expect(hex(await (await KeyPair.fromPem(cfssl)).spki())).toBe(hex(await key.spki()));
  });
});

describe("a damaged or unusable key is refused, with its file named", () => {
  const damaged = async (pem: string) => {
    const e = await refusal(KeyPair.fromPem(pem, { file: "pki/ca.key" }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message.startsWith("pki/ca.key: ")).toBe(true);
    expect(e.message).not.toMatch(/\n/);
    return e.message;
  };

  it("RSA: one flipped bit in the CRT coefficient, the last number of the key", async () => {
    const { label, der } = pemParts((await KeyPair.generate({ algo: "rsa" })).privateKeyPem());
    const bad = der.slice();
    bad[bad.length - 1]! ^= 0x10;
    expect(await damaged(toPem(label, bad))).toMatch(/damaged: the RSA CRT coefficient qInv is not the inverse of q mod p/);
  });

  it("ECDSA: a valid point that is not the private scalar's", async () => {
    const a = pemParts((await KeyPair.generate({ algo: "ecdsa" })).privateKeyPem());
    const b = pemParts((await KeyPair.generate({ algo: "ecdsa" })).privateKeyPem());
    // SEC1 for P-256 ends with the 65-byte uncompressed point: keep a's scalar, take b's point.
    const mixed = a.der.slice();
    mixed.set(b.der.subarray(b.der.length - 65), mixed.length - 65);
    expect(await damaged(toPem(a.label, mixed))).toMatch(/damaged: the ECDSA public point is not the one its private scalar gives/);
  });

  it("ECDSA: a point off the curve (OpenSSL, under Node's backend, already refuses to read it)", async () => {
    const { label, der } = pemParts((await KeyPair.generate({ algo: "ecdsa" })).privateKeyPem());
    const bad = der.slice();
    bad[bad.length - 1]! ^= 0x01;
    expect(await damaged(toPem(label, bad))).toMatch(/damaged: the ECDSA public point is not on its curve|not a readable PEM private key/);
  });

  it("not a key, a truncated key, an encrypted key, a certificate", async () => {
    const pem = (await KeyPair.generate({ algo: "ecdsa" })).privateKeyPem();
    const { label, der } = pemParts(pem);
    expect(await damaged("hello")).toMatch(/not a readable PEM private key/);
    expect(await damaged(toPem(label, der.subarray(0, der.length - 10)))).toMatch(/not a readable PEM private key/);
    expect(await damaged(toPem("ENCRYPTED PRIVATE KEY", der))).toMatch(/not a readable PEM private key/);
    expect(await damaged(pem.replace("-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n"))).toMatch(/not a readable/);
    expect(await damaged(toPem("CERTIFICATE", der))).toMatch(/not a readable PEM private key/);
  });
});

describe("certificates", () => {
  it("issues a CA and a leaf that chain to it, with the SANs and usages asked for", async () => {
    const now = new Date();
    const [caKey, leafKey] = await Promise.all([KeyPair.generate({ algo: "ecdsa" }), KeyPair.generate({ algo: "ecdsa" })]);
    const ca = await issueCertificate(
      { subject: { CN: "test-ca" }, publicKey: caKey.publicKey, validity: kubeadmValidity(now, 86_400_000), ca: {} },
      { selfKey: caKey },
    );
    const leaf = await issueCertificate(
      {
        subject: { CN: "web", O: ["team"] },
        publicKey: leafKey.publicKey,
        sans: { dns: ["web.example"], ip: ["10.0.0.1", "fd00::1"] },
        validity: kubeadmValidity(now, 3_600_000),
        usages: parseUsages(["digital signature", "server auth"]),
      },
      { cert: ca, key: caKey },
    );
    expect(await verifyChain(leaf, [ca], [], now)).toEqual([]);
    const info = await describeCertificate(parseCertificate(leaf.toString("pem"), { file: "web.crt" }));
    expect(info.subject).toEqual({ CN: "web", O: ["team"] });
    expect(info.issuer).toEqual({ CN: "test-ca" });
    expect(info.sans.dns).toEqual(["web.example"]);
    expect(info.sans.ip).toEqual(["10.0.0.1", "fd00::1"]);
    expect(info.extKeyUsage).toEqual(["server auth"]);
    expect(await keyMatchesCertificate(leafKey, leaf)).toBe(true);
    expect(await keyMatchesCertificate(caKey, leaf)).toBe(false);
    // Another CA's leaf does not chain to this one.
    const other = await KeyPair.generate({ algo: "ecdsa" });
    const otherCa = await issueCertificate(
      { subject: { CN: "test-ca" }, publicKey: other.publicKey, validity: kubeadmValidity(now, 86_400_000), ca: {} },
      { selfKey: other },
    );
    expect((await verifyChain(leaf, [otherCa], [], now)).length).toBeGreaterThan(0);
  });
});

describe("the cluster PKI in memory", () => {
  it("ECDSA: every certificate of the list, each signed by its CA, and the files certs writes", async () => {
    const now = new Date();
    const spec = clusterSpec({ nodeName: "node-1", nodeIPs: ["192.168.1.10"], key: { algo: "ecdsa" } });
    const pki = await makeClusterPki(spec, { now });
    expect([...pki.entries.keys()]).toEqual([...CA_DEFS, ...LEAF_DEFS].map((d) => d.name));
    for (const def of LEAF_DEFS) {
      const e = pki.entries.get(def.name)!;
      const ca = pki.entries.get(def.ca!)!;
      expect(await verifyChain(e.cert, [ca.cert], [], now), def.name).toEqual([]);
      expect(await keyMatchesCertificate(e.key!, e.cert), def.name).toBe(true);
      expect((await describeCertificate(e.cert)).subject.CN, def.name).toBe(def.cn(spec));
    }
    const apiserver = await describeCertificate(pki.entries.get("apiserver")!.cert);
    expect(apiserver.sans.ip).toEqual([firstServiceIP(spec.serviceCidr), "192.168.1.10", "127.0.0.1"]);
    expect(apiserver.sans.dns).toContain("kubernetes.default.svc.cluster.local");
    const files = clusterPkiFiles(pki);
    const names = [...CA_DEFS, ...LEAF_DEFS].map((d) => d.name);
    expect(files.map((f) => f.path).sort()).toEqual([...names.flatMap((n) => [`pki/${n}.crt`, `pki/${n}.key`]), "pki/sa.key", "pki/sa.pub"].sort());
    for (const f of files) expect(f.mode, f.path).toBe(f.path.endsWith(".key") ? 0o600 : 0o644);
    expect(files.find((f) => f.path === "pki/ca.key")!.content).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(pki.actions.every((a) => a.action === "made")).toBe(true);
  });

  it("the spec is checked with the CLI's words", () => {
    const bad = (partial: Parameters<typeof clusterSpec>[0]) => {
      try {
        clusterSpec(partial);
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(bad({ nodeIPs: ["10.0.0.300"] })).toMatch(/node-ip/);
    expect(bad({ serviceCidr: "10.0.0.0/31" })).toMatch(/service-cidr/);
    expect(bad({ nodeName: "Node_1" })).toMatch(/node-name/);
    expect(bad({ key: { algo: "rsa", size: 1024 } })).toMatch(/RSA key size/);
    expect(firstServiceIP("fd00:10::/108")).toBe("fd00:10::1");
    expect([isIP("10.0.0.1"), isIP("::ffff:10.0.0.1"), isIP("010.0.0.1"), isIP("fe80::1%eth0")]).toEqual([4, 6, 0, 6]);
  });
});

describe("a cluster folder's files checked as a whole", () => {
  it("a folder just made: every certificate of the list, each key matching, each chain and name as planned", async () => {
    const spec = clusterSpec({ nodeName: "node-1", nodeIPs: ["10.1.1.1"], key: { algo: "ecdsa" } });
    const files = clusterPkiFiles(await makeClusterPki(spec)).map((f) => ({ ...f, path: `cluster/${f.path}` }));
    const checked = await checkClusterFiles(files, { spec });
    expect(checked.map((c) => c.name)).toEqual([...CA_DEFS, ...LEAF_DEFS].map((d) => d.name));
    expect(checked.flatMap((c) => c.problems.map((p) => `${c.name}: ${p}`))).toEqual([]);
    expect(new Set(checked.map((c) => `${c.key} ${c.expiry}`))).toEqual(new Set(["matches ok"]));
    expect(checked.find((c) => c.name === "apiserver")!.info!.sans.ip).toContain("10.1.1.1");
  });

  it("a swapped key, a missing key, an expired leaf, a name the plan wants and the certificate lacks", async () => {
    const spec = clusterSpec({ nodeName: "node-1", key: { algo: "ecdsa" } });
    const now = new Date();
    const fresh = clusterPkiFiles(await makeClusterPki(spec, { now }));
    // A PKI made 400 days ago: its leaves (365 days) have expired, its CAs (10 years) have not.
    const old = clusterPkiFiles(await makeClusterPki(spec, { now: new Date(now.getTime() - 400 * 24 * HOUR_MS) }));
    const text = (files: typeof fresh, path: string) => files.find((f) => f.path === path)!.content;
    const files = fresh
      .filter((f) => f.path !== "pki/clients/admin.key" && !f.path.startsWith("pki/etcd/"))
      .map((f) => (f.path === "pki/apiserver.key" ? { ...f, content: text(fresh, "pki/kubelet.key") } : f))
      .concat(old.filter((f) => f.path.startsWith("pki/etcd/")));
    const checked = await checkClusterFiles(files, { spec: { ...spec, nodeIPs: ["10.9.9.9"] }, now });
    const byName = new Map(checked.map((c) => [c.name, c]));
    expect(byName.get("apiserver")!.key).toBe("mismatch");
    expect(byName.get("apiserver")!.problems).toContain("its key pki/apiserver.key does not match it");
    expect(byName.get("apiserver")!.problems.join("\n")).toMatch(/its names lack 10\.9\.9\.9, which the plan serves/);
    expect(byName.get("clients/admin")!.key).toBe("missing");
    expect(byName.get("clients/admin")!.problems).toContain("its key pki/clients/admin.key is missing");
    expect([byName.get("etcd/server")!.expiry, byName.get("etcd/ca")!.expiry, byName.get("ca")!.expiry]).toEqual(["expired", "ok", "ok"]);
    expect(byName.get("etcd/server")!.timeLeftMs).toBeLessThan(0);
    expect(byName.get("etcd/server")!.problems.join("\n")).toMatch(/not valid at/);
    expect(byName.get("kubelet")!.problems.join("\n")).toMatch(/its names lack 10\.9\.9\.9/);
    expect(byName.get("front-proxy-client")!.problems).toEqual([]);
  });

  it("an empty key file is there but unreadable, not missing", async () => {
    const spec = clusterSpec({ nodeName: "node-1", key: { algo: "ecdsa" } });
    const files = clusterPkiFiles(await makeClusterPki(spec)).map((f) => (f.path === "pki/apiserver.key" ? { ...f, content: "" } : f));
    const apiserver = (await checkClusterFiles(files)).find((c) => c.name === "apiserver")!;
    expect(apiserver.key).toBe("unreadable");
    expect(apiserver.problems.join("\n")).toMatch(/not a readable PEM private key/);
  });
});
