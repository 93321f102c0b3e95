// A `certs` re-run never silently rewrites a kubeconfig the user edited (issue 21): the edit is kept and only what
// no longer fits (client certificate, CA) is put in, or the file is backed up first; either way the run says so.
// The edits are made with the real kubectl.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";

const kubectl = (file: string, args: string[]) => run(peer("kubectl"), ["--kubeconfig", file, "config", ...args]);
const b64 = (file: string) => Buffer.from(readFileSync(file)).toString("base64");

describe("certs keeps a kubeconfig the user edited", () => {
  const dir = tempDir();
  const cluster = join(dir, "cluster");
  const admin = join(cluster, "admin.conf");
  const certs = (...args: string[]) => {
    const r = dk(["certs", "--key-algo", "ecdsa", ...args], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };

  it("keeps a namespace set with kubectl, byte for byte, and says so", () => {
    certs();
    const edit = kubectl(admin, ["set-context", "--current", "--namespace=team-a"]);
    expect(edit.status, edit.stderr).toBe(0);
    const edited = readFileSync(admin, "utf8");
    const out = certs();
    expect(readFileSync(admin, "utf8")).toBe(edited);
    expect(out).toMatch(/"admin\.conf" kubeconfig file \(edited: kept as it is/);
  });

  it("after a new CA (--force), keeps the namespace and puts in the new CA and client certificate", () => {
    const before = readFileSync(admin, "utf8");
    const out = certs("--force");
    expect(out).toMatch(/"admin\.conf" kubeconfig file \(edited: kept your edits, put in the client certificate and key, the CA\)/);
    const ns = kubectl(admin, ["view", "--minify", "-o", "jsonpath={..namespace}"]);
    expect(ns.stdout).toBe("team-a");
    const raw = (path: string) => kubectl(admin, ["view", "--raw", "-o", `jsonpath={${path}}`]).stdout;
    expect(raw(".clusters[0].cluster.certificate-authority-data")).toBe(b64(join(cluster, "pki", "ca.crt")));
    expect(raw(".users[0].user.client-certificate-data")).toBe(b64(join(cluster, "pki", "clients", "admin.crt")));
    expect(readFileSync(admin, "utf8")).not.toBe(before);
  });

  it("keeps a server the user set; a changed --server reaches only the files nobody edited", () => {
    const scheduler = join(cluster, "scheduler.conf");
    const cm = join(cluster, "controller-manager.conf");
    expect(kubectl(scheduler, ["set-cluster", "demystifions-kubernetes", "--server=https://10.9.9.9:6443"]).status).toBe(0);
    const out = certs("--server", "https://192.0.2.1:6443");
    expect(out).toMatch(
      /"scheduler\.conf" kubeconfig file \(edited: kept as it is.*server https:\/\/10\.9\.9\.9:6443 is not --server https:\/\/192\.0\.2\.1:6443: kept yours/,
    );
    const server = (f: string) => kubectl(f, ["view", "-o", "jsonpath={.clusters[0].cluster.server}"]).stdout;
    expect(server(scheduler)).toBe("https://10.9.9.9:6443");
    expect(server(cm)).toBe("https://192.0.2.1:6443");
    // The edited admin.conf's server was the old default, nobody's own: it follows the flag, its namespace stays.
    expect(server(admin)).toBe("https://192.0.2.1:6443");
    expect(kubectl(admin, ["view", "--minify", "-o", "jsonpath={..namespace}"]).stdout).toBe("team-a");
  });

  it("backs up a kubeconfig built by hand (the README's four commands) before writing its own, and says where", () => {
    const other = tempDir();
    expect(dk(["certs", "--workshop"], { cwd: other }).status).toBe(0);
    const hand = join(other, "cluster", "admin.conf");
    const env = { ...process.env, KUBECONFIG: hand };
    const c = join(other, "cluster", "certs");
    for (const args of [
      ["set-cluster", "demystifions-kubernetes", `--certificate-authority=${c}/ca.pem`, "--embed-certs=true", "--server=https://127.0.0.1:6443"],
      ["set-credentials", "admin", "--embed-certs=true", `--client-certificate=${c}/admin.pem`, `--client-key=${c}/admin-key.pem`],
      ["set-context", "admin", "--cluster=demystifions-kubernetes", "--user=admin"],
      ["use-context", "admin"],
    ])
      expect(run(peer("kubectl"), ["config", ...args], { env }).status).toBe(0);
    const handText = readFileSync(hand, "utf8");
    const r = dk(["certs", "--key-algo", "ecdsa"], { cwd: other });
    expect(r.status, r.stderr).toBe(0);
    const backups = readdirSync(join(other, "cluster")).filter((f) => f.startsWith("admin.conf.bak-"));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(other, "cluster", backups[0]!), "utf8")).toBe(handText);
    expect(r.stdout).toContain(`the old file is kept as ${backups[0]}`);
    expect(kubectl(hand, ["view", "-o", "jsonpath={.users[0].name}"]).stdout).toBe("kubernetes-admin");
  });

  it("rewrites an unedited file when a flag changes it, with no backup and no note", () => {
    const fresh = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd: fresh }).status).toBe(0);
    const r = dk(["certs", "--cluster-name", "other"], { cwd: fresh });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Wrote "admin\.conf" kubeconfig file\n/);
    expect(readdirSync(join(fresh, "cluster")).filter((f) => f.includes(".bak-"))).toEqual([]);
  });
});
