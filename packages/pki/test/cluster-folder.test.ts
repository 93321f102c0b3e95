import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, tempDir } from "../../../test-support/peers.js";
import {
  FileExistsError,
  FolderInUseError,
  LOCK_FILE,
  clusterSpec,
  describeSystemError,
  generateClusterPki,
  openClusterFolder,
  renewCertificates,
} from "../src/index.js";

const ecdsa = { algo: "ecdsa", size: 256 } as const;
const quiet = () => {
  const lines: string[] = [];
  return { lines, notify: (l: string) => void lines.push(l) };
};
let n = 0;
const fresh = (root: string) => join(root, `f${n++}`);

describe("the cluster-folder lock", () => {
  const root = tempDir();

  it("stops a second run with the holder's PID and command, and lets it in once released", async () => {
    const dir = fresh(root);
    const first = await openClusterFolder(dir, { command: "dk-bootstrap certs --dir X" });
    const q = quiet();
    const err = await openClusterFolder(dir, { waitMs: 0, ...q }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FolderInUseError);
    expect((err as Error).message).toBe(`${dir} is in use by PID ${process.pid} (dk-bootstrap certs --dir X)`);
    await first.release();
    const second = await openClusterFolder(dir, { waitMs: 0, ...q });
    await second.release();
    expect(q.lines.filter((l) => l.includes("took over"))).toEqual([]);
  });

  it("makes a second run wait, saying for whom, until the first releases", async () => {
    const dir = fresh(root);
    const first = await openClusterFolder(dir, { command: "first" });
    const q = quiet();
    let opened = false;
    const second = openClusterFolder(dir, { waitMs: 60_000, ...q }).then((f) => ((opened = true), f));
    // Waits for the line itself (bounded), not for a time.
    for (let i = 0; i < 200 && q.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(q.lines[0]).toBe(`${dir} is in use by PID ${process.pid} (first): waiting up to 60s`);
    expect(opened).toBe(false);
    await first.release();
    await (await second).release();
    expect(opened).toBe(true);
  });

  it("takes over the lock file of a process that is gone, and of a reused PID, with a note", async () => {
    const dir = fresh(root);
    mkdirSync(dir);
    const owner = { pid: process.pid, startTime: "1", host: (await import("node:os")).hostname(), command: "dk-bootstrap certs", since: "" };
    // Our own PID, but a start time that is not ours: a reused PID, so the owner is dead.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(owner));
    const q = quiet();
    const f = await openClusterFolder(dir, { waitMs: 0, ...q });
    expect(q.lines).toEqual([`${dir}: took over the lock of PID ${process.pid} (dk-bootstrap certs), which is no longer running`]);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid, startTime: expect.not.stringMatching(/^1$/) });
    await f.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it("removes the temporary copy of the lock file that a run killed while taking the lock left, and nothing else", async () => {
    const dir = fresh(root);
    mkdirSync(dir);
    // What a `certs --force` killed inside the lock's publish leaves: an empty copy, never linked into place.
    const stale = `${LOCK_FILE}.0123456789ab.tmp`;
    writeFileSync(join(dir, stale), "");
    writeFileSync(join(dir, "notes.tmp"), "mine");
    const f = await openClusterFolder(dir, { waitMs: 0, ...quiet() });
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE, "notes.tmp"]);
    await f.release();
    expect(readdirSync(dir)).toEqual(["notes.tmp"]);
  });

  it("is held by another process until it is killed with SIGKILL, then taken over", async () => {
    const dir = fresh(root);
    mkdirSync(dir);
    // The holder: another Node process (on the built package) that opens the folder and never releases it.
    const pki = join(import.meta.dirname, "..", "dist", "index.js");
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const {openClusterFolder} = await import(${JSON.stringify(pki)}); await openClusterFolder(${JSON.stringify(dir)}, {command: "holder"}); console.log("held"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("held") && resolve());
      child.on("exit", (code) => reject(new Error(`holder exited with ${code}`)));
    });
    const err = await openClusterFolder(dir, { waitMs: 0, ...quiet() }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`${dir} is in use by PID ${child.pid} (holder)`);
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    const q = quiet();
    const f = await openClusterFolder(dir, { waitMs: 0, ...q });
    expect(q.lines).toEqual([`${dir}: took over the lock of PID ${child.pid} (holder), which is no longer running`]);
    await f.release();
  });
});

describe("all-or-nothing writes", () => {
  const root = tempDir();

  it("writes nothing that was staged when the run ends without a commit, and removes the folder it made", async () => {
    const dir = fresh(root);
    const f = await openClusterFolder(dir);
    await f.stage(join(dir, "pki", "a.key"), "secret", { mode: 0o600, dirMode: 0o700 });
    expect(await f.read(join(dir, "pki", "a.key"))).toBe("secret");
    await f.release();
    expect(existsSync(dir)).toBe(false);
  });

  it("commits with final modes, folders holding keys 0700, and no staging left", async () => {
    const dir = fresh(root);
    const f = await openClusterFolder(dir);
    await f.stage(join(dir, "pki", "etcd", "a.key"), "secret", { mode: 0o600, dirMode: 0o700 });
    await f.stage(join(dir, "a.conf"), "conf", { mode: 0o644 });
    await f.commit();
    await f.release();
    expect(statSync(join(dir, "pki", "etcd", "a.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "pki", "etcd")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "pki")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "a.conf")).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(["a.conf", "pki"]);
  });

  it("gives every file and folder its own mode whatever the umask (000, 077)", () => {
    // The umask is per process: a child with its own commits through the built library.
    const script = `const { openClusterFolder } = await import(process.argv[2]);
const dir = process.argv[1];
const f = await openClusterFolder(dir);
await f.stage(dir + "/pki/etcd/a.key", "secret", { mode: 0o600, dirMode: 0o700 });
await f.stage(dir + "/a.conf", "conf", { mode: 0o644 });
await f.commit();
await f.release();`;
    const library = join(import.meta.dirname, "..", "dist", "index.js");
    for (const umask of ["000", "077"]) {
      const dir = fresh(root);
      execFileSync("sh", ["-c", `umask ${umask} && exec "$0" --input-type=module -e "$1" "$2" "$3"`, process.execPath, script, dir, library]);
      const mode = (p: string) => (statSync(join(dir, p)).mode & 0o777).toString(8);
      expect([mode("pki/etcd/a.key"), mode("pki/etcd"), mode("pki"), mode("a.conf")], `umask ${umask}`).toEqual(["600", "700", "700", "644"]);
    }
  });

  it("refuses to stage over a protected file, before anything is written", async () => {
    const dir = fresh(root);
    mkdirSync(join(dir, "pki"), { recursive: true });
    writeFileSync(join(dir, "pki", "ca.key"), "old");
    const f = await openClusterFolder(dir);
    await f.stage(join(dir, "pki", "ca.crt"), "new cert", { mode: 0o644 });
    await expect(f.stage(join(dir, "pki", "ca.key"), "new", { mode: 0o600, protect: { what: "private key", force: false } })).rejects.toBeInstanceOf(
      FileExistsError,
    );
    await f.release();
    expect(readdirSync(join(dir, "pki"))).toEqual(["ca.key"]);
  });

  it("stages several files in their order, refusing the first protected one that exists and staging none of them", async () => {
    const dir = fresh(root);
    mkdirSync(join(dir, "pki"), { recursive: true });
    writeFileSync(join(dir, "pki", "b.key"), "old b");
    writeFileSync(join(dir, "pki", "c.key"), "old c");
    const f = await openClusterFolder(dir);
    const key = (name: string, force = false) => ({
      path: join(dir, "pki", name),
      content: `new ${name}`,
      options: { mode: 0o600, protect: { what: "private key", force } },
    });
    const err = await f.stageAll([key("a.key"), key("b.key"), key("c.key")]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileExistsError);
    expect((err as Error).message).toContain(join(dir, "pki", "b.key"));
    expect(f.staged).toEqual([]);
    await f.stageAll([key("z.key"), key("b.key", true), key("a.key")]);
    expect(f.staged).toEqual([join("pki", "z.key"), join("pki", "b.key"), join("pki", "a.key")]);
    await f.commit();
    await f.release();
    expect(readFileSync(join(dir, "pki", "b.key"), "utf8")).toBe("new b.key");
    expect(readFileSync(join(dir, "pki", "c.key"), "utf8")).toBe("old c");
  });

  it("a commit that fails before its commit point writes none of its files and leaves no staged key behind", async () => {
    const dir = fresh(root);
    mkdirSync(dir);
    writeFileSync(join(dir, "a.crt"), "old a");
    writeFileSync(join(dir, "pki"), "a file where a folder should be");
    const f = await openClusterFolder(dir);
    await f.stage(join(dir, "a.crt"), "new a", { mode: 0o644 });
    await f.stage(join(dir, "pki", "a.key"), "secret", { mode: 0o600, dirMode: 0o700 });
    await expect(f.commit()).rejects.toThrow(/ENOTDIR|EEXIST/);
    await f.release();
    expect(readFileSync(join(dir, "a.crt"), "utf8")).toBe("old a");
    expect(readdirSync(dir).sort()).toEqual(["a.crt", "pki"]);
  });

  it("a commit that runs out of space while writing a staged file names it, and leaves the old set and no staged key", async () => {
    // A tmpfs of its own (needs root, as new-folder.test.ts): its open succeeds, its write fails.
    const at = fresh(root);
    mkdirSync(at);
    execFileSync(peer("mount"), ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", at]);
    try {
      const dir = join(at, "c");
      mkdirSync(dir);
      writeFileSync(join(dir, "a.crt"), "old a");
      const f = await openClusterFolder(dir, quiet());
      await f.stage(join(dir, "a.crt"), "new a", { mode: 0o644 });
      await f.stage(join(dir, "pki", "a.key"), "k".repeat(256 * 1024), { mode: 0o600, dirMode: 0o700 });
      const err = await f.commit().catch((e: unknown) => e);
      expect(describeSystemError(err)?.message).toBe(`${join(dir, ".dk-staging", "1.new")}: no space left on the device (ENOSPC, write)`);
      await f.release();
      expect(readFileSync(join(dir, "a.crt"), "utf8")).toBe("old a");
      expect(readdirSync(dir).sort()).toEqual(["a.crt"]);
    } finally {
      execFileSync(peer("umount"), [at]);
    }
  });

  it("rolls a committed journal forward when the folder is next opened", async () => {
    const dir = fresh(root);
    mkdirSync(join(dir, ".dk-staging"), { recursive: true });
    writeFileSync(join(dir, "a.crt"), "old a");
    writeFileSync(join(dir, "b.crt"), "new b"); // already moved before the interruption
    writeFileSync(join(dir, ".dk-staging", "0.new"), "new a");
    writeFileSync(join(dir, ".dk-staging", "2.new"), "new c");
    const entries = [
      { staged: "0.new", target: "a.crt" },
      { staged: "1.new", target: "b.crt" },
      { staged: "2.new", target: "pki/c.key", dirMode: 0o700 },
    ];
    writeFileSync(join(dir, ".dk-staging", "journal.json"), JSON.stringify({ version: 1, entries }));
    const q = quiet();
    await (await openClusterFolder(dir, q)).release();
    expect(q.lines).toEqual([`${dir}: completed the interrupted commit of 3 files`]);
    expect([readFileSync(join(dir, "a.crt"), "utf8"), readFileSync(join(dir, "b.crt"), "utf8"), readFileSync(join(dir, "pki/c.key"), "utf8")]).toEqual([
      "new a",
      "new b",
      "new c",
    ]);
    expect(statSync(join(dir, "pki")).mode & 0o777).toBe(0o700);
    expect(existsSync(join(dir, ".dk-staging"))).toBe(false);
  });

  it("rolls an uncommitted staging folder back, even for a read-only command", async () => {
    const dir = fresh(root);
    mkdirSync(join(dir, ".dk-staging"), { recursive: true });
    writeFileSync(join(dir, "a.crt"), "old a");
    writeFileSync(join(dir, ".dk-staging", "0.new"), "new a");
    const q = quiet();
    await (await openClusterFolder(dir, { readOnly: true, ...q })).release();
    expect(q.lines).toEqual([`${dir}: discarded the files of an interrupted run (it had not committed them; the previous files stand)`]);
    expect(readFileSync(join(dir, "a.crt"), "utf8")).toBe("old a");
    expect(existsSync(join(dir, ".dk-staging"))).toBe(false);
  });

  it("removes the empty staging folder of a commit that finished, saying nothing was undone", async () => {
    const dir = fresh(root);
    mkdirSync(join(dir, ".dk-staging"), { recursive: true });
    writeFileSync(join(dir, "a.crt"), "new a");
    const q = quiet();
    await (await openClusterFolder(dir, q)).release();
    expect(q.lines).toEqual([]);
    expect(readdirSync(dir)).toEqual(["a.crt"]);
  });

  it("refuses a journal whose target leaves the folder", async () => {
    const dir = fresh(root);
    mkdirSync(join(dir, ".dk-staging"), { recursive: true });
    writeFileSync(join(dir, ".dk-staging", "0.new"), "x");
    writeFileSync(join(dir, ".dk-staging", "journal.json"), JSON.stringify({ version: 1, entries: [{ staged: "0.new", target: "../escape" }] }));
    await expect(openClusterFolder(dir, quiet())).rejects.toThrow(/journal.json: bad entry/);
    expect(existsSync(join(root, "escape"))).toBe(false);
    // The refusal released the lock.
    await expect(openClusterFolder(dir, { waitMs: 0, ...quiet() })).rejects.toThrow(/bad entry/);
  });

  it("removes stray temporary files and kubectl lock files older than a minute, and keeps fresh ones", async () => {
    const dir = fresh(root);
    mkdirSync(join(dir, "pki", "etcd"), { recursive: true });
    const old = [join(dir, "pki", "etcd", ".ca.key.0123456789ab.tmp"), join(dir, ".admin.conf.abcdefabcdef.tmp"), join(dir, "admin.conf.lock")];
    const young = join(dir, "pki", ".sa.key.0123456789ab.tmp");
    for (const p of [...old, young]) writeFileSync(p, "x");
    const past = new Date(Date.now() - 120_000);
    for (const p of old) utimesSync(p, past, past);
    const q = quiet();
    await (await openClusterFolder(dir, q)).release();
    expect(q.lines).toEqual([`${dir}: removed 3 temporary or lock files left by interrupted runs`]);
    expect(old.filter((p) => existsSync(p))).toEqual([]);
    expect(existsSync(young)).toBe(true);
  });

  it("a read-only open of a missing folder makes nothing", async () => {
    const dir = fresh(root);
    await (await openClusterFolder(dir, { readOnly: true })).release();
    expect(existsSync(dir)).toBe(false);
  });
});

describe("the PKI functions in one set", () => {
  const root = tempDir();

  it("generate and renew called alone each commit their own set", async () => {
    const dir = fresh(root);
    await generateClusterPki(clusterSpec({ key: ecdsa }), dir);
    const before = readFileSync(join(dir, "pki", "apiserver.crt"), "utf8");
    await renewCertificates(dir, "apiserver");
    expect(readFileSync(join(dir, "pki", "apiserver.crt"), "utf8")).not.toBe(before);
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("joins a caller's set: nothing lands before the caller commits", async () => {
    const dir = fresh(root);
    const f = await openClusterFolder(dir);
    await generateClusterPki(clusterSpec({ key: ecdsa }), dir, { folder: f });
    expect(existsSync(join(dir, "pki"))).toBe(false);
    expect(f.staged).toContain("pki/ca.key");
    await f.commit();
    await f.release();
    expect(existsSync(join(dir, "pki", "ca.key"))).toBe(true);
  });
});
