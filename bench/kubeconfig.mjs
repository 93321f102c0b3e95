#!/usr/bin/env node
// A big kubeconfig (CLUSTERS clusters, default 200,000: about 14 MB) through dk-bootstrap and kubectl in the same run:
// `config view` (load + emit) and `config set-cluster` (lock, load, edit, write). Each tool edits its own copy.
// (`config unset clusters` is left out: kubectl spent over 4 CPU-minutes on it without finishing; dk-bootstrap 6 s.)
// Run: npm run bench:kubeconfig [-- CLUSTERS]
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const CLUSTERS = Number(process.argv[2] ?? 200_000);
const CLI = new URL("../packages/cli/bin.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "dk-bench-kc-"));

const lines = ["apiVersion: v1", "kind: Config", "clusters:"];
for (let i = 0; i < CLUSTERS; i++) {
  lines.push(`- name: cluster-${String(i).padStart(6, "0")}`, "  cluster:", `    server: https://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:6443`);
}
lines.push("contexts:", "- name: ctx", "  context:", "    cluster: cluster-000001", "    user: u", "current-context: ctx", "users:", "- name: u", "  user:");
lines.push("    token: abc", "");
const seed = join(dir, "seed.conf");
writeFileSync(seed, lines.join("\n"));

function time(cmd, args, file) {
  copyFileSync(seed, file);
  const t = performance.now();
  execFileSync(cmd, [...args, "--kubeconfig", file], { stdio: ["ignore", "ignore", "inherit"], maxBuffer: 1 << 30 });
  return (performance.now() - t) / 1000;
}

const kubectl = execFileSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).trim();
const rows = [
  ["view", ["config", "view"], ["kubeconfig", "view"]],
  ["set-cluster", ["config", "set-cluster", "extra", "--server=https://x"], ["kubeconfig", "set-cluster", "extra", "--server=https://x"]],
];
console.log(`A kubeconfig of ${CLUSTERS} clusters (${(statSync(seed).size / 1e6).toFixed(1)} MB), one run each\n`);
console.log("| command | kubectl | dk-bootstrap | ratio |");
console.log("|---|---|---|---|");
for (const [name, theirs, ours] of rows) {
  const k = time(kubectl, theirs, join(dir, "kubectl.conf"));
  const d = time(process.execPath, [CLI, ...ours], join(dir, "dk.conf"));
  console.log(`| ${name} | ${k.toFixed(1)} s | ${d.toFixed(1)} s | ${(d / k).toFixed(2)}x |`);
}
rmSync(dir, { recursive: true, force: true });
