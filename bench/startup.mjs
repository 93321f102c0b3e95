#!/usr/bin/env node
// CLI start-up: `dk-bootstrap --version` and `dk-bootstrap certs --key-algo ecdsa` (fresh folder each time), with and
// without the code cache, against `node -e 0`; the commands take turns in each round, medians of RUNS (default 15).
// Run: npm run bench:startup
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const RUNS = Number(process.argv[2] ?? 15);
const CLI = new URL("../packages/cli/bin.cjs", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "dk-startup-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, XDG_CACHE_HOME: join(work, "cache"), NODE_DISABLE_COMPILE_CACHE: "" };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const commands = {
  "node -e 0": [["-e", "0"]],
  "dk-bootstrap --version": [[CLI, "--version"]],
  "dk-bootstrap certs --key-algo ecdsa (18 keys, 17 certs, 6 kubeconfigs)": [[CLI, "certs", "--key-algo", "ecdsa", "--dir", "c"]],
  "the same, without the code cache": [[CLI, "certs", "--key-algo", "ecdsa", "--dir", "c"], { NODE_DISABLE_COMPILE_CACHE: "1" }],
};
const times = Object.fromEntries(Object.keys(commands).map((n) => [n, []]));
for (let i = -1; i < RUNS; i++) {
  for (const [name, [args, extra = {}]] of Object.entries(commands)) {
    const dir = mkdtempSync(join(work, "run-"));
    const t = performance.now();
    execFileSync(process.execPath, args, { cwd: dir, stdio: "ignore", env: { ...env, ...extra } });
    // Round -1 warms the disk cache and writes the code cache, as a user's first run does.
    if (i >= 0) times[name].push(performance.now() - t);
    rmSync(dir, { recursive: true, force: true });
  }
}
const base = median(times["node -e 0"]);
console.log(`CLI start-up, median of ${RUNS}\n`);
console.log("| command | wall time | over `node -e 0` | ratio |");
console.log("|---|---|---|---|");
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(
    name === "node -e 0"
      ? `| ${name} | ${Math.round(m)} ms | | |`
      : `| ${name} | ${Math.round(m)} ms | ${Math.round(m - base)} ms | ${(m / base).toFixed(2)} |`,
  );
}
