// A real etcd with client-cert-auth on ports of this run's own, serving with a cluster folder's etcd certificates: what
// the single-host etcd tests (pki's certificates, the web page's folder) start, so that they start it the same way. It is
// the newest etcd of the release table (3.7.4, Kubernetes 1.37's), built from etcd's modules (test-support/built-peers.ts),
// with its own etcdctl.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { freePorts } from "./machine.js";
import { etcdTool, etcdctlOf } from "./mirror.js";
import { run } from "./peers.js";

/** The release the single-host etcd tests run. */
export const LOCAL_ETCD = RELEASES[0]!.etcd;

/** The line etcd (3.5 and later, JSON logs) writes when it refuses a client's TLS handshake, with the refusal's own error. */
export const refusedLine = (error: RegExp) => new RegExp(`"msg":"rejected connection on client endpoint".*"error":"tls: [^"]*${error.source}`);

/** A running etcd and an etcdctl that dials it with one of the folder's etcd client certificates. */
export interface Etcd {
  ctl(args: string[], cert?: string): ReturnType<typeof run>;
  /** Resolves with etcd's first log line (stdout and stderr) past `from` characters that matches `line`; throws after 15 s without one. */
  logged(line: RegExp, from?: number): Promise<string>;
  /** How many characters etcd has logged so far (a `from` for {@link Etcd.logged}). */
  logSize(): number;
  stop(): void;
}

/** Starts etcd on `dir`'s pki/etcd certificates; resolves once the health-check client sees it healthy. */
export async function startEtcd(dir: string): Promise<Etcd> {
  const pki = (name: string) => join(dir, "pki", name);
  let client = "";
  const ctl = (args: string[], cert?: string) =>
    run(
      etcdctlOf(LOCAL_ETCD).path,
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
      { env: etcdctlOf(LOCAL_ETCD).env },
    );
  let log = "";
  // Free when chosen, but another process may bind one first: then etcd exits at once, and another pair is tried.
  for (let attempt = 0; attempt < 5; attempt++) {
    const [clientPort, peerPort] = await freePorts(2);
    client = `https://127.0.0.1:${clientPort}`;
    const peerUrl = `https://127.0.0.1:${peerPort}`;
    log = "";
    const etcd: ChildProcess = spawn(etcdTool(LOCAL_ETCD, "etcd"), [
      ...["--name", "kubernetes", "--data-dir", join(dir, `etcd-data-${attempt}`)],
      ...["--listen-client-urls", client, "--advertise-client-urls", client],
      ...["--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `kubernetes=${peerUrl}`],
      ...["--client-cert-auth", "--trusted-ca-file", pki("etcd/ca.crt"), "--cert-file", pki("etcd/server.crt"), "--key-file", pki("etcd/server.key")],
      ...[
        "--peer-client-cert-auth",
        "--peer-trusted-ca-file",
        pki("etcd/ca.crt"),
        "--peer-cert-file",
        pki("etcd/peer.crt"),
        "--peer-key-file",
        pki("etcd/peer.key"),
      ],
    ]);
    const exited = new Promise((r) => etcd.once("exit", r));
    etcd.stderr!.on("data", (d) => (log += d));
    etcd.stdout!.on("data", (d) => (log += d));
    for (let i = 0; i < 240; i++) {
      if (ctl(["endpoint", "health"], "etcd/healthcheck-client").status === 0) {
        const current = () => log;
        const logged = async (line: RegExp, from = 0) => {
          for (let i = 0; i < 150; i++) {
            const found = current()
              .slice(from)
              .split("\n")
              .find((l) => line.test(l));
            if (found !== undefined) return found;
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error(`etcd never logged ${line}:\n${current().slice(from).slice(-2000)}`);
        };
        return { ctl, logged, logSize: () => current().length, stop: () => etcd.kill("SIGTERM") };
      }
      if (etcd.exitCode !== null || etcd.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    etcd.kill("SIGKILL");
    await exited;
    if (!/address already in use/.test(log)) break;
  }
  throw new Error(`etcd did not become healthy:\n${log.slice(-2000)}`);
}
