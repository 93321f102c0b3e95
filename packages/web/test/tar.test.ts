// The page's tar writer and reader against GNU tar: what one writes, the other reads, modes and all.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { filesOfInput } from "../src/drop.js";
import { TarError, UNPACK_LIMITS, gunzip, gzip, readTar, writeTar } from "../src/tar.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The header at `at` with `bytes` written at `field` and its checksum made right again (as GNU tar writes it: six octal digits, NUL, space). */
function patched(archive: Uint8Array, at: number, field: number, bytes: number[]): Uint8Array {
  const out = archive.slice();
  out.set(bytes, at + field);
  out.fill(0x20, at + 148, at + 156);
  const sum = out.subarray(at, at + 512).reduce((a, b) => a + b, 0);
  out.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\0 `), at + 148);
  return out;
}

/** `n` in GNU tar's base-256 form for a field of `len` bytes: 0x80, then big-endian (two's complement below zero, 0xff first). */
function base256(n: bigint, len: number): number[] {
  const bytes: number[] = [];
  let v = n < 0n ? (1n << BigInt(len * 8)) + n : n;
  for (let i = 0; i < len; i++, v >>= 8n) bytes.unshift(Number(v & 0xffn));
  if (n >= 0n) bytes[0]! |= 0x80;
  return bytes;
}

/** A ustar header block of `type` for `name` with `size`, for what writeTar never writes (pax headers). */
function rawHeader(name: string, size: number, type: string): Uint8Array {
  const h = new Uint8Array(512);
  h.set(enc.encode(name), 0);
  h.set(enc.encode("0000644\0"), 100);
  h.set(enc.encode(`${size.toString(8).padStart(11, "0")}\0`), 124);
  h.set(enc.encode("00000000000\0"), 136);
  h[156] = type.charCodeAt(0);
  h.set(enc.encode("ustar\x0000"), 257);
  return patched(h, 0, 0, []);
}

/** GNU tar's own archive (`--format=gnu`) of a.txt ("hello\n") then b.txt ("bye\n"), extra options given. */
function gnuArchive(options: string[] = []): { dir: string; file: string; bytes: Uint8Array } {
  const dir = tempDir();
  writeFileSync(join(dir, "a.txt"), "hello\n");
  writeFileSync(join(dir, "b.txt"), "bye\n");
  const file = join(dir, "gnu.tar");
  const made = run(peer("tar"), ["--format=gnu", ...options, "-cf", file, "-C", dir, "a.txt", "b.txt"]);
  expect(made.stderr).toBe("");
  return { dir, file, bytes: new Uint8Array(readFileSync(file)) };
}

const texts = (files: { path: string; content: Uint8Array; mode: number }[]) => files.map((f) => [f.path, f.mode, dec.decode(f.content)]);

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

  it("reads the base-256 uid, gid and times GNU tar writes past octal's reach (before 1970, after 2242, uids past 2097151)", () => {
    for (const [options, field, first] of [
      [["--owner=big:3000000", "--group=big:70000000", "--mtime=@-1000"], 136, 0xff],
      [["--mtime=@99999999999"], 136, 0x80],
    ] as const) {
      const { bytes } = gnuArchive([...options]);
      // GNU tar's own bytes: the marker, then the number big-endian (3000000 = 0x2dc6c0; -1000 = ...fc18).
      expect(bytes[field]).toBe(first);
      if (options[0].startsWith("--owner")) expect([...bytes.subarray(108, 116)]).toEqual(base256(3000000n, 8));
      if (first === 0xff) expect([...bytes.subarray(136, 148)]).toEqual(base256(-1000n, 12));
      expect(texts(readTar(bytes))).toEqual([
        ["a.txt", 0o644, "hello\n"],
        ["b.txt", 0o644, "bye\n"],
      ]);
    }
  });

  it("reads a size in base-256 form as GNU tar does (it stopped quietly there, as if the archive ended)", () => {
    const { dir, bytes } = gnuArchive();
    const file = join(dir, "base256.tar");
    writeFileSync(file, patched(bytes, 0, 124, base256(6n, 12)));
    expect(readFileSync(file)[124]).toBe(0x80);
    // GNU tar reads the crafted header as its own: the same entries, the same bytes.
    expect(run(peer("tar"), ["-tvf", file]).stdout).toMatch(/^-rw-r--r-- \S+ +6 .* a\.txt\n.* b\.txt\n$/);
    expect(run(peer("tar"), ["-xOf", file, "a.txt"]).stdout).toBe("hello\n");
    expect(texts(readTar(new Uint8Array(readFileSync(file))))).toEqual(texts(readTar(bytes)));
  });

  it("refuses a size it cannot hold or that is no size, naming the entry and where its header is", () => {
    const { dir, bytes } = gnuArchive();
    const at = 1024; // b.txt's header, after a.txt's header and its one block
    expect(dec.decode(bytes.subarray(at, at + 5))).toBe("b.txt");
    const eight = join(dir, "8g.tar");
    writeFileSync(eight, patched(bytes, at, 124, base256(8n << 30n, 12)));
    // GNU tar too finds the archive short of the 8 GiB the header promises.
    expect(run(peer("tar"), ["-xOf", eight, "b.txt"]).status).not.toBe(0);
    expect(() => readTar(new Uint8Array(readFileSync(eight)))).toThrow(
      new TarError('tar archive cut short (entry "b.txt" at byte 1024 needs 8589934592 bytes)'),
    );
    expect(() => readTar(patched(bytes, at, 124, base256(-6n, 12)))).toThrow(
      new TarError('tar archive: the size of entry "b.txt" at byte 1024 is out of range (-6)'),
    );
    expect(() => readTar(patched(bytes, at, 124, base256(1n << 80n, 12)))).toThrow(
      /the size of entry "b\.txt" at byte 1024 is out of range \(1208925819614629174706176\)$/,
    );
    expect(() => readTar(patched(bytes, at, 124, [...enc.encode("00000000x06\0")]))).toThrow(
      new TarError('tar archive: the size of entry "b.txt" at byte 1024 is not a number ("00000000x06")'),
    );
  });

  it("takes a pax header's size over the ustar field, as GNU tar does for entries of 8 GiB and more", () => {
    const dir = tempDir();
    const record = "10 size=6\n"; // "10" counts the whole record, itself included
    expect(enc.encode(record).length).toBe(10);
    const body = new Uint8Array(512);
    body.set(enc.encode(record));
    const content = new Uint8Array(512);
    content.set(enc.encode("hello\n"));
    const file = join(dir, "pax.tar");
    writeFileSync(file, Buffer.concat([rawHeader("PaxHeaders/a.txt", 10, "x"), body, rawHeader("a.txt", 0, "0"), content, new Uint8Array(1024)]));
    expect(run(peer("tar"), ["-xOf", file, "a.txt"]).stdout).toBe("hello\n");
    expect(texts(readTar(new Uint8Array(readFileSync(file))))).toEqual([["a.txt", 0o644, "hello\n"]]);
    const bad = Buffer.from(readFileSync(file));
    bad.set(enc.encode("10 size=x\n"), 512);
    expect(() => readTar(new Uint8Array(bad))).toThrow(
      new TarError('tar archive: the size record of the pax entry "PaxHeaders/a.txt" at byte 0 is not a size ("x")'),
    );
  });

  it("reads pax records by their length, as GNU tar does: a value's newline starts no record, and the size is the entry's, not a long name's", () => {
    const dir = tempDir();
    const block = (text: string) => {
      const b = new Uint8Array(Math.ceil(text.length / 512) * 512);
      b.set(enc.encode(text));
      return b;
    };
    const end = new Uint8Array(1024);
    // A comment whose value holds what looks like a path record: GNU tar takes the path record itself.
    const records = "27 comment=x\n11 path=evil\n\n14 path=a.txt\n";
    expect(enc.encode(records).length).toBe(41);
    const spoof = join(dir, "spoof.tar");
    writeFileSync(spoof, Buffer.concat([rawHeader("PaxHeaders/a", 41, "x"), block(records), rawHeader("x", 6, "0"), block("hello\n"), end]));
    expect(run(peer("tar"), ["-tf", spoof]).stdout).toBe("a.txt\n");
    expect(texts(readTar(new Uint8Array(readFileSync(spoof))))).toEqual([["a.txt", 0o644, "hello\n"]]);
    // A pax size, then a GNU long name: the long name's block is read with its own size, the file with the pax one.
    const name = `${"n".repeat(120)}.txt`;
    const mixed = join(dir, "mixed.tar");
    const parts = [rawHeader("PaxHeaders/a", 10, "x"), block("10 size=6\n"), rawHeader("././@LongLink", name.length + 1, "L"), block(`${name}\0`)];
    writeFileSync(mixed, Buffer.concat([...parts, rawHeader("short", 0, "0"), block("hello\n"), end]));
    expect(run(peer("tar"), ["-tf", mixed]).stdout).toBe(`${name}\n`);
    expect(texts(readTar(new Uint8Array(readFileSync(mixed))))).toEqual([[name, 0o644, "hello\n"]]);
    // A record whose length runs past the header's body is refused, naming it.
    const cut = Buffer.concat([rawHeader("PaxHeaders/a", 10, "x"), block("99 size=6\n"), rawHeader("a.txt", 6, "0"), block("hello\n"), end]);
    expect(() => readTar(new Uint8Array(cut))).toThrow(
      new TarError('tar archive: the pax entry "PaxHeaders/a" at byte 0 has a malformed record at byte 0 of its body'),
    );
  });

  it("refuses what is not a tar archive", () => {
    expect(() => readTar(new Uint8Array(512).fill(7))).toThrow(TarError);
  });
  it("refuses a drop that unpacks past its bounds: a 510 KiB .tar.gz of 512 MiB, an archive of more entries than a folder has", async () => {
    const dir = tempDir();
    // A hole of 512 MiB read as zeros by tar, packed by gzip about a thousand to one.
    run("truncate", ["-s", "512M", join(dir, "zeros")]);
    expect(run(peer("tar"), ["-czf", join(dir, "bomb.tar.gz"), "-C", dir, "zeros"]).status).toBe(0);
    const bomb = new Uint8Array(readFileSync(join(dir, "bomb.tar.gz")));
    expect(bomb.length).toBeLessThan(UNPACK_LIMITS.bytes / 64);
    const dropped = filesOfInput([new File([bomb], "cluster.tar.gz")]);
    await expect(dropped).rejects.toThrow(TarError);
    await expect(dropped).rejects.toThrow("a gzip archive that unpacks to more than 64 MiB: not a cluster folder");
    // Just under the bound, it is read.
    const fits = await gzip(writeTar([{ path: "zeros", content: new Uint8Array(UNPACK_LIMITS.bytes - 4096), mode: 0o644 }]));
    expect((await filesOfInput([new File([fits], "fits.tar.gz")])).get("zeros")?.length).toBe(UNPACK_LIMITS.bytes - 4096);

    const many = writeTar(Array.from({ length: UNPACK_LIMITS.entries + 1 }, (_, i) => ({ path: `f${i}`, content: new Uint8Array(0), mode: 0o644 })));
    expect(() => readTar(many)).toThrow(new TarError(`tar archive: more than ${UNPACK_LIMITS.entries} entries: not a cluster folder`));
    expect(readTar(many, UNPACK_LIMITS.entries + 1)).toHaveLength(UNPACK_LIMITS.entries + 1);
  });
});
