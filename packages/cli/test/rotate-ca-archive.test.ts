// What a CA rotation leaves and what may not cut across it, without a host: `certs --force` and `certs renew` of the
// rotating CA's leaves are refused while it is in progress; once it is finished, `--purge-archive` removes the old
// CA's key it kept; every kubeconfig the tool wrote (admin-HOST.conf too) follows the client certificates.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { advanceRotation, markRolledOut, readRotation, rotationInProgress, startRotation, withClusterFolder } from "@dk-bootstrap/pki";
import { dk, tempDir } from "../../../test-support/peers.js";

const inFolder = <T>(dir: string, work: Parameters<typeof withClusterFolder<T>>[2]) => withClusterFolder(dir, undefined, work);

/** The user's client certificate and the server of a kubeconfig. */
function userOf(file: string): { cert: string; server: string; ca: string } {
  const cfg = load(readFileSync(file, "utf8")) as {
    users: { user: { "client-certificate-data": string } }[];
    clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
  };
  return {
    cert: cfg.users[0]!.user["client-certificate-data"],
    server: cfg.clusters[0]!.cluster.server,
    ca: cfg.clusters[0]!.cluster["certificate-authority-data"],
  };
}

function refused(r: { status: number | null; stderr: string }, line: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(line);
  expect(r.stderr).toMatch(/\nhint: finish it first: dk-bootstrap certs rotate-ca cluster/);
  expect(r.stderr).not.toContain("    at ");
}

describe("a cluster CA rotation's folder", () => {
  it("refuses --force and renewing the rotating CA's leaves while it runs; purges the old key once it is done", async () => {
    const cwd = tempDir("dk-rotate-archive-");
    const dir = join(cwd, "cluster");
    expect(dk(["certs", "--dir", dir, "--key-algo", "ecdsa"]).status).toBe(0);
    // The copy `dk-bootstrap ssh` hands over: admin.conf pointed at the node.
    const handed = join(dir, "admin-192.0.2.10.conf");
    writeFileSync(handed, readFileSync(join(dir, "admin.conf"), "utf8").replace(/server: .*/, "server: https://192.0.2.10:6443"));
    await inFolder(dir, (f) => startRotation(f, "cluster"));
    const ca = readFileSync(join(dir, "pki", "ca.crt"), "utf8");

    refused(
      dk(["certs", "--dir", dir, "--force"]),
      /^error: a rotation of the cluster CA is in progress \(phase 1\/3\): --force would replace the CAs and keys it is rotating\n/,
    );
    refused(
      dk(["certs", "renew", "clients/admin", "--dir", dir]),
      /^error: a rotation of the cluster CA is in progress \(phase 1\/3\): clients\/admin is signed by that CA/,
    );
    refused(
      dk(["certs", "renew", "all", "--dir", dir]),
      /^error: a rotation of the cluster CA is in progress \(phase 1\/3\): apiserver, .*clients\/admin.* are signed by that CA/,
    );
    expect(readFileSync(join(dir, "pki", "ca.crt"), "utf8")).toBe(ca);
    // Another CA's leaf is no part of it.
    expect(dk(["certs", "renew", "etcd/server", "--dir", dir]).status).toBe(0);
    refused(
      dk(["certs", "rotate-ca", "cluster", "--purge-archive", "--dir", dir]),
      /^error: a rotation of the cluster CA is in progress \(phase 1\/3\): its archive is still needed\n/,
    );

    // The phases, as the rollouts would record them (no host here).
    const archive = (await inFolder(dir, readRotation))!.archive;
    for (let r = (await inFolder(dir, readRotation))!; rotationInProgress(r);)
      r = r.rolledOut ? (await inFolder(dir, (f) => advanceRotation(f, r))).rotation : await inFolder(dir, (f) => markRolledOut(f, r));
    expect(readFileSync(join(dir, archive, "old.key"), "utf8")).toMatch(/PRIVATE KEY/);

    // Renewed once the rotation is over: admin.conf and the handed-over copy hold the same new certificate.
    expect(dk(["certs", "renew", "clients/admin", "--dir", dir]).status).toBe(0);
    expect(userOf(handed).cert).toBe(userOf(join(dir, "admin.conf")).cert);
    expect(userOf(handed).ca).toBe(userOf(join(dir, "admin.conf")).ca);
    expect(userOf(handed).server).toBe("https://192.0.2.10:6443");

    const purge = dk(["certs", "rotate-ca", "cluster", "--purge-archive", "--dir", dir]);
    expect(purge.status, purge.stderr).toBe(0);
    expect(purge.stdout).toBe(`[rotate-ca] removed ${join(dir, archive)} (the old cluster CA's key with it)\n`);
    expect(existsSync(join(dir, archive))).toBe(false);
    expect(readdirSync(join(dir, "pki", "rotation"))).toEqual(["state.json"]);
    expect(dk(["certs", "rotate-ca", "cluster", "--purge-archive", "--dir", dir]).stdout).toMatch(/nothing to remove/);
    expect(dk(["certs", "rotate-ca", "cluster", "--purge-archive", "-f", "x.yaml", "--dir", dir]).stderr).toMatch(
      /^error: -f: --purge-archive works on the folder alone: it takes only --dir/,
    );
  });
});
