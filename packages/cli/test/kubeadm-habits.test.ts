// Habits users bring from kubeadm and kubectl (issue 21): kubeadm's names in `certs renew`, `renew ca` pointing at
// rotate-ca, the kubeconfigs in the expiry table, check-expiration failing a script, did-you-mean for steps,
// certificate names and options (in the hint: form), `apply --config`, and a read-only cluster folder said as such.
import { chmodSync, chownSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, dk, run, tempDir } from "../../../test-support/peers.js";

/** One `error:` line, then exactly these hints, exit 1 or 2. */
function expectError(r: { status: number | null; stderr: string }, error: RegExp, hints: string[]) {
  expect([1, 2], r.stderr).toContain(r.status);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(error);
  expect(lines.slice(1)).toEqual(hints.map((h) => `hint: ${h}`));
}

describe("kubeadm's habits", () => {
  const cwd = tempDir();
  const pem = (name: string) => new X509Certificate(Buffer.from(run("cat", [join(cwd, "cluster", "pki", `${name}.crt`)]).stdout));
  beforeAll(() => {
    const r = dk(["certs", "--key-algo", "ecdsa", "--validity", "100h"], { cwd });
    expect(r.status, r.stderr).toBe(0);
  });

  it("certs renew takes kubeadm's names: admin.conf renews the certificate it embeds", () => {
    const before = pem("clients/admin").serialNumber;
    const r = dk(["certs", "renew", "admin.conf"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[renew\] clients\/admin: renewed/m);
    expect(pem("clients/admin").serialNumber).not.toBe(before);
    const etcd = dk(["certs", "renew", "etcd-server"], { cwd });
    expect(etcd.stdout).toMatch(/^\[renew\] etcd\/server: renewed/m);
  });

  it("renew ca points at rotate-ca; a typo gets its nearest name", () => {
    expectError(dk(["certs", "renew", "ca"], { cwd }), /unknown certificate/, [
      "CAs are not renewed but rotated, every leaf re-issued by the new one: dk-bootstrap certs rotate-ca cluster -f FILE",
    ]);
    expectError(dk(["certs", "renew", "apiservr"], { cwd }), /unknown certificate.*\(got "apiservr"\)/, ["did you mean apiserver?"]);
  });

  it("check-expiration lists the kubeconfigs, as kubeadm does", () => {
    const r = dk(["certs", "check-expiration"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf", "kube-proxy.conf"])
      expect(r.stdout).toMatch(new RegExp(`^${f.replace(".", "\\.")} +\\w{3} \\d\\d, \\d{4} \\d\\d:\\d\\d UTC +\\d+d +ca +no`, "m"));
  });

  it("check-expiration --fail-within fails a script when something expires within that time, and only then", () => {
    const soon = dk(["certs", "check-expiration", "--fail-within", "720h"], { cwd });
    expect(soon.status).toBe(1);
    expect(soon.stderr).toMatch(/^error: \d+ certificate\(s\) expired or expire within 720h: apiserver, /m);
    expect(soon.stdout).toMatch(/^apiserver /m);
    const later = dk(["certs", "check-expiration", "--fail-within", "1h"], { cwd });
    expect(later.status, later.stderr).toBe(0);
  });

  it("a mistyped step gets its nearest name", () => {
    expectError(dk(["explain", "etdc"]), /unknown step.*\(got "etdc"\)/, ["did you mean etcd?"]);
  });

  it("an unknown option is said in the hint: form, and apply --config names -f", () => {
    expectError(dk(["certs", "--forse"], { cwd }), /^error: unknown option '--forse'$/, ["did you mean --force?", "run with --help for usage"]);
    expectError(dk(["apply", "-f", "c.yaml", "--config", "c.yaml"], { cwd }), /^error: unknown option '--config'$/, [
      "did you mean -f (--file)?",
      "run with --help for usage",
    ]);
    // Without -f too: commander would first say -f is missing.
    expectError(dk(["apply", "--config", "c.yaml"], { cwd }), /^error: unknown option '--config'$/, ["did you mean -f (--file)?", "run with --help for usage"]);
  });
});

describe("a read-only cluster folder", () => {
  it("a no-op certs re-run says the folder is read-only, not an internal file", () => {
    const cwd = tempDir();
    chmodSync(cwd, 0o755);
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const folder = join(cwd, "cluster");
    const nobody = Number(run("id", ["-u", "nobody"]).stdout.trim());
    const walk = (p: string) => {
      chownSync(p, nobody, -1);
      if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    };
    walk(folder);
    chmodSync(folder, 0o500);
    const r = run("su", ["nobody", "-s", "/bin/sh", "-c", `HOME=${cwd} ${process.execPath} ${CLI} certs`], { cwd });
    expectError(r, new RegExp(`^error: ${folder}: the cluster folder is read-only here \\(EACCES\\): nothing was changed$`), [
      "run as a user who can write in it, or copy it to a folder of yours and pass --dir",
    ]);
  });
});
