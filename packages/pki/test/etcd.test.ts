import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Etcd, refusedLine, startEtcd } from "../../../test-support/etcd-local.js";
import { tempDir } from "../../../test-support/peers.js";
import { clusterSpec, generateClusterPki } from "../src/index.js";

describe("a real etcd with the generated etcd certificates", () => {
  const dir = tempDir();
  // On ports of this run's own (test-support/etcd-local.ts), so that another run of the suite on this machine never meets this etcd.
  let etcd: Etcd;
  const ctl = (args: string[], cert?: string) => etcd.ctl(args, cert);

  beforeAll(async () => {
    // RSA-2048, the default: Go's TLS signs and verifies with the keys dk-bootstrap makes (src/rsa.ts).
    await generateClusterPki(clusterSpec(), dir);
    etcd = await startEtcd(dir);
  });
  afterAll(() => {
    etcd?.stop();
  });

  it("lets the apiserver's etcd client write and read", () => {
    expect(ctl(["put", "/registry/demo", "hello"], "apiserver-etcd-client").status).toBe(0);
    const r = ctl(["get", "/registry/demo", "--print-value-only"], "apiserver-etcd-client");
    expect(r.stdout.trim()).toBe("hello");
  });

  it("answers the health check client", () => {
    const r = ctl(["endpoint", "health"], "etcd/healthcheck-client");
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/is healthy/);
  });

  // etcdctl only says its deadline passed; the refusal's own error is etcd's, in its log.
  it("refuses a client without a certificate", async () => {
    const from = etcd.logSize();
    const r = ctl(["get", "/registry/demo"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(await etcd.logged(refusedLine(/client didn't provide a certificate/), from)).toBeTruthy();
  });

  it("refuses a client whose certificate comes from the cluster CA, not the etcd CA", async () => {
    const from = etcd.logSize();
    const r = ctl(["get", "/registry/demo"], "clients/super-admin");
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(await etcd.logged(refusedLine(/x509: certificate signed by unknown authority/), from)).toBeTruthy();
  });
});
