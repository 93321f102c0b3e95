// The page's tar writer and reader against GNU tar: what one writes, the other reads, modes and all.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { TarError, gunzip, gzip, readTar, writeTar } from "../src/tar.js";

const enc = new TextEncoder();

describe("tar", () => {
  const long = `cluster/${"deep/".repeat(22)}file.crt`; // over 100 bytes: ustar's prefix field

  it("writes an archive GNU tar lists and unpacks with the modes given", () => {
    const dir = tempDir();
    const files = [
      { path: "cluster/pki/ca.crt", content: enc.encode("cert\n"), mode: 0o644 },
      { path: "cluster/pki/ca.key", content: enc.encode("key\n"), mode: 0o600 },
      { path: "cluster/admin.conf", content: new Uint8Array(1500).fill(65), mode: 0o600 },
      { path: long, content: new Uint8Array(0), mode: 0o644 },
    ];
    writeFileSync(join(dir, "a.tar"), writeTar(files, new Date("2026-01-02T03:04:05Z")));
    const list = run(peer("tar"), ["-tvf", join(dir, "a.tar")]);
    expect(list.stderr).toBe("");
    expect(list.stdout).toMatch(/^-rw------- root\/root +4 2026-01-02 03:04 cluster\/pki\/ca\.key$/m);
    expect(list.stdout).toMatch(/^drwx------ root\/root +0 .* cluster\/pki\/$/m);
    mkdirSync(join(dir, "out"));
    expect(run(peer("tar"), ["-xpf", join(dir, "a.tar"), "-C", join(dir, "out")]).status).toBe(0);
    expect(readFileSync(join(dir, "out", "cluster/admin.conf"))).toEqual(Buffer.from(files[2]!.content));
    expect(readFileSync(join(dir, "out", long), "utf8")).toBe("");
  });

  it("reads GNU tar's archives (long names, gzip) and keeps regular files only", async () => {
    const dir = tempDir();
    const src = join(dir, "cluster", "pki", "x".repeat(120));
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "a.key"), "secret");
    run("chmod", ["600", join(src, "a.key")]);
    run("ln", ["-s", "a.key", join(src, "link")]);
    expect(run(peer("tar"), ["-czf", join(dir, "c.tgz"), "-C", dir, "cluster"]).status).toBe(0);
    const files = readTar(await gunzip(new Uint8Array(readFileSync(join(dir, "c.tgz")))));
    expect(files.map((f) => [f.path, f.mode, new TextDecoder().decode(f.content)])).toEqual([[`cluster/pki/${"x".repeat(120)}/a.key`, 0o600, "secret"]]);
  });

  it("round-trips through gzip", async () => {
    const files = [{ path: "a/b", content: enc.encode("hello"), mode: 0o600 }];
    expect(readTar(await gunzip(await gzip(writeTar(files))))).toEqual(files);
  });

  it("refuses what is not a tar archive", () => {
    expect(() => readTar(new Uint8Array(512).fill(7))).toThrow(TarError);
  });
});
