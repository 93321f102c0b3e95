// `status -f` and `logs --file` with one host down (issue 21): status prints every host that answers, marks the
// others unreachable and exits non-zero; a host that answered but was never applied is "not applied yet", not
// "unreachable"; `logs` needs only the host it names. The "down" host is a real test host whose file names a port
// nothing listens on: the connection is refused, as from a host whose sshd is gone.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dkAsync, tempDir } from "../../../test-support/peers.js";
import { type TestCluster, startTestCluster } from "../../../test-support/test-cluster.js";

describe("status and logs with a host down", () => {
  const work = tempDir("dk-status-partial-");
  let cluster: TestCluster;
  let file = "";
  beforeAll(async () => {
    cluster = await startTestCluster(work, 2);
    const [up, down] = cluster.hosts;
    const host = (h: typeof up, extra: string) =>
      `    - { ssh: { address: ${h!.ip}, user: ${h!.user}, keyPath: ${h!.keyFile}${extra} }, role: controller, nodeName: ${h === up ? "up" : "down"}, remoteRoot: ${h!.remoteRoot} }`;
    file = join(work, "cluster.yaml");
    writeFileSync(
      file,
      [
        "apiVersion: dk-bootstrap/v1alpha1",
        "kind: Cluster",
        "metadata: { name: partial }",
        "spec:",
        "  hosts:",
        host(up, ""),
        host(down, ", port: 1"),
        `  knownHosts: ${cluster.knownHosts}`,
        "  versions: { kubernetes: 1.34.2, etcd: 3.6.5 }",
        "",
      ].join("\n"),
    );
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("status shows the host that answers (never applied: not applied yet), marks the other unreachable, exits non-zero", async () => {
    const r = await dkAsync(["status", "-f", file, "--dir", join(work, "c")], { cwd: work });
    expect(r.status, r.stderr).not.toBe(0);
    expect(r.stdout).toMatch(/== up \(controller, [\d.]+\)\nnot applied yet\n/);
    expect(r.stdout).toMatch(/== down \(controller, [\d.]+\)\nunreachable: /);
    expect(r.stderr).toMatch(/^error: 1 of 2 hosts did not answer: down$/m);
  });

  it("logs reads the host it names while another is down", async () => {
    const r = await dkAsync(["logs", "--file", file, "--dir", join(work, "c"), "up", "etcd"], { cwd: work });
    // Never applied: no log there, said by the node, not by a connection failure of the other host.
    expect(r.stderr).toMatch(/no log for etcd on this node/);
    expect(r.stderr).not.toMatch(/could not connect/);
  });

  it("logs of the host that is down says that host did not answer", async () => {
    const r = await dkAsync(["logs", "--file", file, "--dir", join(work, "c"), "down", "etcd"], { cwd: work });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^error: down did not answer: /m);
  });
});
