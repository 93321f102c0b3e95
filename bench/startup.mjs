#!/usr/bin/env node
// CLI start-up: `dk-bootstrap --version` and `dk-bootstrap certs --key-algo ecdsa` (fresh folder each time)
// against `node -e 0`, medians of RUNS (default 10). Run: npm run bench:startup
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const RUNS = Number(process.argv[2] ?? 10);
const CLI = new URL("../packages/cli/bin.js", import.meta.url).pathname;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(args, fresh = false) {
  const xs = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), "dk-startup-"));
    const t = performance.now();
    execFileSync(process.execPath, fresh ? [...args, "--dir", join(dir, "c")] : args, { stdio: "ignore" });
    xs.push(performance.now() - t);
    rmSync(dir, { recursive: true, force: true });
  }
  return median(xs);
}

const base = time(["-e", "0"]);
const version = time([CLI, "--version"]);
const certs = time([CLI, "certs", "--key-algo", "ecdsa"], true);
console.log(`CLI start-up, median of ${RUNS}\n`);
console.log("| command | wall time | over `node -e 0` |");
console.log("|---|---|---|");
console.log(`| node -e 0 | ${Math.round(base)} ms | |`);
console.log(`| dk-bootstrap --version | ${Math.round(version)} ms | ${Math.round(version - base)} ms |`);
console.log(`| dk-bootstrap certs --key-algo ecdsa (18 keys, 17 certs, 6 kubeconfigs) | ${Math.round(certs)} ms | ${Math.round(certs - base)} ms |`);
