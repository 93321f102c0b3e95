// Input that should just work, or fail in one clear line (issue 21): versions as YAML numbers, YAML syntax errors with
// their place, a zoned --node-ip refused the same way everywhere, --node-ip as a comma-separated list, and the two
// files called cluster.yaml told apart by kind, each naming the command it belongs to.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";

/** One `error:` line matching, a `hint:` at most, exit 1, and never the "looks like a bug" hint. */
function expectOneError(r: { status: number | null; stderr: string }, error: RegExp) {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(error);
  expect(
    lines.slice(1).every((l) => l.startsWith("hint: ")),
    r.stderr,
  ).toBe(true);
  expect(r.stderr).not.toMatch(/looks like a bug/);
}

const fileWith = (cwd: string, versions: string, nodeIP = "192.168.1.10") => {
  const text = dk(["init"])
    .stdout.replace(/^ {4}kubernetes: .*$/m, `    kubernetes: ${versions}`)
    .replace("nodeIP: 192.168.1.10", `nodeIP: ${nodeIP}`);
  writeFileSync(join(cwd, "cluster.yaml"), text);
};

describe("versions written as YAML numbers", () => {
  it("takes kubernetes: 1.35 unquoted as 1.35", () => {
    const cwd = tempDir();
    fileWith(cwd, "1.35");
    const r = dk(["apply", "-f", "cluster.yaml", "--dry-run"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Kubernetes 1\.35\.\d+,/);
  });

  it("refuses 1.30 unquoted (YAML reads 1.3) with the string to write", () => {
    const cwd = tempDir();
    fileWith(cwd, "1.30");
    expectOneError(dk(["apply", "-f", "cluster.yaml", "--dry-run"], { cwd }), /spec\.versions\.kubernetes: write it as a string: "1\.30"/);
  });

  it("init's example shows the minor quoted", () => {
    expect(dk(["init"]).stdout).toMatch(/kubernetes: stable +# stable, "1\.N" or 1\.N\.P/);
  });
});

describe("a YAML syntax error in the apply file", () => {
  it("says its line and column, and no hint about fields", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "cluster.yaml"), "apiVersion: dk-bootstrap/v1alpha1\nkind: Cluster\nspec:\n  hosts: [\n    - a\n");
    const r = dk(["apply", "-f", "cluster.yaml", "--dry-run"], { cwd });
    expectOneError(r, /cluster\.yaml: not readable YAML at line \d+, column \d+: /);
    expect(r.stderr).not.toMatch(/fields/);
  });
});

describe("--node-ip", () => {
  const zoned = /^error: --node-ip: a zone cannot go in a certificate: give the address without its %zone \(got "fe80::1%eth0"\)$/;
  it.each([
    ["certs", ["certs", "--node-ip", "fe80::1%eth0"]],
    ["ssh --dry-run", ["ssh", "root@192.0.2.1", "--dry-run", "--node-ip", "fe80::1%eth0"]],
    ["local --dry-run", ["local", "--dry-run", "--node-ip", "fe80::1%eth0"]],
  ])("with a zone is one input error in %s", (_, args) => {
    expectOneError(dk(args, { cwd: tempDir() }), zoned);
  });

  it("with a zone in the apply file is refused with its field", () => {
    const cwd = tempDir();
    fileWith(cwd, "stable", '"fe80::1%eth0"');
    expectOneError(dk(["apply", "-f", "cluster.yaml", "--dry-run"], { cwd }), /spec\.hosts\[0\]\.nodeIP: a zone cannot go in a certificate/);
  });

  it("takes a comma-separated list", () => {
    const cwd = tempDir();
    const r = dk(["certs", "--key-algo", "ecdsa", "--node-ip", "10.0.0.5,10.0.0.6"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    const sans = run(peer("openssl"), ["x509", "-in", join(cwd, "cluster", "pki", "apiserver.crt"), "-noout", "-ext", "subjectAltName"]).stdout;
    expect(sans).toContain("IP Address:10.0.0.5");
    expect(sans).toContain("IP Address:10.0.0.6");
  });
});

describe("the two files called cluster.yaml", () => {
  it("the folder's saved settings given to apply -f are named for what they are", () => {
    const cwd = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const r = dk(["apply", "-f", "cluster/cluster.yaml", "--dry-run"], { cwd });
    expectOneError(r, /cluster\.yaml: kind: ClusterSettings is the settings file `certs` keeps in a cluster folder, not a cluster file for `apply -f`/);
    expect(r.stderr).toMatch(/^hint: `dk-bootstrap init > cluster\.yaml` writes a commented cluster file$/m);
  });

  it("an apply file put in the cluster folder is named for what it is", () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "cluster"));
    writeFileSync(join(cwd, "cluster", "cluster.yaml"), dk(["init"]).stdout);
    const r = dk(["certs"], { cwd });
    expectOneError(r, /cluster\.yaml: is a cluster file for `apply -f` \(its hosts have ssh and role\), not the settings `certs` keeps/);
  });
});
