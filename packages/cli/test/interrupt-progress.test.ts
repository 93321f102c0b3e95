// `certs` on a terminal shows each key as it is made, and Ctrl-C while keys are made says "interrupted: nothing was
// written", leaves nothing behind (not even its lock) and ends by SIGINT, which a shell shows as 130 (issue 21). The
// terminal is a real pty (Python's pty module).
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { background, until } from "../../../test-support/background.js";
import { CLI, dk, peer, run, tempDir } from "../../../test-support/peers.js";

describe("certs on a terminal", () => {
  it("shows each key as it is made; without a terminal, no such line", () => {
    const cwd = tempDir();
    // Python's pty.spawn reads the terminal until the child has closed it: util-linux 2.38's script once returned
    // before its child's last output was read (a CI run saw none of it).
    const pty = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";
    const r = run(peer("python3"), ["-c", pty, process.execPath, CLI, "certs", "--key-algo", "ecdsa"], { cwd });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // The keys are counted as they come out of the thread pool: the first done need not be the first asked (the CA).
    const total = /\[certs\] key 1\/(\d+): \S/.exec(r.stdout)?.[1];
    expect(total).toBeDefined();
    expect(r.stdout).toMatch(new RegExp(`\\[certs\\] key ${total}/${total}: `));
    const plain = dk(["certs", "--key-algo", "ecdsa", "--dir", "other"], { cwd });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).not.toMatch(/\[certs\] key /);
  });
});

describe("Ctrl-C while the keys are made", () => {
  // A run the interrupt failed to end must not outlive the test (its 8192-bit keys would take minutes).
  const started: { pid: number; out: { ended: boolean } }[] = [];
  afterEach(() => {
    for (const r of started.splice(0)) if (!r.out.ended) process.kill(r.pid, "SIGKILL");
  });
  it("says nothing was written, leaves no file (not even its lock), and ends by SIGINT", { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    // 8192-bit RSA keys take long enough to be interrupted while they are made.
    const certs = background(["certs", "--key-size", "8192"], cwd);
    started.push(certs);
    await until("the run to take the folder's lock", () => existsSync(join(cwd, "cluster", ".dk-bootstrap.lock")) || certs.out.ended);
    expect(certs.out.ended, certs.out.stderr).toBe(false);
    process.kill(certs.pid, "SIGINT");
    const end = await certs.done;
    expect(end.signal, certs.out.stderr).toBe("SIGINT");
    expect(certs.out.stderr).toMatch(/^interrupted: nothing was written$/m);
    expect(existsSync(join(cwd, "cluster"))).toBe(false);
  });

  it("in a folder that exists, takes back only its lock", { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "cluster"));
    const certs = background(["certs", "--key-size", "8192"], cwd);
    started.push(certs);
    await until("the run to take the folder's lock", () => existsSync(join(cwd, "cluster", ".dk-bootstrap.lock")) || certs.out.ended);
    process.kill(certs.pid, "SIGINT");
    expect((await certs.done).signal).toBe("SIGINT");
    expect(readdirSync(join(cwd, "cluster"))).toEqual([]);
  });
});
