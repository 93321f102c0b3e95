// Parallel edits of one kubeconfig, stale locks and symlinks: the edits of every process survive, as issue 9 §3 asks.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KubeconfigLockedError, lockKubeconfig, parseKubeconfig } from "@dk-bootstrap/kubeconfig";
import { dk, dkAsync, peer, run, tempDir } from "../../../test-support/peers.js";

const names = (file: string, section: "clusters" | "users" | "contexts") =>
  (parseKubeconfig(readFileSync(file, "utf8"), file)[section] ?? []).map((e) => e.name);

/** A file with enough clusters that reading, editing and writing it takes a while: a read outside the lock then loses edits. */
function seed(file: string, clusters = 1500): void {
  const body = Array.from({ length: clusters }, (_, i) => `- name: pre${i}\n  cluster:\n    server: https://h${i}:6443\n`).join("");
  writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters:\n${body}`);
}

async function parallel(commands: string[][], env: NodeJS.ProcessEnv = process.env) {
  const results = await Promise.all(commands.map((c) => dkAsync(["kubeconfig", ...c], { env })));
  results.forEach((r, i) => expect(r.status, `${commands[i]!.join(" ")}: ${r.stderr}`).toBe(0));
  return results;
}

describe("parallel kubeconfig edits are never lost", () => {
  const root = tempDir();

  it("10 parallel set-context on one file, 4 rounds: all 40 contexts kept", async () => {
    let lost = 0;
    for (let round = 0; round < 4; round++) {
      const file = join(root, `one-${round}.conf`);
      seed(file);
      await parallel(Array.from({ length: 10 }, (_, i) => ["set-context", `ctx${i}`, "--cluster=pre1", "--user=u", "--kubeconfig", file]));
      const got = names(file, "contexts");
      lost += 10 - got.length;
      expect(names(file, "clusters")).toHaveLength(1500);
      expect(existsSync(`${file}.lock`)).toBe(false);
    }
    expect(lost).toBe(0);
  }, 240_000);

  it("through KUBECONFIG=a:b, 4 rounds: new contexts go to a, edits of b's contexts stay in b, none lost", async () => {
    let lost = 0;
    for (let round = 0; round < 4; round++) {
      const a = join(root, `a-${round}.conf`);
      const b = join(root, `b-${round}.conf`);
      seed(a);
      const ctx = Array.from({ length: 5 }, (_, i) => `- name: old${i}\n  context:\n    cluster: pre1\n    user: u\n`).join("");
      writeFileSync(b, `apiVersion: v1\nkind: Config\ncontexts:\n${ctx}`);
      const env = { ...process.env, KUBECONFIG: `${a}:${b}` };
      await parallel(
        [
          ...Array.from({ length: 5 }, (_, i) => ["set-context", `new${i}`, "--cluster=pre1", "--user=u"]),
          ...Array.from({ length: 5 }, (_, i) => ["set-context", `old${i}`, `--namespace=ns${i}`]),
        ],
        env,
      );
      const inA = names(a, "contexts");
      lost += 5 - inA.filter((n) => n.startsWith("new")).length;
      const bCfg = parseKubeconfig(readFileSync(b, "utf8"), b);
      lost += 5 - (bCfg.contexts ?? []).filter((c) => c.context.namespace === `ns${c.name.slice(3)}`).length;
      expect(inA.filter((n) => n.startsWith("old"))).toEqual([]);
    }
    expect(lost).toBe(0);
  }, 240_000);

  it("every writing command takes the lock before reading: a mixed parallel batch keeps all its effects", async () => {
    for (let round = 0; round < 2; round++) {
      const file = join(root, `mixed-${round}.conf`);
      seed(file, 800);
      const pre = parseKubeconfig(readFileSync(file, "utf8"), file);
      pre.contexts = [0, 1, 2, 3].map((i) => ({ name: `old${i}`, context: { cluster: "pre1", user: "u" } }));
      pre.users = [{ name: "gone", user: { token: "t" } }];
      writeFileSync(file, JSON.stringify(pre));
      const other = join(root, `other-${round}.conf`);
      writeFileSync(other, "clusters:\n- name: merged\n  cluster:\n    server: https://m\n");
      const k = ["--kubeconfig", file];
      await parallel([
        ["set-cluster", "new-cluster", "--server=https://n", ...k],
        ["set-credentials", "new-user", "--token=x", ...k],
        ["set-context", "new-context", "--cluster=c", ...k],
        ["delete-context", "old0", ...k],
        ["delete-cluster", "pre2", ...k],
        ["delete-user", "gone", ...k],
        ["rename-context", "old1", "renamed", ...k],
        ["use-context", "old2", ...k],
        ["set", "clusters.pre3.server", "https://set", ...k],
        ["unset", "clusters.pre4", ...k],
        ["merge", other, "--into", file],
      ]);
      const cfg = parseKubeconfig(readFileSync(file, "utf8"), file);
      const clusters = new Map((cfg.clusters ?? []).map((c) => [c.name, c.cluster.server]));
      expect(clusters.get("new-cluster")).toBe("https://n");
      expect(clusters.get("merged")).toBe("https://m");
      expect(clusters.get("pre3")).toBe("https://set");
      expect(clusters.has("pre2") || clusters.has("pre4")).toBe(false);
      expect(clusters.size).toBe(800 - 2 + 2);
      expect((cfg.users ?? []).map((u) => u.name)).toEqual(["new-user"]);
      expect((cfg.contexts ?? []).map((c) => c.name)).toEqual(["new-context", "old2", "old3", "renamed"]);
      expect(cfg["current-context"]).toBe("old2");
    }
  }, 240_000);
});

describe("a lock left behind", () => {
  const root = tempDir();
  const deadPid = () => spawnSync("true").pid!;

  it("whose owner is gone is taken over with a note, once, even by 10 parallel writers", async () => {
    const file = join(root, "stale.conf");
    writeFileSync(`${file}.lock`, `${deadPid()} ${hostname()}\n`);
    const results = await parallel(Array.from({ length: 10 }, (_, i) => ["set-context", `c${i}`, "--cluster=x", "--user=y", "--kubeconfig", file]));
    const notes = results.flatMap((r) => r.stderr.split("\n").filter((l) => l !== ""));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^note: .*stale.conf.lock: took over a stale lock: its owner, PID \d+, is gone$/);
    expect(names(file, "contexts")).toHaveLength(10);
    expect(existsSync(`${file}.lock`)).toBe(false);
  }, 120_000);

  it("by a killed kubectl (empty, old) is taken over; kubectl itself refuses it", () => {
    const file = join(root, "kubectl-left.conf");
    writeFileSync(`${file}.lock`, "");
    const old = new Date(Date.now() - 120_000);
    utimesSync(`${file}.lock`, old, old);
    const theirs = run(peer("kubectl"), ["config", "set-cluster", "x", "--server=https://x", "--kubeconfig", file]);
    expect(theirs.status).not.toBe(0);
    expect(theirs.stderr).toMatch(/file exists/);
    const r = dk(["kubeconfig", "set-cluster", "x", "--server=https://x", "--kubeconfig", file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^note: .*kubectl-left.conf.lock: took over a stale lock: it names no owner and is \d+ s old\n$/);
    expect(names(file, "clusters")).toEqual(["x"]);
  });

  it("held by a live process is waited for, then refused with its PID; taken over once that process is gone", async () => {
    const file = join(root, "live.conf");
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      writeFileSync(`${file}.lock`, `${holder.pid} ${hostname()}\n`);
      // Waited for: the lock file's access time (set in the past; relatime updates it on the next read) shows the
      // waiter read the owner at least twice, and it has not given up meanwhile.
      utimesSync(`${file}.lock`, 0, statSync(`${file}.lock`).mtime);
      let settled = false;
      const waiterNotes: string[] = [];
      const waiting = lockKubeconfig(file, { waitMs: 60_000, note: (l) => waiterNotes.push(l) }).then(
        (release) => ((settled = true), release()),
        (e: unknown) => ((settled = true), e),
      );
      const read = () => statSync(`${file}.lock`).atimeMs > 0;
      for (let i = 0; i < 200 && !read(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(read()).toBe(true);
      utimesSync(`${file}.lock`, 0, statSync(`${file}.lock`).mtime);
      for (let i = 0; i < 200 && !read(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(read()).toBe(true);
      expect(settled).toBe(false);
      // Refused with its PID when the wait is over.
      const err = await lockKubeconfig(file, { waitMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeconfigLockedError);
      expect((err as Error).message).toBe(`open ${file}.lock: file exists (in use by PID ${holder.pid} on ${hostname()})`);
      expect(settled).toBe(false);
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
      // The waiter goes on once the holder is gone: it takes the lock over.
      expect(await waiting).toBeUndefined();
      expect(waiterNotes).toEqual([`${file}.lock: took over a stale lock: its owner, PID ${holder.pid}, is gone`]);
      expect(existsSync(`${file}.lock`)).toBe(false);
      // The dead holder's lock again, for what follows.
      writeFileSync(`${file}.lock`, `${holder.pid} ${hostname()}\n`);
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) {
        holder.kill("SIGKILL");
        await new Promise((r) => holder.once("exit", r));
      }
    }
    const notes: string[] = [];
    const release = await lockKubeconfig(file, { note: (l) => notes.push(l) });
    expect(notes).toEqual([`${file}.lock: took over a stale lock: its owner, PID ${holder.pid}, is gone`]);
    expect(readFileSync(`${file}.lock`, "utf8")).toMatch(new RegExp(`^${process.pid} ${hostname()} [0-9a-f]{12}\n$`));
    await release();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("a lock that another process took over is not removed by its first owner", async () => {
    const file = join(root, "taken.conf");
    const release = await lockKubeconfig(file);
    // Someone judged us dead and replaced the lock: our release must leave theirs alone.
    spawnSync("sh", ["-c", `rm "${file}.lock" && echo "1 other" > "${file}.lock"`]);
    await release();
    expect(readFileSync(`${file}.lock`, "utf8")).toBe("1 other\n");
  });
});

describe("a symlinked kubeconfig", () => {
  const root = tempDir();

  it("is written through the link, the link kept, as kubectl does", () => {
    const files: string[] = [];
    for (const tool of ["kubectl", "dk"] as const) {
      const home = join(root, tool);
      mkdirSync(join(home, ".kube"), { recursive: true });
      mkdirSync(join(home, "dotfiles"));
      writeFileSync(join(home, "dotfiles", "kubeconfig"), "apiVersion: v1\nkind: Config\n");
      symlinkSync("../dotfiles/kubeconfig", join(home, ".kube", "config"));
      const env = { ...process.env, HOME: home, KUBECONFIG: "" };
      const args = ["set-cluster", "c", "--server=https://c"];
      const r = tool === "kubectl" ? run(peer("kubectl"), ["config", ...args], { env }) : dk(["kubeconfig", ...args], { env });
      expect(r.status, r.stderr).toBe(0);
      const link = join(home, ".kube", "config");
      expect(lstatSync(link).isSymbolicLink(), tool).toBe(true);
      expect(readlinkSync(link)).toBe("../dotfiles/kubeconfig");
      files.push(readFileSync(join(home, "dotfiles", "kubeconfig"), "utf8"));
    }
    expect(files[1]).toBe(files[0]);
    expect(files[1]).toContain("server: https://c");
  });
});
