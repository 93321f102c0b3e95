// What runs of the suite on one machine share (test-support/machine.ts): free loopback ports, and a lock taken in
// turn, which a killed holder gives up with its process and whose leftovers the next holder removes.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { freePorts, holdLock } from "../../../test-support/machine.js";
import { run, tempDir } from "../../../test-support/peers.js";

describe("freePorts", () => {
  it("gives distinct ports that can be bound on 127.0.0.1", async () => {
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
      await new Promise((r) => server.close(r));
    }
  });
});

describe("holdLock", () => {
  const work = tempDir();
  const lock = join(work, "test.lock");
  const [one, two, three] = [tempDir(), tempDir(), tempDir()];

  it("makes a second holder wait until the first releases", async () => {
    const first = await holdLock(lock, one);
    let second = false;
    const waiting = holdLock(lock, two).then((l) => ((second = true), l));
    // The second's flock is blocked on the lock in the kernel (/proc/locks shows it waiting, "->", on the file's inode):
    // it does not have it while the first holds it.
    const ino = statSync(lock).ino;
    const blocked = () =>
      readFileSync("/proc/locks", "utf8")
        .split("\n")
        .some((l) => /^\d+: -> FLOCK/.test(l) && l.includes(`:${ino} `));
    for (let i = 0; i < 200 && !blocked(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(blocked()).toBe(true);
    expect(second).toBe(false);
    await first.release();
    await (await waiting).release();
    expect(second).toBe(true);
  });

  it("is given up by a holder that is killed, and the next holder ends what it left running and removes its folder", async () => {
    // A holder in a process of its own, which starts a detached process naming its folder (as a local etcd would),
    // then is killed. peers.ts imports vitest, which a plain node process does not have: a stub stands in for it.
    const script = join(work, "child.mjs");
    await build({
      stdin: {
        contents: `import { spawn } from "node:child_process";
          import { holdLock } from "./machine.ts";
          const [lock, left] = process.argv.slice(2);
          await holdLock(lock, left);
          spawn("tail", ["-f", left + "/log"], { detached: true, stdio: "ignore" }).unref();
          console.log("held");
          setInterval(() => {}, 1 << 30);`,
        resolveDir: join(import.meta.dirname, "..", "..", "..", "test-support"),
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: script,
      logLevel: "silent",
      plugins: [
        { name: "no-vitest", setup: (b) => b.onResolve({ filter: /^vitest$/ }, () => ({ path: "vitest", namespace: "stub" })) },
        { name: "stub", setup: (b) => b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export const afterAll = () => {};" })) },
      ],
    });
    // Made as tempDir makes them (the form of folder the sweep accepts), but not removed by this test: the sweep must.
    const left = mkdtempSync(join(tmpdir(), "dk-"));
    writeFileSync(join(left, "log"), "");
    const child = spawn(process.execPath, [script, lock, left], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => d.toString().includes("held") && resolve());
      child.once("exit", (code) => reject(new Error(`the holder exited ${code} before it held the lock`)));
    });
    const leftover = () => run("pgrep", ["-f", `tail -f ${left}/log`]).stdout.trim();
    expect(leftover()).not.toBe("");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));

    const next = await holdLock(lock, three, 120);
    try {
      expect(leftover()).toBe("");
      expect(existsSync(left)).toBe(false);
    } finally {
      await next.release();
      // Should the sweep have missed them.
      run("pkill", ["-9", "-f", `tail -f ${left}/log`]);
      rmSync(left, { recursive: true, force: true });
    }
  });
});
