// A wrong flag value or an unusable folder: one line that names it, exit 1, fast, nothing touched.
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";

function expectOneLine(r: { status: number | null; stderr: string; stdout: string }, pattern: RegExp) {
  // A command that spins (as `--dir /proc/nope` once did) is killed by run()'s time limit: status null.
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(
    lines.slice(1).every((l) => l.startsWith("hint: ")),
    r.stderr,
  ).toBe(true);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("certs: folders it can't use", () => {
  it.each([
    ["a folder procfs won't make", "/proc/dk-nope", /^error: \/proc\/dk-nope: cannot make this folder/],
    ["a folder sysfs refuses", "/sys/dk-nope", /^error: \/sys\/dk-nope: cannot make this folder: operation not permitted/],
    ["a file", "AFILE", /AFILE: is a file, not a folder/],
    ["a folder under a file", "AFILE/x", /AFILE\/x: a part of this path is a file, not a folder/],
  ])("%s", (_, dir, pattern) => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "AFILE"), "");
    expectOneLine(dk(["certs", "--key-algo", "ecdsa", "--dir", dir], { cwd }), pattern);
    expect(readdirSync(cwd)).toEqual(["AFILE"]);
  });
});

describe("flags accepted before, and wrong", () => {
  it.each<[string[], RegExp]>([
    [["certs", "--node-name", "Bad_Name"], /node-name: a node name must be a DNS-1123 subdomain.*\(got "Bad_Name"\)/],
    [["certs", "--node-name", "node-"], /node-name: a node name must be a DNS-1123 subdomain/],
    // certs writes it into cluster.yaml's metadata.name, which apply -f reads as a DNS-1123 subdomain.
    [["certs", "--cluster-name", "Demo Cluster"], /--cluster-name: a cluster name must be a DNS-1123 subdomain.*\(got "Demo Cluster"\)/],
    [["certs", "--server", "127.0.0.1:6443"], /--server: must be an https:\/\/ URL.*\(got "127.0.0.1:6443"\)/],
    [["certs", "--server", "ftp://x"], /--server: must be an https:\/\/ URL.*\(got "ftp:\/\/x"\)/],
    [["certs", "--key-algo", "ed25519", "--key-size", "4096"], /--key-size: Ed25519 keys have one size/],
    [["certs", "--workshop", "--key-algo", "ecdsa"], /--key-algo: the workshop's PKI takes only --dir and --force/],
    [["certs", "check"], /certs: unknown command; certs' commands: check-expiration, renew, rotate-ca \(got "check"\)/],
    [["ssh", "root@node", "--dry-run", "--arch", "riscv64"], /--arch: must be amd64 or arm64/],
    [["bundle", "--out", "b", "--arches", "x86"], /--arches: must be amd64 or arm64 \(got "x86"\)/],
    // Read by no check before: it reached kube-proxy's configuration as it was given.
    [["ssh", "root@node", "--dry-run", "--pod-cidr", "bad"], /^error: --pod-cidr: not a CIDR, e\.g\. 10\.244\.0\.0\/16 \(got "bad"\)$/],
    [["local", "--dry-run", "--pod-cidr", "10.244.0.0/33"], /^error: --pod-cidr: not a CIDR/],
    [
      ["ssh", "root@node", "--dry-run", "--images", "/nonexistent-dk-images"],
      /^error: --images: cannot read the folder: no such folder \(got "\/nonexistent-dk-images"\)$/,
    ],
    // Port 1 on this machine: were it to connect first, the error would be a refused connection instead.
    [["logs", "root@127.0.0.1", "-p", "1", "nope"], /COMPONENT: unknown component; components: etcd, .* \(got "nope"\)/],
  ])("%j", (args, pattern) => {
    const cwd = tempDir();
    expectOneLine(dk(args, { cwd }), pattern);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("suggests the subcommand a short name stands for", () => {
    expect(dk(["certs", "check"]).stderr).toMatch(/hint: did you mean `dk-bootstrap certs check-expiration`\?/);
  });

  it("says that an Ed25519 PKI gets an ECDSA service-account key", () => {
    const cwd = tempDir();
    const r = dk(["certs", "--key-algo", "ed25519"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sa.key is ECDSA P-256, not Ed25519/);
  });
});

describe("certs renew NAME", () => {
  const cwd = tempDir();
  it.each([
    ["admin", /hint: did you mean clients\/admin\?/],
    ["etcd-ca", /hint: CAs are not renewed but rotated, .*: dk-bootstrap certs rotate-ca etcd -f FILE/],
    ["front-proxy-ca", /hint: CAs are not renewed but rotated, .*: dk-bootstrap certs rotate-ca front-proxy -f FILE/],
  ])("%s: one line naming the renewable certificates, and a hint that fits", (name, hint) => {
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const r = dk(["certs", "renew", name], { cwd });
    expectOneLine(r, new RegExp(`NAME: unknown certificate; renewable: all, .*clients/admin.* \\(got "${name}"\\)`));
    expect(r.stderr).toMatch(hint);
  });

  it("renews a certificate whose old key is damaged (the key it replaces)", () => {
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const keyFile = join(cwd, "cluster", "pki", "clients", "admin.key");
    writeFileSync(keyFile, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
    const r = dk(["certs", "renew", "clients/admin"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    const check = dk(["kubeconfig", "check", join(cwd, "cluster", "admin.conf")], { cwd });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
