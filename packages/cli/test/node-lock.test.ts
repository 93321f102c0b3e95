// A node run (`ssh`) holds the node's lock (a second run on the node is refused, told who holds it) and the cluster
// folder's lock to its end: the steps upload the folder's PKI, and a `certs --force` started meanwhile waits for the
// run instead of replacing the PKI halfway through the upload.
// The run is held at a known point: the test mirror answers the etcd tarball only when the test lets it.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdMirrorFiles, mirrorBuffers, trustedChecksums } from "../../../test-support/mirror.js";
import { background, until } from "../../../test-support/background.js";
import { tempDir } from "../../../test-support/peers.js";
import { type TestHost, startNodeTestHost, waitForSsh } from "../../../test-support/test-host.js";

/** Kubernetes 1.36's etcd (the release table), built from etcd's modules by test-support/built-peers.ts. */
const ETCD = "3.6.17";

describe("a node run, a second run on the same node, and a certs --force on the same cluster folder", () => {
  const work = tempDir("dk-node-lock-");
  const dir = join(work, "cluster");
  let host: TestHost;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let asked = false;
  const files = mirrorBuffers(etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
  const checksums = trustedChecksums(join(work, "trusted.sha256"), files);
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? "");
    if (!body) return void res.writeHead(404).end();
    const send = () => res.writeHead(200, { "content-length": body.length }).end(body);
    if (!req.url!.endsWith(".tar.gz")) return send();
    asked = true;
    void gate.then(send);
  });
  let mirror = "";

  beforeAll(async () => {
    host = startNodeTestHost(work);
    await new Promise<void>((r) => server.listen(0, host.hostIp, r));
    mirror = `http://${host.hostIp}:${(server.address() as { port: number }).port}`;
    await waitForSsh(host);
  });
  afterAll(async () => {
    release();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    host?.stop();
  });

  it("a second run on the node is refused with the first's PID and command; certs --force waits for the run's end: the node gets the PKI the run made, whole", async () => {
    const remoteRoot = join(work, "node");
    const run = background(
      [
        "ssh",
        `${host.user}@${host.ip}`,
        ...["-i", host.keyFile, "--known-hosts", join(work, "known_hosts"), "--accept-new-host-key", "--remote-root", remoteRoot],
        ...[
          "--dir",
          dir,
          "--mirror",
          mirror,
          "--allow-http-mirror",
          "--checksums",
          checksums,
          "--k8s-version",
          "v1.36.0",
          "--etcd-version",
          ETCD,
          "--key-algo",
          "ecdsa",
          "--until",
          "etcd",
        ],
      ],
      work,
    );
    // Past the PKI step and into the etcd step: the node asks for the tarball, and waits for it.
    await until("the node to ask for the etcd tarball", () => asked || run.out.stderr.includes("error"));
    expect(asked, run.out.stderr).toBe(true);
    const made = readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8");
    const owner = JSON.parse(readFileSync(join(dir, ".dk-bootstrap.lock"), "utf8")) as { pid: number; command: string };
    expect(owner.pid).toBe(run.pid);
    expect(owner.command).toMatch(/^dk-bootstrap ssh /);

    // A second run against the same node (and remote root), from a cluster folder of its own: refused at once by the
    // node's lock, naming the first run's PID, host and command.
    const second = background(
      [
        "ssh",
        `${host.user}@${host.ip}`,
        ...["-i", host.keyFile, "--known-hosts", join(work, "known_hosts"), "--remote-root", remoteRoot],
        ...["--dir", join(work, "second"), "--mirror", mirror, "--allow-http-mirror", "--checksums", checksums],
        ...["--k8s-version", "v1.36.0", "--etcd-version", ETCD, "--key-algo", "ecdsa", "--until", "etcd"],
      ],
      work,
    );
    expect((await second.done).code, second.out.stdout).toBe(1);
    expect(second.out.stderr).toMatch(
      new RegExp(
        `another dk-bootstrap run holds \\S+/lock: PID ${run.pid} on ${hostname().replaceAll(".", "\\.")} \\(dk-bootstrap ssh ${host.user}@${host.ip.replaceAll(".", "\\.")} `,
      ),
    );

    const force = background(["certs", "--force", "--dir", dir, "--key-algo", "ecdsa"], work);
    await until("certs --force to say it waits", () => force.out.stderr.includes("is in use by"));
    expect(force.out.stderr).toContain(`${dir} is in use by PID ${run.pid} (dk-bootstrap ssh `);
    // Still waiting: nothing of the folder replaced while the run uploads from it.
    expect(readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8")).toBe(made);
    release();
    expect((await run.done).code, run.out.stderr + run.out.stdout).toBe(0);
    expect(readFileSync(join(remoteRoot, "etc", "kubernetes", "pki", "etcd", "ca.crt"), "utf8")).toBe(made);
    // Then it goes on (or gives up after its 30 s): either way, only after the run has ended.
    const forced = (await force.done).code;
    if (forced === 0) expect(readFileSync(join(dir, "pki", "etcd", "ca.crt"), "utf8")).not.toBe(made);
    else expect(force.out.stderr).toMatch(/^error: .* is in use by PID \d+ \(dk-bootstrap ssh /m);
  }, 300_000);
});
