// Saved settings in one canonical spelling (issue 21): `v1.35.2` and `1.35.2`, `fd00:0:0:0::10` and `fd00::10` are one
// value, not a "changed setting", and the folder's file holds the canonical one.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";
import { canonical } from "../src/saved-settings.js";

describe("saved settings in canonical form", () => {
  it("an IPv6 node IP in its long spelling is no change, and is saved compressed", () => {
    const cwd = tempDir();
    const first = dk(["certs", "--key-algo", "ecdsa", "--node-ip", "FD00:0:0:0::10"], { cwd });
    expect(first.status, first.stderr).toBe(0);
    expect(readFileSync(join(cwd, "cluster", "cluster.yaml"), "utf8")).toMatch(/nodeIP: "?fd00::10"?$/m);
    const again = dk(["certs", "--node-ip", "fd00::10"], { cwd });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/changing a saved setting/);
    const other = dk(["certs", "--node-ip", "fd00::11", "--allow-name-removal"], { cwd });
    expect(other.stderr).toMatch(/changing a saved setting: --node-ip: fd00::10 -> fd00::11/);
  });

  it("a version with or without its v is one value", () => {
    const cwd = tempDir();
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const file = join(cwd, "cluster", "cluster.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^spec:\n/m, 'spec:\n  versions:\n    kubernetes: "v1.34.2"\n'));
    const r = dk(["ssh", "root@192.0.2.1", "--dry-run", "--k8s-version", "1.34.2", "--until", "etcd"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/changing a saved setting/);
  });

  it("leaves what is not such a value as it is, for its own check", () => {
    expect(canonical("--node-ip", ["10.0.0.1", "fe80::1%eth0", "not-an-ip"])).toEqual(["10.0.0.1", "fe80::1%eth0", "not-an-ip"]);
    expect(canonical("--service-cidr", "FD00:0::/108")).toBe("fd00::/108");
    expect(canonical("--etcd-version", "v3.6.5")).toBe("3.6.5");
    expect(canonical("--cluster-name", "v1")).toBe("v1");
  });
});
