// A first `certs` that fails once the cluster folder is made leaves no folder behind: each run here has a file system
// of its own (a tmpfs mounted with a few inodes) that runs out at a chosen point of the run: the lock file, the staged
// files of the commit. Needs root (mount).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dk, peer, tempDir } from "../../../test-support/peers.js";

const work = tempDir("dk-new-folder-");
const mounted: string[] = [];

/** A tmpfs of `inodes` inodes (its root folder takes one), mounted for this file's runs. */
function smallFileSystem(inodes: number): string {
  const at = join(work, `fs-${mounted.length}`);
  mkdirSync(at);
  execFileSync(peer("mount"), ["-t", "tmpfs", "-o", `nr_inodes=${inodes},size=1m,mode=0755`, "tmpfs", at]);
  mounted.push(at);
  return at;
}

afterAll(() => {
  for (const at of mounted) execFileSync(peer("umount"), [at]);
});

describe("certs on a new cluster folder", () => {
  it.each([
    ["its lock file", 2, /\.dk-bootstrap\.lock\.[0-9a-f]+\.tmp: no space left on the device \(ENOSPC, open\)$/],
    ["the lock's link", 3, /\.dk-bootstrap\.lock\.[0-9a-f]+\.tmp: no space left on the device \(ENOSPC, link\)$/],
    ["the first staged file", 4, /\.dk-staging\/0\.new: no space left on the device \(ENOSPC, open\)$/],
    ["a staged file halfway through the set", 20, /\.dk-staging\/\d+\.new: no space left on the device \(ENOSPC, open\)$/],
  ])("that fails at %s leaves no folder: one line, exit 1", (_, inodes, message) => {
    const fs = smallFileSystem(inodes);
    const r = dk(["certs", "--key-algo", "ecdsa", "--dir", join(fs, "cluster")], { cwd: work });
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^error: ${join(fs, "cluster")}/`));
    expect(lines[0]).toMatch(message);
    expect(lines.every((l) => !/^\s+at /.test(l))).toBe(true);
    expect(readdirSync(fs)).toEqual([]);
  });

  it("keeps a folder it did not make, and makes and keeps one whose run succeeds", () => {
    const fs = smallFileSystem(3);
    mkdirSync(join(fs, "cluster"));
    const failed = dk(["certs", "--key-algo", "ecdsa", "--dir", join(fs, "cluster")], { cwd: work });
    expect(failed.status).toBe(1);
    expect(readdirSync(fs)).toEqual(["cluster"]);
    expect(readdirSync(join(fs, "cluster"))).toEqual([]);
    const dir = join(work, "made", "here", "cluster");
    const ok = dk(["certs", "--key-algo", "ecdsa", "--dir", dir], { cwd: work });
    expect(ok.status, ok.stderr).toBe(0);
    expect(existsSync(join(dir, "pki", "ca.key"))).toBe(true);
  });
});
