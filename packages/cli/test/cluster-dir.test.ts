// Where the cluster folder is (issue 21): beside the -f file by default, `--dir=~/x` in the home folder, and a PKI
// folder given as the cluster folder (`--dir c/pki`, a kubeadm-style folder with ca.crt/ca.key at its top) refused
// with the parent to use, before a second CA is made inside it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";

/** A refusal: exit 1, `error:` then `hint:`, nothing else. */
function expectRefused(r: { status: number | null; stderr: string }, error: RegExp, hint: string) {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(error);
  expect(lines.slice(1)).toEqual([`hint: ${hint}`]);
}

describe("the cluster folder", () => {
  const cwd = tempDir();
  beforeAll(() => {
    const r = dk(["certs", "--dir", "c", "--key-algo", "ecdsa"], { cwd });
    expect(r.status, r.stderr).toBe(0);
  });

  it("refuses a PKI folder given as --dir, naming the parent, and makes nothing in it", () => {
    const before = readdirSync(join(cwd, "c", "pki")).sort();
    expectRefused(
      dk(["certs", "--dir", "c/pki"], { cwd }),
      /^error: --dir: is a PKI folder \(ca\.crt and ca\.key at its top\)/,
      `did you mean --dir ${join(cwd, "c")}?`,
    );
    expect(readdirSync(join(cwd, "c", "pki")).sort()).toEqual(before);
    expectRefused(dk(["certs", "check-expiration", "--dir", "c/pki"], { cwd }), /is a PKI folder/, `did you mean --dir ${join(cwd, "c")}?`);
  });

  it("refuses a kubeadm-style folder with ca.crt and ca.key at its top", () => {
    const kubeadm = join(cwd, "etc-kubernetes", "pki");
    mkdirSync(kubeadm, { recursive: true });
    for (const f of ["ca.crt", "ca.key"]) copyFileSync(join(cwd, "c", "pki", f), join(kubeadm, f));
    expectRefused(dk(["certs", "renew", "all", "--dir", kubeadm], { cwd }), /is a PKI folder/, `did you mean --dir ${join(cwd, "etc-kubernetes")}?`);
    expect(existsSync(join(kubeadm, "pki"))).toBe(false);
  });

  it("takes --dir=~/x as the home folder's x, not a folder named ~", () => {
    const home = tempDir();
    const r = dk(["certs", "--dir=~/x", "--key-algo", "ecdsa"], { cwd, env: { ...process.env, HOME: home } });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(home, "x", "pki", "ca.crt"))).toBe(true);
    expect(existsSync(join(cwd, "~"))).toBe(false);
  });

  it("is the one beside the -f file by default, wherever the command runs", () => {
    const elsewhere = tempDir();
    const other = join(elsewhere, "site");
    mkdirSync(other);
    writeFileSync(join(other, "cluster.yaml"), dk(["init"]).stdout);
    const r = dk(["apply", "-f", join(other, "cluster.yaml"), "--dry-run"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`DK_CLUSTER_DIR=\${DK_CLUSTER_DIR:-${join(other, "cluster", "nodes")}/`);
  });

  it("refuses, naming both, when the cluster folder is at the old place (./cluster) and none is beside the file", () => {
    const run = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd: run }).status).toBe(0);
    const site = join(tempDir(), "site");
    mkdirSync(site);
    writeFileSync(join(site, "cluster.yaml"), dk(["init"]).stdout);
    expectRefused(
      dk(["apply", "-f", join(site, "cluster.yaml"), "--dry-run"], { cwd: run }),
      new RegExp(
        `^error: --dir: the cluster folder is the one beside the cluster file \\(${join(site, "cluster")}\\), and it has none; a cluster folder is here, at ${join(run, "cluster")}$`,
      ),
      `pass --dir ${join(run, "cluster")} to use it (or move it beside the file)`,
    );
  });
});
