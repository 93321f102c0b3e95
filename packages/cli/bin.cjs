#!/usr/bin/env node
// Start-up is most of what a short command costs (`npm run bench:startup`), so this file does two things
// before the CLI runs: `--version` is answered from package.json without loading the CLI, and the CLI
// (bundle/main.cjs, one classic script) is compiled with a V8 code cache. Node 20 has no compile cache of
// its own (module.enableCompileCache() is 22.1+), so the cache is kept here: one file per command, made at
// the end of the first successful run of that command with this build and this Node, in
// $XDG_CACHE_HOME/dk-bootstrap/code-cache (else ~/.cache/...), shared by every checkout and install of the CLI on
// the machine. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
// A CommonJS entry: Node starts it ~6 ms sooner than an ES module (no ESM loader to set up), which is most of
// what `--version` costs over `node -e 0`.
"use strict";
const { mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname, join } = require("node:path");

const args = process.argv.slice(2);
const bundle = join(__dirname, "bundle");
const main = join(bundle, "main.cjs");

/**
 * Caches of another install not written for this long are dropped: nothing else would ever remove those of a
 * checkout deleted since. One still in use is only made again, by its next run.
 */
const UNUSED_MS = 30 * 24 * 3600 * 1000;

if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  printLine(`${JSON.parse(readFileSync(join(__dirname, "package.json"), "utf8")).version}\n`);
} else if (args.includes("--debug")) {
  // Node's own loader, which maps the stacks printed with --debug back to the TypeScript sources.
  process.setSourceMapsEnabled(true);
  createRequire(main)(main);
} else {
  runWithCodeCache();
}

/** Writes a short line to fd 1 directly: making process.stdout (a stream) costs ~4 ms, more than the rest of `--version`. */
function printLine(line) {
  try {
    writeSync(1, line);
  } catch (e) {
    if (e.code === "EAGAIN")
      process.stdout.write(line); // a full non-blocking pipe: the stream waits for it
    else if (e.code !== "EPIPE") {
      // EPIPE: a reader that is gone wants nothing more. Anything else (a full disk) is said in one line.
      process.stderr.write(`error: standard output: ${e.message}\n`);
      process.exitCode = 1;
    }
  }
}

function runWithCodeCache() {
  const cache = cacheFile();
  let cachedData;
  try {
    if (cache && ownFolder(cache.dir)) cachedData = readFileSync(cache.path);
  } catch {
    // No cache yet: this run makes it.
  }
  // The wrapper Node gives a CommonJS module; the bundle needs require (for built-ins and ssh2) and __filename.
  // latin1: the bundle is ASCII (bundle.mjs), which latin1 reads as the same text without UTF-8 decoding.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(main, "latin1")}\n})`;
  const { Script } = require("node:vm"); // here, not at the top: `--version` does without it
  const script = new Script(source, { filename: main, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(main), module, main, bundle);
  // Written at exit, once the command's functions have been compiled: they are what the next run reuses.
  if (cache && (cachedData === undefined || script.cachedDataRejected)) process.once("exit", (code) => code === 0 && save(cache, script.createCachedData()));
}

/**
 * Where this command's code cache lives. V8 checks a cache against the source's length only (a rebuilt bundle
 * of the same length would run the old bytecode), so the name carries a hash of the bundle's content
 * (bundle/build-id, written by bundle.mjs), and Node's version and architecture. It starts with a hash of this
 * install's folder: two checkouts of different builds on one machine each keep their own caches, and a rebuild
 * removes only the caches of the build it replaces in the same folder.
 */
function cacheFile() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  try {
    const build = readFileSync(join(bundle, "build-id"), "utf8").trim();
    const command = args.find((a) => !a.startsWith("-")) ?? "";
    // Only a command's name makes a file name: anything else (a typo, a path) shares one cache.
    const name = /^[a-z][a-z0-9-]{0,31}$/.test(command) ? command : "other";
    const dir = join(process.env.XDG_CACHE_HOME || join(require("node:os").homedir(), ".cache"), "dk-bootstrap", "code-cache");
    const install = `${fnv1a(__dirname)}-`;
    const prefix = `${install}${build}-${process.version}-${process.arch}-`;
    return { dir, install, prefix, path: join(dir, `${prefix}${name}`) };
  } catch {
    return undefined;
  }
}

/**
 * Whether the cache folder (and the one above it) is this user's and closed to others: bytecode that someone else
 * could write would run as this user (XDG_CACHE_HOME=/tmp, a HOME kept by sudo), so such a folder is not used.
 */
function ownFolder(dir) {
  if (typeof process.getuid !== "function") return true; // Windows: ACLs, not modes
  try {
    return [dir, dirname(dir)].every((d) => {
      const st = statSync(d);
      return st.uid === process.getuid() && (st.mode & 0o022) === 0;
    });
  } catch {
    return false;
  }
}

/** FNV-1a (32 bits) as 8 hex digits: enough to tell a machine's few installs apart, without loading node:crypto at start-up. */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/**
 * Writes the cache atomically (runs may race), drops this install's caches of other builds (or another Node), and
 * other installs' caches not written for {@link UNUSED_MS}; a failure only costs the next run its cache.
 */
function save(cache, data) {
  try {
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    if (!ownFolder(cache.dir)) return;
    const tmp = `${cache.path}.${process.pid}.tmp`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, cache.path);
    const now = Date.now();
    for (const f of readdirSync(cache.dir)) {
      if (f.startsWith(cache.prefix)) continue;
      const path = join(cache.dir, f);
      if (f.startsWith(cache.install) || now - mtimeOf(path) > UNUSED_MS) rmQuietly(path);
    }
  } catch {
    // A read-only or full cache folder: run without a cache.
  }
}

function mtimeOf(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now(); // Another run removed it first.
  }
}

function rmQuietly(path) {
  try {
    unlinkSync(path);
  } catch {
    // Another run removed it first.
  }
}
