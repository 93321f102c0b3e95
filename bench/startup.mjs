#!/usr/bin/env node
// CLI start-up: `dk-bootstrap --version` and `dk-bootstrap certs --key-algo ecdsa` (fresh folder each time), with and
// without the code cache, and `npx dk-bootstrap --version` against `node_modules/.bin/dk-bootstrap --version` (the
// README intro's figures), against `node -e 0`; the commands take turns in each round, medians of RUNS (default 15).
// Run: npm run bench:startup
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const RUNS = Number(process.argv[2] ?? 15);
const CLI = new URL("../packages/cli/bin.cjs", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "dk-startup-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
// Node's default environment, as in pki.mjs: NODE_EXTRA_CA_CERTS makes every Node start parse a CA bundle before any
// script runs; where it is set, one more row shows what it costs.
const env = { ...process.env, XDG_CACHE_HOME: join(work, "cache"), NODE_DISABLE_COMPILE_CACHE: "" };
delete env.NODE_EXTRA_CA_CERTS;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const commands = {
  "node -e 0": [["-e", "0"]],
  "dk-bootstrap --version": [[CLI, "--version"]],
  "dk-bootstrap certs --key-algo ecdsa (18 keys, 17 certs, 6 kubeconfigs)": [[CLI, "certs", "--key-algo", "ecdsa", "--dir", "c"]],
  "the same, without the code cache": [[CLI, "certs", "--key-algo", "ecdsa", "--dir", "c"], { NODE_DISABLE_COMPILE_CACHE: "1" }],
};
// The README's intro: what `npx` adds per call against the linked bin, both run from the repository's root.
commands["npx dk-bootstrap --version (at the root)"] = [["--no-install", "dk-bootstrap", "--version"], {}, "npx", ROOT];
commands["node_modules/.bin/dk-bootstrap --version (at the root)"] = [["--version"], {}, join(ROOT, "node_modules", ".bin", "dk-bootstrap"), ROOT];
if (process.env.NODE_EXTRA_CA_CERTS)
  commands["node -e 0, with this machine's NODE_EXTRA_CA_CERTS"] = [["-e", "0"], { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }];
// As in pki.mjs: bash's `times` gives each run's CPU time (user + sys), which a busy machine disturbs less than the wall time.
const wrap = 'c="$1"; shift; "$c" "$@" >/dev/null 2>&1 </dev/null; s=$?; times; exit $s';
const seconds = (t) => ((m) => Number(m[1]) * 60 + Number(m[2]))(/(\d+)m([\d.]+)s/.exec(t));
const times = Object.fromEntries(Object.keys(commands).map((n) => [n, { wall: [], cpu: [] }]));
for (let i = -1; i < RUNS; i++) {
  for (const [name, [args, extra = {}, exe = process.execPath, cwd]] of Object.entries(commands)) {
    const dir = mkdtempSync(join(work, "run-"));
    const t = performance.now();
    const out = execFileSync("bash", ["-c", wrap, "bash", exe, ...args], { cwd: cwd ?? dir, encoding: "utf8", env: { ...env, ...extra } });
    const wall = performance.now() - t;
    rmSync(dir, { recursive: true, force: true });
    // Round -1 warms the disk cache and writes the code cache, as a user's first run does.
    if (i < 0) continue;
    const [user, sys] = out.trim().split("\n")[1].split(/\s+/).map(seconds);
    times[name].wall.push(wall);
    times[name].cpu.push((user + sys) * 1000);
  }
}
const base = { wall: median(times["node -e 0"].wall), cpu: median(times["node -e 0"].cpu) };
console.log(`CLI start-up, median of ${RUNS} in turns; CPU time is user + sys\n`);
console.log("| command | wall time | CPU time | wall over `node -e 0` | ratio (wall, CPU) |");
console.log("|---|---|---|---|---|");
for (const [name, x] of Object.entries(times)) {
  const [w, c] = [median(x.wall), median(x.cpu)];
  const rest = name === "node -e 0" ? "| | |" : `| ${Math.round(w - base.wall)} ms | ${(w / base.wall).toFixed(2)}, ${(c / base.cpu).toFixed(2)} |`;
  console.log(`| ${name} | ${Math.round(w)} ms | ${Math.round(c)} ms ${rest}`);
}
