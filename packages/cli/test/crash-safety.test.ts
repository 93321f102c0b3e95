// kill -9 at random instants of the write phase, and parallel runs: the cluster folder always holds one complete,
// consistent set of files (checked with openssl), and nothing an interrupted run left survives the next command.
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, run, runAsync, tempDir } from "../../../test-support/peers.js";
import { COMPLETE_SET, RENEWED_SET, inconsistencies, leftovers, snapshot } from "./cluster-check.js";
import { prng } from "../../../test-support/mutate.js";

/**
 * A copy of the built CLI: these tests run for minutes, and a build beside them (another copy of the suite)
 * removes and rewrites the bundle, which would fail the runs that start meanwhile.
 */
function privateCli(): string {
  const built = dirname(CLI);
  const copy = join(tempDir(), "cli");
  mkdirSync(copy);
  for (const f of ["bin.js", "bin.cjs", "package.json"]) copyFileSync(join(built, f), join(copy, f));
  cpSync(join(built, "bundle"), join(copy, "bundle"), { recursive: true });
  symlinkSync(join(built, "..", "..", "node_modules"), join(copy, "node_modules"));
  return join(copy, "bin.js");
}
const cli = privateCli();
const dk = (args: string[], opts: { cwd: string }) => run(process.execPath, [cli, ...args], opts);
const dkAsync = (args: string[], opts: { cwd: string }) => runAsync(process.execPath, [cli, ...args], opts);

const SEED = Number(process.env.DK_TEST_SEED ?? 9);
const ECDSA = ["--key-algo", "ecdsa"];
/** Test-only pause before each step of a commit (see packages/pki/src/journal.ts): the write phase becomes long enough to aim at. */
const DELAY_MS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Killed {
  killed: boolean;
  /** What the run left: a committed journal, uncommitted staged files, the empty staging folder of a finished commit, or nothing. */
  left: "journal" | "staging" | "cleanup" | "none";
  /** Whether its lock file stayed (a kill after the release leaves none). */
  lockLeft: boolean;
  pid: number;
}

/** Where in the write phase a kill is aimed: among the staged writes (before the commit point), or among the renames (after it). */
type Phase = "staging" | "renames";

/**
 * Runs the CLI in `cwd` (on its default folder, ./cluster) with the write phase slowed down (`delayMs` before each
 * step; 0: as it runs for users), waits for the phase to begin (the staging folder, or the journal, appears), and
 * kills the run with SIGKILL `after` ms into it.
 */
async function killDuringWrites(cwd: string, args: string[], phase: Phase, after: number, delayMs = DELAY_MS): Promise<Killed> {
  const dir = join(cwd, "cluster");
  const marker = join(dir, ".dk-staging", ...(phase === "renames" ? ["journal.json"] : []));
  const child = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, DK_TEST_WRITE_DELAY_MS: String(delayMs) }, stdio: "ignore" });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_code, signal) => r(signal)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && !existsSync(marker)) await sleep(1);
  if (!done) {
    await sleep(after);
    child.kill("SIGKILL");
  }
  const signal = await exited;
  const staging = join(dir, ".dk-staging");
  const staged = existsSync(staging) && readdirSync(staging).some((f) => f.endsWith(".new"));
  const left = existsSync(join(staging, "journal.json")) ? "journal" : staged ? "staging" : existsSync(staging) ? "cleanup" : "none";
  return { killed: signal === "SIGKILL", left, lockLeft: existsSync(join(dir, ".dk-bootstrap.lock")), pid: child.pid! };
}

/** The files that differ between two snapshots (changed, added or removed), sorted. */
function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((f) => before.get(f) !== after.get(f)).sort();
}

const SCENARIOS = [
  // From nothing: the complete set appears, or nothing does.
  { name: "certs", args: ["certs", ...ECDSA], fromScratch: true, replaces: COMPLETE_SET },
  { name: "certs --force", args: ["certs", "--force", ...ECDSA], fromScratch: false, replaces: COMPLETE_SET },
  { name: "certs renew all", args: ["certs", "renew", "all"], fromScratch: false, replaces: RENEWED_SET },
];
const KILLS_EACH = 34;

describe("kill -9 during the write phase", () => {
  for (const [index, scenario] of SCENARIOS.entries()) {
    it(`${scenario.name}: the next command sees the complete old set or the complete new one, ${KILLS_EACH} kills`, { timeout: 900_000 }, async () => {
      const rand = prng(SEED + index);
      const cwd = tempDir();
      const dir = join(cwd, "cluster");
      const outcomes = { journal: 0, staging: 0, cleanup: 0, none: 0, completed: 0 };
      // Each phase has a pause before each of its files; a little past the renames lands in the clean-up or after the exit.
      const window = { staging: scenario.replaces.length * DELAY_MS, renames: (scenario.replaces.length + 1) * DELAY_MS * 1.3 };
      let kills = 0;
      for (let round = 0; kills < KILLS_EACH; round++) {
        expect(round, `too few runs reached their write phase (seed ${SEED})`).toBeLessThan(KILLS_EACH * 2);
        if (scenario.fromScratch) rmSync(dir, { recursive: true, force: true });
        else if (!existsSync(join(dir, "pki"))) expect(dk(["certs", ...ECDSA], { cwd }).status).toBe(0);
        const before = snapshot(dir);
        const phase: Phase = rand() < 0.5 ? "staging" : "renames";
        const k = await killDuringWrites(cwd, scenario.args, phase, rand() * window[phase]);
        if (k.killed) kills++;
        outcomes[k.killed ? k.left : "completed"]++;
        const where = `${scenario.name}, round ${round}, seed ${SEED}, left ${k.left}`;

        // The next command: a read-only one half the time (it must still finish or undo the interrupted run), else certs itself.
        const next = round % 2 === 0 ? ["certs", "check-expiration"] : ["certs", ...ECDSA];
        const r = dk(next, { cwd });
        expect(r.stderr, where).not.toMatch(/\n\s+at /);
        if (k.killed && k.left !== "none") expect(k.lockLeft, where).toBe(true);
        if (k.lockLeft) expect(r.stderr, where).toContain(`took over the lock of PID ${k.pid}`);
        if (k.left === "journal") expect(r.stderr, where).toContain("completed the interrupted commit");
        if (k.left === "staging") expect(r.stderr, where).toContain("discarded the files of an interrupted run");
        expect(leftovers(dir), where).toEqual([]);

        const after = snapshot(dir);
        const diff = changed(before, after);
        if (next[1] === "check-expiration") {
          expect(r.status, `${where}: ${r.stderr}`).toBe(after.size === 0 ? 1 : 0);
          // All or nothing: the old set untouched, or every file of the new set in.
          expect([[], scenario.replaces], where).toContainEqual(diff);
        } else {
          expect(r.status, `${where}: ${r.stderr}`).toBe(0);
          // certs completes a set that was never made, and keeps a complete one as it is.
          if (!scenario.fromScratch) expect([[], scenario.replaces], where).toContainEqual(diff);
        }
        if (after.size > 0) {
          expect([...after.keys()].sort(), where).toEqual(COMPLETE_SET);
          expect(inconsistencies(dir), where).toEqual([]);
        }
      }
      console.log(
        `[crash-safety] ${scenario.name}: ${kills} kills (${outcomes.journal} after the commit point, ${outcomes.staging} before it, ${outcomes.cleanup + outcomes.none} during the clean-up), ${outcomes.completed} runs finished before their kill`,
      );
    });
  }
});

describe("kill -9 during the write phase as it runs for users", () => {
  // Not slowed down, a commit creates every staged file first, then fsyncs them all at once: kills land among those
  // fsyncs (before the commit point) or among the folders' fsyncs after the renames (the journal still there).
  it("certs --force: the next command sees the complete old set or the complete new one", { timeout: 300_000 }, async () => {
    const rand = prng(SEED + 100);
    const cwd = tempDir();
    const dir = join(cwd, "cluster");
    expect(dk(["certs", ...ECDSA], { cwd }).status).toBe(0);
    const outcomes = { journal: 0, staging: 0, cleanup: 0, none: 0, completed: 0 };
    for (let round = 0; round < 10; round++) {
      const before = snapshot(dir);
      const k = await killDuringWrites(cwd, ["certs", "--force", ...ECDSA], "staging", rand() * 20, 0);
      outcomes[k.killed ? k.left : "completed"]++;
      const where = `round ${round}, seed ${SEED}, left ${k.left}`;
      const r = dk(["certs", "check-expiration"], { cwd });
      expect(r.status, `${where}: ${r.stderr}`).toBe(0);
      if (k.left === "journal") expect(r.stderr, where).toContain("completed the interrupted commit");
      if (k.left === "staging") expect(r.stderr, where).toContain("discarded the files of an interrupted run");
      expect(leftovers(dir), where).toEqual([]);
      expect([[], COMPLETE_SET], where).toContainEqual(changed(before, snapshot(dir)));
      expect(inconsistencies(dir), where).toEqual([]);
    }
    console.log(`[crash-safety] certs --force, not slowed down: ${JSON.stringify(outcomes)}`);
  });
});

describe("parallel runs on one folder", () => {
  it("4 concurrent certs: one makes the set, the others wait and keep it; consistent every round", { timeout: 600_000 }, async () => {
    const cwd = tempDir();
    const dir = join(cwd, "cluster");
    for (let round = 0; round < 4; round++) {
      rmSync(dir, { recursive: true, force: true });
      const runs = await Promise.all([0, 1, 2, 3].map(() => dkAsync(["certs", ...ECDSA], { cwd })));
      const where = `round ${round}`;
      const waited = /^.* is in use by PID \d+ \(dk-bootstrap certs.*\): waiting up to \d+s$/m;
      for (const r of runs) {
        // A run found the folder free, or said whose it was while it waited, then succeeded (or stopped, having written nothing).
        if (r.status !== 0) expect(r.stderr, where).toMatch(waited);
        else expect(r.stderr.replace(waited, "").trim(), where).toBe("");
      }
      const made = runs.filter((r) => r.stdout.includes("Generated"));
      expect(made.length, where).toBe(1);
      expect(made[0]!.stdout, where).toContain(": 18 made, 0 kept, 0 renewed");
      for (const r of runs.filter((r) => r.status === 0 && r !== made[0])) expect(r.stdout, where).toContain(": 0 made, 18 kept, 0 renewed");
      expect([...snapshot(dir).keys()].sort(), where).toEqual(COMPLETE_SET);
      expect(inconsistencies(dir), where).toEqual([]);
    }
  });

  it("certs --force and certs renew all at once: every run succeeds, one after the other, and the set stays consistent", { timeout: 600_000 }, async () => {
    const cwd = tempDir();
    const dir = join(cwd, "cluster");
    mkdirSync(cwd, { recursive: true });
    expect(dk(["certs", ...ECDSA], { cwd }).status).toBe(0);
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all([
        dkAsync(["certs", "--force", ...ECDSA], { cwd }),
        dkAsync(["certs", "renew", "all"], { cwd }),
        dkAsync(["certs", "--force", ...ECDSA], { cwd }),
        dkAsync(["certs", "renew", "all"], { cwd }),
      ]);
      for (const r of runs) expect(r.status, `round ${round}: ${r.stderr}`).toBe(0);
      expect(leftovers(dir)).toEqual([]);
      expect(inconsistencies(dir), `round ${round}`).toEqual([]);
    }
  });
});

describe("what older runs left behind", () => {
  it("a stale kubeconfig lock and private-key temporary files do not break certs, and are removed", () => {
    const cwd = tempDir();
    const dir = join(cwd, "cluster");
    expect(dk(["certs", ...ECDSA], { cwd }).status).toBe(0);
    const stale = [join(dir, "admin.conf.lock"), join(dir, "pki", ".ca.key.0123456789ab.tmp")];
    for (const p of stale) staleFile(p);
    const r = dk(["certs", "--force", ...ECDSA], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("removed 2 temporary or lock files left by interrupted runs");
    expect(leftovers(dir)).toEqual([]);
    expect(inconsistencies(dir)).toEqual([]);
  });
});

describe("a commit that fails among its staged files", () => {
  it("out of file descriptors (ulimit -n): one line, exit 1, the folder's own files kept and no staged key or lock left", () => {
    const cwd = tempDir();
    const dir = join(cwd, "cluster");
    mkdirSync(dir);
    writeFileSync(join(dir, "notes.txt"), "mine\n");
    // A commit holds a descriptor for each staged file (~44) until all are fsynced: Node's own, then room for 20 more.
    const fds = `exec "$0" -e 'console.log(require("fs").readdirSync("/proc/self/fd").length)'`;
    const base = Number(run("sh", ["-c", fds, process.execPath], { cwd }).stdout);
    const r = run("sh", ["-c", `ulimit -n ${base + 20} && exec "$0" "$@"`, process.execPath, cli, "certs", ...ECDSA], { cwd });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${dir}/\\.dk-staging/\\d+\\.new: too many open files in this process \\(ulimit -n\\) \\(EMFILE, open\\)\n$`));
    expect(readdirSync(dir)).toEqual(["notes.txt"]);
    expect(dk(["certs", ...ECDSA], { cwd }).status).toBe(0);
    expect(inconsistencies(dir)).toEqual([]);
  });
});

/** Makes a file that looks two minutes old: what an interrupted run left, not one a live writer holds. */
function staleFile(path: string): void {
  writeFileSync(path, "-----BEGIN EC PRIVATE KEY-----\n");
  const past = new Date(Date.now() - 120_000);
  utimesSync(path, past, past);
}
