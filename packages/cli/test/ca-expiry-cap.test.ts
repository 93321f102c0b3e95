import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCertificate } from "@dk-bootstrap/pki";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";

const notAfterOf = (file: string) => parseCertificate(readFileSync(file, "utf8"), { file }).notAfter;
const HOUR = 3_600_000;

/**
 * A leaf asked for a year under a CA that ends in 2 days ends with its CA, and the output says so.
 * Before, it was issued for the year with a warning. The real cfssl 1.2 and kubeadm issue past their CA
 * (the README lists this difference); Kubernetes' own CSR signer caps, as we do.
 */
describe("a leaf under a CA that expires in 2 days", () => {
  it("gencert and sign: capped at the CA's notAfter, with a note; cfssl 1.2 side by side issues for the full year", () => {
    const dir = tempDir();
    const cfssl = peer("cfssl");
    const cfssljson = peer("cfssljson");
    writeFileSync(join(dir, "ca-csr.json"), '{"CN":"short-lived ca","key":{"algo":"ecdsa","size":256},"ca":{"expiry":"48h"}}');
    writeFileSync(join(dir, "leaf-csr.json"), '{"CN":"leaf","hosts":["leaf.example"],"key":{"algo":"ecdsa","size":256}}');
    // One CA, made by cfssl itself, for both tools.
    const ca = run(cfssl, ["gencert", "-initca", "ca-csr.json"], { cwd: dir });
    expect(run(cfssljson, ["-bare", "ca"], { cwd: dir, input: ca.stdout }).status).toBe(0);
    const caEnd = notAfterOf(join(dir, "ca.pem"));
    expect(caEnd.getTime() - Date.now()).toBeLessThan(49 * HOUR);

    for (const [tool, name] of [
      [(args: string[]) => run(cfssl, args, { cwd: dir }), "cf"],
      [(args: string[]) => dk(args, { cwd: dir }), "dk"],
    ] as const) {
      const gen = tool(["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "leaf-csr.json"]);
      expect(gen.status, gen.stderr).toBe(0);
      expect(run(cfssljson, ["-bare", `${name}-leaf`], { cwd: dir, input: gen.stdout }).status).toBe(0);
      const signed = tool(["sign", "-ca=ca.pem", "-ca-key=ca-key.pem", `${name}-leaf.csr`]);
      expect(signed.status, signed.stderr).toBe(0);
      expect(run(cfssljson, ["-bare", `${name}-signed`], { cwd: dir, input: signed.stdout }).status).toBe(0);
      for (const file of [`${name}-leaf.pem`, `${name}-signed.pem`]) {
        expect(run(peer("openssl"), ["verify", "-CAfile", "ca.pem", file], { cwd: dir }).stdout).toMatch(/: OK/);
      }
      if (name === "dk") {
        for (const [out, file] of [
          [gen, "dk-leaf.pem"],
          [signed, "dk-signed.pem"],
        ] as const) {
          expect(notAfterOf(join(dir, file)).toISOString(), file).toBe(caEnd.toISOString());
          expect(out.stderr).toContain(`[WARNING] the certificate is capped at its CA's expiry, ${caEnd.toISOString()}`);
        }
      } else {
        // cfssl 1.2: notBefore + 8760h, a year past its CA.
        for (const file of ["cf-leaf.pem", "cf-signed.pem"]) expect(notAfterOf(join(dir, file)).getTime() - caEnd.getTime()).toBeGreaterThan(8000 * HOUR);
      }
    }
  });

  it("certs and certs renew all: every leaf the CA signs ends with it, and each says so", () => {
    const dir = tempDir();
    const pki = join(dir, "cluster", "pki");
    mkdirSync(pki, { recursive: true });
    const made = run(peer("openssl"), [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=kubernetes",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-keyout",
      join(pki, "ca.key"),
      "-out",
      join(pki, "ca.crt"),
    ]);
    expect(made.status, made.stderr).toBe(0);
    const caEnd = notAfterOf(join(pki, "ca.crt"));

    const certs = dk(["certs", "--key-algo", "ecdsa", "--node-ip", "192.0.2.7"], { cwd: dir });
    expect(certs.status, certs.stderr).toBe(0);
    expect(notAfterOf(join(pki, "apiserver.crt")).toISOString()).toBe(caEnd.toISOString());
    expect(certs.stderr).toContain(`apiserver is capped at its CA's expiry, ${caEnd.toISOString()}`);
    // The etcd CA is new (10 years): its leaves keep their year.
    expect(notAfterOf(join(pki, "etcd", "server.crt")).getTime() - Date.now()).toBeGreaterThan(8700 * HOUR);

    const renew = dk(["certs", "renew", "all"], { cwd: dir });
    expect(renew.status, renew.stderr).toBe(0);
    for (const leaf of ["apiserver", "apiserver-kubelet-client", "front-proxy-client"]) {
      const end = notAfterOf(join(pki, `${leaf}.crt`));
      if (leaf === "front-proxy-client") expect(end.getTime() - Date.now()).toBeGreaterThan(8700 * HOUR);
      else {
        expect(end.toISOString(), leaf).toBe(caEnd.toISOString());
        expect(renew.stderr).toContain(`${leaf} is capped at its CA's expiry, ${caEnd.toISOString()}`);
      }
    }
    expect(run(peer("openssl"), ["verify", "-CAfile", join(pki, "ca.crt"), join(pki, "apiserver.crt")]).stdout).toMatch(/: OK/);
  });
});
