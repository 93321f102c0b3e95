// bin.js compiles the CLI with a V8 code cache kept in $XDG_CACHE_HOME/dk-bootstrap/code-cache, one file per command.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  openSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, dk, tempDir } from "../../../test-support/peers.js";

const BUILD = readFileSync(join(CLI, "..", "bundle", "build-id"), "utf8").trim();
const VERSION = (JSON.parse(readFileSync(join(CLI, "..", "package.json"), "utf8")) as { version: string }).version;

/** bin.cjs's name for an install: FNV-1a (32 bits) of its folder, 8 hex digits. */
function installId(folder: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < folder.length; i++) h = Math.imul(h ^ folder.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}
/** The start of this checkout's cache names for this build, Node and architecture. */
const PREFIX = `${installId(realpathSync(dirname(CLI)))}-${BUILD}-${process.version}-${process.arch}-`;

/** A cache folder of its own, and the CLI run with it. */
function setUp() {
  const home = tempDir("dk-cc-");
  const dir = join(home, "dk-bootstrap", "code-cache");
  const env = { ...process.env, XDG_CACHE_HOME: home, NODE_DISABLE_COMPILE_CACHE: "" };
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => dk(args, { cwd: home, env: { ...env, ...extra } });
  const files = () => (existsSync(dir) ? readdirSync(dir).sort() : []);
  return { home, dir, run, files, cacheOf: (command: string) => join(dir, `${PREFIX}${command}`) };
}

describe("the code cache", () => {
  it("is written by a command's first successful run, named for the build, Node and the command, then used as it is", () => {
    const t = setUp();
    const first = t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"]);
    expect(first.status, first.stderr).toBe(0);
    expect(t.files()).toEqual([`${PREFIX}certs`]);
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
    expect(t.files()).toEqual([`${PREFIX}certs`]);
  });

  it("of this checkout's other builds is removed when this build writes its own; another checkout's is kept until unused for 30 days", () => {
    const t = setUp();
    expect(t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"]).status).toBe(0);
    const mine = PREFIX.split("-")[0]!;
    const oldBuild = join(t.dir, `${mine}-0000000000000000-${process.version}-${process.arch}-certs`);
    const otherNode = join(t.dir, `${mine}-${BUILD}-v0.0.1-${process.arch}-certs`);
    const otherCheckout = join(t.dir, `0badf00d-1111111111111111-${process.version}-${process.arch}-certs`);
    const deadCheckout = join(t.dir, `0badf00e-2222222222222222-${process.version}-${process.arch}-certs`);
    for (const f of [oldBuild, otherNode, otherCheckout, deadCheckout]) writeFileSync(f, "another build");
    const days = (n: number) => (Date.now() - n * 24 * 3600 * 1000) / 1000;
    utimesSync(otherCheckout, days(29), days(29));
    utimesSync(deadCheckout, days(31), days(31));
    expect(t.run(["explain"]).status).toBe(0);
    expect(t.files()).toEqual([otherCheckout.slice(t.dir.length + 1), `${PREFIX}certs`, `${PREFIX}explain`].sort());
  });

  it("of two checkouts of different builds on one machine: each keeps its own, and neither evicts the other's", () => {
    const t = setUp();
    // A second checkout: the same bundle under another folder and another build id (a build of other sources).
    const other = join(t.home, "other-checkout");
    for (const f of ["bin.cjs", "package.json", "bundle"]) cpSync(join(dirname(CLI), f), join(other, f), { recursive: true });
    writeFileSync(join(other, "bundle", "build-id"), "0123456789abcdef\n");
    const otherPrefix = `${installId(realpathSync(other))}-0123456789abcdef-${process.version}-${process.arch}-`;
    const runOther = (args: string[]) =>
      spawnSync(process.execPath, [join(other, "bin.cjs"), ...args], {
        cwd: t.home,
        env: { ...process.env, XDG_CACHE_HOME: t.home, NODE_DISABLE_COMPILE_CACHE: "" },
        encoding: "utf8",
      });
    expect(t.run(["certs", "--key-algo", "ecdsa", "--dir", "a"]).status).toBe(0);
    const o = runOther(["certs", "--key-algo", "ecdsa", "--dir", "b"]);
    expect(o.status, o.stderr).toBe(0);
    expect(t.files()).toEqual([`${PREFIX}certs`, `${otherPrefix}certs`].sort());
    const [mine, theirs] = [statSync(t.cacheOf("certs")), statSync(join(t.dir, `${otherPrefix}certs`))];
    // Each checkout in turn again: both caches are still there and accepted (never replaced).
    expect(t.run(["certs", "--key-algo", "ecdsa", "--dir", "c"]).status).toBe(0);
    expect(runOther(["certs", "--key-algo", "ecdsa", "--dir", "d"]).status).toBe(0);
    expect(t.files()).toEqual([`${PREFIX}certs`, `${otherPrefix}certs`].sort());
    expect(statSync(t.cacheOf("certs")).ino).toBe(mine.ino);
    expect(statSync(join(t.dir, `${otherPrefix}certs`)).ino).toBe(theirs.ino);
  });
});

describe("the bundle", () => {
  it("is ASCII, which bin.cjs reads as latin1, and what the sources write in other characters still means the same", () => {
    const bytes = readFileSync(join(CLI, "..", "bundle", "main.cjs"));
    expect(bytes.findIndex((b) => b > 0x7f)).toBe(-1);
    // The duration pattern names µs in two spellings (micro sign, Greek mu): escaped in the bundle, still matched.
    const home = tempDir("dk-ascii-");
    for (const [validity, ok] of [
      ["8760h0\u00b5s", true],
      ["8760h0\u03bcs", true],
      ["8760h0\u00c2\u00b5s", false],
    ] as const) {
      const r = dk(["certs", "--key-algo", "ecdsa", "--dir", join(home, validity), "--validity", validity], { cwd: home });
      expect(r.status, `${validity}: ${r.stderr}`).toBe(ok ? 0 : 1);
    }
  });
});

describe("@peculiar/x509 in the bundle", () => {
  /** Runs the CLI in a Node that says at exit whether the library was loaded (its reflect-metadata polyfill is then there). */
  function runWatched(args: string[], cwd: string) {
    const script = `process.argv = [process.argv[0], ${JSON.stringify(CLI)}, ...${JSON.stringify(args)}];
      process.on("exit", () => process.stderr.write("x509 loaded: " + (typeof Reflect.getMetadata === "function") + "\\n"));
      require(${JSON.stringify(CLI)});`;
    return spawnSync(process.execPath, ["-e", script], { cwd, encoding: "utf8" });
  }

  it("is loaded only by a command that reads a certificate: a certs that only issues never loads it", () => {
    const home = tempDir("dk-lazy-x509-");
    const made = runWatched(["certs", "--key-algo", "ecdsa", "--dir", "c"], home);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toContain("x509 loaded: false");
    const read = runWatched(["certs", "check-expiration", "--dir", "c"], home);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/apiserver\s+\w{3} \d\d, \d{4}/);
    expect(read.stderr).toContain("x509 loaded: true");
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

  it("to a reader that is gone (EPIPE, as `dk-bootstrap --version | true` may meet) ends quietly", () => {
    const fifo = join(tempDir("dk-epipe-"), "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // fd 4 writes into the FIFO, which no one reads any more once fd 3 (its only reader) is closed.
    const script = 'exec 3<>"$1"; exec 4>"$1"; exec 3<&-; "$2" "$3" --version >&4 4>&-';
    const r = spawnSync("sh", ["-c", script, "sh", fifo, process.execPath, CLI], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("that cannot be written (a full disk) says so in one line, without a stack", () => {
    const full = openSync("/dev/full", "w");
    try {
      const r = spawnSync(process.execPath, [CLI, "--version"], { stdio: ["ignore", full, "pipe"], encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe("error: standard output: ENOSPC: no space left on device, write\n");
    } finally {
      closeSync(full);
    }
  });
});
