// The dry run describes what a real run does, the PKI step on this machine included, and writes nothing.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, folderSnapshot, tempDir } from "../../../test-support/peers.js";

/** The script's head comments, joined back into lines of prose. */
const head = (script: string) =>
  script
    .split("\n# shellcheck")[0]!
    .split("\n")
    .filter((l) => l.startsWith("#"))
    .map((l) => l.replace(/^# ?/, ""))
    .join(" ");

describe("ssh --dry-run and the cluster folder", () => {
  it("on a fresh folder says the PKI will be made, and makes nothing", () => {
    const cwd = tempDir();
    const r = dk(["ssh", "root@192.0.2.10", "--dry-run"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(head(r.stdout)).toMatch(/certs: a real run first makes the cluster PKI and the component kubeconfigs in .*cluster for node kubernetes/);
    expect(existsSync(join(cwd, "cluster"))).toBe(false);
  });

  it("names the certificates a real run would re-issue for a new IP, and writes none", () => {
    const cwd = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const before = folderSnapshot(join(cwd, "cluster"));
    const r = dk(["ssh", "root@192.0.2.10", "--dry-run", "--node-ip", "192.0.2.10"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    const notes = head(r.stdout);
    expect(notes).toMatch(/node IPs: 192.0.2.10;/);
    for (const name of ["apiserver", "etcd/server", "etcd/peer", "kubelet"]) expect(notes).toContain(`${name} (its SANs differ from the spec)`);
    expect(notes).not.toContain("apiserver-etcd-client");
    expect(folderSnapshot(join(cwd, "cluster"))).toEqual(before);
  });

  it("fails as the real run would when a certificate would lose a name, and with the flag shows the new kubelet identity", () => {
    const cwd = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const before = folderSnapshot(join(cwd, "cluster"));
    const refused = dk(["ssh", "root@192.0.2.10", "--dry-run", "--node-name", "node1"], { cwd });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /etcd\/server.crt: the new settings would drop kubernetes from its names; so would \S*etcd\/peer.crt \(kubernetes\), \S*\/kubelet.crt \(kubernetes\)\n/,
    );
    const r = dk(["ssh", "root@192.0.2.10", "--dry-run", "--node-name", "node1", "--allow-name-removal"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(head(r.stdout)).toMatch(/clients\/kubelet \(its identity differs from the spec\).*kubelet\.conf/);
    expect(r.stdout).toMatch(/--hostname-override=node1/);
    expect(folderSnapshot(join(cwd, "cluster"))).toEqual(before);
  });

  it("says the folder fits when it does", () => {
    const cwd = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa", "--node-ip", "192.0.2.10"], { cwd }).status).toBe(0);
    const r = dk(["ssh", "root@192.0.2.10", "--dry-run"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(head(r.stdout)).toMatch(/certs: .*cluster fits this plan as it is\./);
  });
});
