// bin.js compiles the CLI with a V8 code cache kept in $XDG_CACHE_HOME/dk-bootstrap/code-cache, one file per command.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, dk, tempDir } from "../../../test-support/peers.js";

const BUILD = readFileSync(join(CLI, "..", "bundle", "build-id"), "utf8").trim();
const VERSION = (JSON.parse(readFileSync(join(CLI, "..", "package.json"), "utf8")) as { version: string }).version;

/** A cache folder of its own, and the CLI run with it. */
function setUp() {
  const home = tempDir("dk-cc-");
  const dir = join(home, "dk-bootstrap", "code-cache");
  const env = { ...process.env, XDG_CACHE_HOME: home, NODE_DISABLE_COMPILE_CACHE: "" };
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => dk(args, { cwd: home, env: { ...env, ...extra } });
  const files = () => (existsSync(dir) ? readdirSync(dir).sort() : []);
  return { home, dir, run, files, cacheOf: (command: string) => join(dir, `${BUILD}-${process.version}-${process.arch}-${command}`) };
}

describe("the code cache", () => {
  it("is written by a command's first successful run, named for the build, Node and the command, then used as it is", () => {
    const t = setUp();
    const first = t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"]);
    expect(first.status, first.stderr).toBe(0);
    expect(t.files()).toEqual([`${BUILD}-${process.version}-${process.arch}-certs`]);
    const path = t.cacheOf("certs");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(t.dir).mode & 0o777).toBe(0o700);
    const before = statSync(path);
    const second = t.run(["certs", "--key-algo", "ecdsa", "--dir", "b"]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout.replaceAll("/b", "/a")).toBe(first.stdout);
    // A cache V8 refused would have been replaced (a new file renamed over it): it was accepted.
    expect(statSync(path).ino).toBe(before.ino);
    expect(statSync(path).mtimeMs).toBe(before.mtimeMs);
  });

  it("is not written by a failed run, nor with NODE_DISABLE_COMPILE_CACHE", () => {
    const t = setUp();
    const failed = t.run(["gencert", "-initca", "nope.json"]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^error: nope\.json: cannot read the CSR JSON/);
    expect(t.files()).toEqual([]);
    const off = t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"], { NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(off.status, off.stderr).toBe(0);
    expect(t.files()).toEqual([]);
  });

  it("that is damaged is refused by V8: the command works and the cache is made again", () => {
    const t = setUp();
    expect(t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"]).status).toBe(0);
    const garbage = Buffer.alloc(statSync(t.cacheOf("certs")).size, 0x5a);
    writeFileSync(t.cacheOf("certs"), garbage);
    const r = t.run(["certs", "--key-algo", "ecdsa", "--dir", "b"]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(t.home, "b", "admin.conf"))).toBe(true);
    expect(readFileSync(t.cacheOf("certs")).equals(garbage)).toBe(false);
  });

  it("in a folder others can write to is neither read nor written: its bytecode would run as this user", () => {
    const t = setUp();
    mkdirSync(t.dir, { recursive: true });
    chmodSync(t.dir, 0o777);
    const planted = Buffer.alloc(4096, 0x5a);
    writeFileSync(t.cacheOf("certs"), planted);
    const r = t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"]);
    expect(r.status, r.stderr).toBe(0);
    // Read, V8 would have refused it and the run would have written its own over it.
    expect(readFileSync(t.cacheOf("certs")).equals(planted)).toBe(true);
    expect(t.files()).toEqual([`${BUILD}-${process.version}-${process.arch}-certs`]);
  });

  it("of another build is removed when this build writes its own", () => {
    const t = setUp();
    expect(t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"]).status).toBe(0);
    const old = join(t.dir, `0000000000000000-${process.version}-${process.arch}-certs`);
    writeFileSync(old, "old build");
    expect(t.run(["explain"]).status).toBe(0);
    expect(t.files()).toEqual([`${BUILD}-${process.version}-${process.arch}-certs`, `${BUILD}-${process.version}-${process.arch}-explain`]);
  });
});

describe("--version", () => {
  it("answered without loading the CLI, prints what commander prints", () => {
    const fast = dk(["--version"]);
    const viaCommander = dk(["--no-color", "--version"]);
    expect(fast.status).toBe(0);
    expect(viaCommander.status).toBe(0);
    expect(fast.stdout).toBe(`${VERSION}\n`);
    expect(dk(["-V"]).stdout).toBe(fast.stdout);
    expect(viaCommander.stdout).toBe(fast.stdout);
  });
});
