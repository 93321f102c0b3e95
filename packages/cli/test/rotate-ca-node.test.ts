// certs rotate-ca etcd ssh user@host: the one-node cluster of `dk-bootstrap ssh`, on a network-namespace host with a
// real sshd and etcd; its spec comes from the folder's saved settings, so only what the rotation changed restarts.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRotation, withClusterFolder } from "@dk-bootstrap/pki";
import { type Mirror, etcdMirrorFiles, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { dkAsync, runAsync, tempDir } from "../../../test-support/peers.js";

/** Kubernetes 1.36's etcd (the release table), built from etcd's modules by test-support/built-peers.ts. */
const ETCD = "3.6.17";
import { type TestHost, startNodeTestHost, waitForSsh } from "../../../test-support/test-host.js";

describe("certs rotate-ca etcd ssh user@host", () => {
  const work = tempDir();
  const dir = join(work, "cluster");
  let host: TestHost;
  let mirror: Mirror;
  const connection = () => ["-i", host.keyFile, "--known-hosts", join(work, "known_hosts")];
  beforeAll(async () => {
    host = startNodeTestHost(work);
    mirror = await startMirror(host.hostIp, etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
    await waitForSsh(host);
    const up = await dkAsync(
      [
        "ssh",
        `${host.user}@${host.ip}`,
        ...connection(),
        "--accept-new-host-key",
        "--remote-root",
        join(work, "node"),
        "--dir",
        dir,
        "--mirror",
        mirror.url,
        "--allow-http-mirror",
        "--checksums",
        mirror.checksums(),
        "--k8s-version",
        "v1.36.0",
        "--etcd-version",
        ETCD,
        "--key-algo",
        "ecdsa",
        "--until",
        "etcd",
      ],
      { cwd: work },
    );
    if (up.status !== 0) throw new Error(`ssh failed: ${up.stdout}\n${up.stderr}`);
  }, 300_000);
  afterAll(async () => {
    await mirror?.close();
    host?.stop();
  });

  const etcdctl = (tls: { ca: string; cert: string; key: string }, ...args: string[]) =>
    runAsync(
      etcdctlOf(ETCD).path,
      [`--endpoints=https://${host.ip}:2379`, `--cacert=${tls.ca}`, `--cert=${tls.cert}`, `--key=${tls.key}`, "--command-timeout=5s", ...args],
      { env: etcdctlOf(ETCD).env },
    );
  const pki = () => join(dir, "pki", "etcd");
  const client = () => ({ ca: join(pki(), "ca.crt"), cert: join(pki(), "healthcheck-client.crt"), key: join(pki(), "healthcheck-client.key") });
  const pid = () => execFileSync("pgrep", ["-u", String(host.uid), "-x", "etcd"], { encoding: "utf8" }).trim();

  it("rotates the folder's etcd CA through three phases; the node then trusts and serves the new CA only, and nothing else is pending", async () => {
    const old = { ca: join(work, "old-ca.crt"), cert: join(work, "old.crt"), key: join(work, "old.key") };
    for (const [from, to] of [
      [client().ca, old.ca],
      [client().cert, old.cert],
      [client().key, old.key],
    ] as const)
      copyFileSync(from, to);
    expect((await etcdctl(old, "put", "/dk/before", "yes")).status).toBe(0);
    const before = pid();
    // Phase 1 written as if a run had been stopped before its rollout: status says so, and the run resumes it.
    await withClusterFolder(dir, undefined, (f) => startRotation(f, "etcd"));
    const status1 = await dkAsync(["status", `${host.user}@${host.ip}`, ...connection(), "--dir", dir], { cwd: work });
    expect(status1.stdout, status1.stderr).toMatch(
      /^rotation: etcd CA rotation to a new CA: phase 1\/3 \(old and new CA trusted, the old one signs\), rolling out$/m,
    );
    expect(status1.stdout).toMatch(/\netcd\s+yes\s+no\s+yes\n/);

    // The node says kube-apiserver ran too (its apiserver-etcd-client holds the etcd CA's files): --until etcd pushes
    // phase 1 to etcd alone, so the phase is not rolled out, and the run says so instead of going on.
    const fake = join(work, "node", "var/lib/dk-bootstrap/steps/kube-apiserver");
    writeFileSync(fake, "0\n");
    const short = await dkAsync(["certs", "rotate-ca", "etcd", "ssh", `${host.user}@${host.ip}`, ...connection(), "--dir", dir, "--until", "etcd"], {
      cwd: work,
    });
    rmSync(fake);
    expect(short.status, `${short.stdout}\n${short.stderr}`).toBe(0);
    expect(short.stdout).toMatch(/phase 1\/3 is not rolled out: --until etcd stops before kube-apiserver, which hold the etcd CA's files/);
    expect(short.stdout).toMatch(/^\[rotate-ca\] stopped: etcd CA rotation to a new CA: phase 1\/3 .*, rolling out$/m);
    expect(short.stdout).not.toMatch(/finished|done:/);
    expect(JSON.parse(readFileSync(join(dir, "pki", "rotation", "state.json"), "utf8"))).toMatchObject({ phase: 1, rolledOut: false });

    // --verbose prints every remote line; the run log (XDG_CACHE_HOME) holds every event: neither may hold a key.
    const cache = join(work, "cache");
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    const r = await dkAsync(["certs", "rotate-ca", "etcd", "ssh", `${host.user}@${host.ip}`, ...connection(), "--dir", dir, "--verbose"], { cwd: work, env });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/resuming: etcd CA rotation to a new CA: phase 1\/3/);
    expect(r.stdout).toMatch(/phase 1\/3 .*: apply --until etcd/);
    expect(r.stdout).toMatch(/re-issued: pki\/etcd\/server\.crt, pki\/etcd\/peer\.crt, pki\/etcd\/healthcheck-client\.crt, pki\/apiserver-etcd-client\.crt$/m);
    expect(r.stdout).toMatch(/etcd CA rotation finished/);
    expect(pid()).not.toBe(before);

    const state = JSON.parse(readFileSync(join(dir, "pki", "rotation", "state.json"), "utf8")) as { archive: string };
    const newCa = join(dir, state.archive, "new.crt");
    expect(readFileSync(join(work, "node", "etc/kubernetes/pki/etcd/ca.crt"), "utf8")).toBe(readFileSync(newCa, "utf8"));
    const served = await runAsync("sh", [
      "-c",
      `echo | openssl s_client -connect ${host.ip}:2379 -cert ${client().cert} -key ${client().key} 2>/dev/null | openssl x509`,
    ]);
    writeFileSync(join(work, "served.pem"), served.stdout);
    expect(execFileSync("openssl", ["verify", "-CAfile", newCa, join(work, "served.pem")], { encoding: "utf8" })).toMatch(/: OK/);
    expect((await etcdctl({ ...old, ca: newCa }, "get", "/dk/before")).status).not.toBe(0);
    expect((await etcdctl(client(), "get", "/dk/before", "--print-value-only")).stdout.trim()).toBe("yes");

    // The node runs what the folder says: a plain re-run of ssh has nothing to do. The old CA's key is still in the
    // archive, and status says so until --purge-archive removes it.
    const status = await dkAsync(["status", `${host.user}@${host.ip}`, ...connection(), "--dir", dir], { cwd: work });
    expect(status.stdout, status.stderr).toMatch(/\netcd\s+yes\s+yes\s+yes\n/);
    expect(status.stdout).toMatch(new RegExp(`^rotation: the old etcd CA's key is still kept in ${join(dir, state.archive)}: .*--purge-archive`, "m"));
    const purged = await dkAsync(["certs", "rotate-ca", "etcd", "--purge-archive", "--dir", dir], { cwd: work });
    expect(purged.stdout, purged.stderr).toBe(`[rotate-ca] removed ${join(dir, state.archive)} (the old etcd CA's key with it)\n`);
    const after = await dkAsync(["status", `${host.user}@${host.ip}`, ...connection(), "--dir", dir], { cwd: work });
    expect(after.stdout, after.stderr).not.toMatch(/^rotation:/m);

    // A second rotation with --json (stdout is then the events themselves): still no key in what it prints or logs.
    const j = await dkAsync(["certs", "rotate-ca", "front-proxy", "ssh", `${host.user}@${host.ip}`, ...connection(), "--dir", dir, "--json"], {
      cwd: work,
      env,
    });
    expect(j.status, `${j.stdout}\n${j.stderr}`).toBe(0);
    expect(j.stdout).toMatch(/^\{"time":.*"type":"step-(start|done)"/m);
    const logs = readdirSync(join(cache, "dk-bootstrap", "runs")).map((f) => readFileSync(join(cache, "dk-bootstrap", "runs", f), "utf8"));
    expect(logs.length).toBe(2);
    expect(logs.every((l) => l.includes('"type":"step-'))).toBe(true);
    for (const text of [r.stdout, r.stderr, j.stdout, j.stderr, ...logs]) expect(text).not.toMatch(/PRIVATE KEY|BEGIN [A-Z ]*KEY/);

    // The cluster CA: the admin kubeconfig `ssh` handed over (admin-HOST.conf, the one users export) follows each
    // phase: it ends with the new CA alone and a client certificate that CA signed.
    const handed = join(dir, `admin-${host.ip}.conf`);
    writeFileSync(handed, readFileSync(join(dir, "admin.conf"), "utf8").replace(/server: .*/, `server: https://${host.ip}:6443`), { mode: 0o600 });
    const c = await dkAsync(["certs", "rotate-ca", "cluster", "ssh", `${host.user}@${host.ip}`, ...connection(), "--dir", dir], { cwd: work });
    expect(c.status, `${c.stdout}\n${c.stderr}`).toBe(0);
    const kube = load(readFileSync(handed, "utf8")) as {
      users: { user: { "client-certificate-data": string } }[];
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
    };
    const clusterCa = readFileSync(join(dir, "pki", "ca.crt"), "utf8");
    expect(Buffer.from(kube.clusters[0]!.cluster["certificate-authority-data"], "base64").toString()).toBe(clusterCa);
    expect(kube.clusters[0]!.cluster.server).toBe(`https://${host.ip}:6443`);
    writeFileSync(join(work, "handed.crt"), Buffer.from(kube.users[0]!.user["client-certificate-data"], "base64"));
    writeFileSync(join(work, "cluster-ca.crt"), clusterCa);
    expect(execFileSync("openssl", ["verify", "-CAfile", join(work, "cluster-ca.crt"), join(work, "handed.crt")], { encoding: "utf8" })).toMatch(/: OK/);
  }, 600_000);
});
