import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../../test-support/machine.js";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { clusterSpec, generateClusterPki } from "../src/index.js";

describe("a real etcd with the generated etcd certificates", () => {
  const dir = tempDir();
  const pki = (name: string) => join(dir, "pki", name);
  const etcdctl = peer("etcdctl");
  let etcd: ChildProcess;
  let log = "";
  // Ports of this run's own, so that another run of the suite on this machine never meets this etcd.
  let client = "";

  const ctl = (args: string[], cert?: string) =>
    run(
      etcdctl,
      [
        "--endpoints",
        client,
        "--cacert",
        pki("etcd/ca.crt"),
        "--dial-timeout",
        "3s",
        "--command-timeout",
        "2s",
        ...(cert ? ["--cert", pki(`${cert}.crt`), "--key", pki(`${cert}.key`)] : []),
        ...args,
      ],
      {
        env: { ...process.env, ETCDCTL_API: "3" },
      },
    );

  beforeAll(async () => {
    // RSA-2048, the default: Go's TLS signs and verifies with the keys dk-bootstrap makes (src/rsa.ts).
    await generateClusterPki(clusterSpec(), dir);
    // Free when chosen, but another process may bind one first: then etcd exits at once, and another pair is tried.
    for (let attempt = 0; attempt < 5; attempt++) {
      const [clientPort, peerPort] = await freePorts(2);
      client = `https://127.0.0.1:${clientPort}`;
      const peerUrl = `https://127.0.0.1:${peerPort}`;
      log = "";
      etcd = spawn(peer("etcd"), [
        "--name",
        "kubernetes",
        "--data-dir",
        join(dir, `etcd-data-${attempt}`),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peerUrl,
        "--initial-advertise-peer-urls",
        peerUrl,
        "--initial-cluster",
        `kubernetes=${peerUrl}`,
        "--client-cert-auth",
        "--trusted-ca-file",
        pki("etcd/ca.crt"),
        "--cert-file",
        pki("etcd/server.crt"),
        "--key-file",
        pki("etcd/server.key"),
        "--peer-client-cert-auth",
        "--peer-trusted-ca-file",
        pki("etcd/ca.crt"),
        "--peer-cert-file",
        pki("etcd/peer.crt"),
        "--peer-key-file",
        pki("etcd/peer.key"),
      ]);
      const exited = new Promise((r) => etcd.once("exit", r));
      etcd.stderr!.on("data", (d) => (log += d));
      etcd.stdout!.on("data", (d) => (log += d));
      for (let i = 0; i < 240; i++) {
        if (ctl(["endpoint", "health"], "etcd/healthcheck-client").status === 0) return;
        if (etcd.exitCode !== null || etcd.signalCode !== null) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      etcd.kill("SIGKILL");
      await exited;
      if (!/address already in use/.test(log)) break;
    }
    throw new Error(`etcd did not become healthy:\n${log.slice(-2000)}`);
  });
  afterAll(() => {
    etcd?.kill("SIGTERM");
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

  it("refuses a client without a certificate", () => {
    const r = ctl(["get", "/registry/demo"]);
    expect(r.status).not.toBe(0);
  });

  it("refuses a client whose certificate comes from the cluster CA, not the etcd CA", () => {
    const r = ctl(["get", "/registry/demo"], "clients/super-admin");
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("hello");
  });
});
