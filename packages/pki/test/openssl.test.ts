import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:tls";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { CERT_DEFS, clusterSpec, generateClusterPki } from "../src/index.js";

// RSA-2048, the default, on purpose: this is what users get, checked by the tool everyone trusts.
describe("OpenSSL accepts the cluster PKI", () => {
  const dir = tempDir();
  const pki = (name: string) => join(dir, "pki", name);
  const openssl = peer("openssl");
  beforeAll(async () => {
    await generateClusterPki(clusterSpec({ nodeIPs: ["192.0.2.10"] }), dir);
  });

  it("verifies every certificate with -x509_strict against its own CA", () => {
    for (const def of CERT_DEFS) {
      const ca = pki(`${def.ca ?? def.name}.crt`);
      const r = run(openssl, ["verify", "-x509_strict", "-CAfile", ca, pki(`${def.name}.crt`)]);
      expect(r.stdout + r.stderr, def.name).toContain(": OK");
      expect(r.status, def.name).toBe(0);
    }
  });

  it("refuses a leaf against the wrong CA", () => {
    const r = run(openssl, ["verify", "-x509_strict", "-CAfile", pki("etcd/ca.crt"), pki("apiserver.crt")]);
    expect(r.status).not.toBe(0);
  });

  it("checks every RSA key: primes, exponents and CRT values", () => {
    for (const key of [...CERT_DEFS.map((d) => pki(`${d.name}.key`)), pki("sa.key")]) {
      const r = run(openssl, ["rsa", "-check", "-noout", "-in", key]);
      expect(r.stdout + r.stderr, key).toMatch(/^RSA key ok/);
    }
  });

  it("reads the traditional key files and matches them to their certificates", () => {
    for (const name of ["apiserver", "etcd/server", "clients/admin"]) {
      const fromKey = run(openssl, ["pkey", "-in", pki(`${name}.key`), "-pubout"]).stdout;
      const fromCert = run(openssl, ["x509", "-in", pki(`${name}.crt`), "-noout", "-pubkey"]).stdout;
      expect(fromKey).toMatch(/BEGIN PUBLIC KEY/);
      expect(fromKey).toBe(fromCert);
    }
  });

  describe("a mutual-TLS handshake", () => {
    let server: Server;
    let port = 0;
    const seen: string[] = [];
    /** The server's refusals of a client, each the TLS error Node gives (its code, else its message). */
    const refused: string[] = [];
    beforeAll(async () => {
      server = createServer({
        cert: readFileSync(pki("apiserver.crt")),
        key: readFileSync(pki("apiserver.key")),
        ca: readFileSync(pki("ca.crt")),
        requestCert: true,
        rejectUnauthorized: true,
      });
      server.on("secureConnection", (s) => {
        const c = s.getPeerCertificate();
        seen.push(`${c.subject.CN}/${String(c.subject.O ?? "")}`);
        // The client closes first (its stdin ends): a server that closed first, without TLS's close_notify, would
        // make s_client exit 1 on an "unexpected eof", depending on who is quicker.
        s.on("error", () => {});
      });
      server.on("tlsClientError", (e: NodeJS.ErrnoException) => refused.push(e.code ?? e.message));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => server.close());

    /** s_client, its input ended at once, or only once `until` is true (the server has given its verdict), bounded. */
    const sClient = (extra: string[], hostname = "kubernetes.default.svc", until?: () => boolean) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p: ChildProcess = spawn(openssl, [
          "s_client",
          "-connect",
          `127.0.0.1:${port}`,
          "-CAfile",
          pki("ca.crt"),
          "-verify_return_error",
          "-verify_hostname",
          hostname,
          ...extra,
        ]);
        let out = "";
        p.stdout!.on("data", (d) => (out += d));
        p.stderr!.on("data", (d) => (out += d));
        p.on("close", (code) => resolve({ code, out }));
        void (async () => {
          for (let i = 0; until && i < 200 && !until(); i++) await new Promise((r) => setTimeout(r, 50));
          p.stdin!.end();
        })();
      });

    it("succeeds with the admin client certificate and a verified server name", async () => {
      const r = await sClient(["-cert", pki("clients/admin.crt"), "-key", pki("clients/admin.key")]);
      expect(r.out).toContain("Verify return code: 0 (ok)");
      expect(r.code).toBe(0);
      // With TLS 1.3 the client is done before the server has checked the client's certificate: wait for the server's side.
      await expect.poll(() => seen, { timeout: 5000 }).toContain("kubernetes-admin/kubeadm:cluster-admins");
    });

    it("fails the server name check for a name not in the certificate", async () => {
      const r = await sClient(["-cert", pki("clients/admin.crt"), "-key", pki("clients/admin.key")], "evil.example");
      expect(r.code).not.toBe(0);
    });

    it("is refused by the server with a certificate of another CA", async () => {
      const [before, refusals] = [seen.length, refused.length];
      // With TLS 1.3 the server checks the client's certificate after the client is done: the client stays connected
      // until the server has said something (a refusal, or a wrongly accepted connection).
      const r = await sClient(
        ["-cert", pki("apiserver-etcd-client.crt"), "-key", pki("apiserver-etcd-client.key")],
        undefined,
        () => refused.length > refusals || seen.length > before,
      );
      // Node's server ends the connection without an alert (the client reads an unexpected EOF) and reports it as a client error.
      expect(refused.length).toBe(refusals + 1);
      expect(r.out).toMatch(/unexpected eof while reading/);
      expect(seen.length).toBe(before);
    });
  });
});
