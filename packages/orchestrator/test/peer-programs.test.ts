// Our own peer programs, built by scripts/build-peers.sh from peers/: the sandbox's pause and the workshop's
// web app. pause runs as PID 1 of a new PID namespace, as in a Pod that shares its PID namespace, where
// orphans are re-parented to it; the control run (sleep as PID 1) shows the zombie that pause prevents.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtPeer } from "../../../test-support/built-peers.js";
import { run } from "../../../test-support/peers.js";

const until = async (what: string, probe: () => string | undefined): Promise<string> => {
  for (let i = 0; i < 300; i++) {
    const v = probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
};

/** The children of a process, each with its state letter (`Z` for a zombie). */
const children = (pid: number): { pid: number; state: string; comm: string }[] =>
  readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(ppid) === pid ? [{ pid: Number(d), state: state!, comm }] : [];
      } catch {
        return []; // gone meanwhile
      }
    });

const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once("exit", (code) => r(code))));

/** Starts `cmd` as PID 1 of a new PID namespace; resolves with unshare's process and the host PID of that PID 1. */
async function asInit(cmd: string[]): Promise<{ proc: ChildProcess; init: number }> {
  const proc = spawn("unshare", ["--pid", "--fork", "--mount-proc", ...cmd], { stdio: ["ignore", "ignore", "pipe"] });
  const init = Number(await until("the namespace's PID 1", () => String(children(proc.pid!)[0]?.pid ?? "")));
  return { proc, init };
}

/**
 * An orphan in the namespace of `init`: a shell that starts a long `sleep` and exits at once, so `sleep` is
 * re-parented to that PID 1. Returns the orphan's host PID, once it is a child of `init`.
 */
function orphanIn(init: number): number {
  const r = run("nsenter", ["-t", String(init), "-p", "--", "sh", "-c", "sleep 600 </dev/null >/dev/null 2>&1 & exit 0"]);
  expect(r.status, r.stderr).toBe(0);
  const orphan = children(init).find((c) => c.comm === "sleep");
  expect(orphan, "the orphan was not re-parented to the namespace's PID 1").toBeDefined();
  return orphan!.pid;
}

describe("pause (peers/pause)", () => {
  const pause = join(builtPeer("pause", "1"), "pause");

  it("as PID 1 reaps an orphan once it exits; sleep as PID 1 (the control) leaves it a zombie", async () => {
    const control = await asInit(["sleep", "600"]);
    const p = await asInit([pause]);
    try {
      // Each orphan is killed: it exits, and only its parent (the namespace's PID 1) can reap it.
      process.kill(orphanIn(control.init), "SIGKILL");
      process.kill(orphanIn(p.init), "SIGKILL");
      await until("the control's zombie", () => (children(control.init).some((c) => c.comm === "sleep" && c.state === "Z") ? "yes" : undefined));
      await until("pause's orphan reaped", () => (children(p.init).length === 0 ? "yes" : undefined));
      expect(children(p.init)).toEqual([]);
    } finally {
      control.proc.kill("SIGKILL");
      run("kill", ["-KILL", String(control.init)]);
    }
    run("kill", ["-TERM", String(p.init)]);
    expect(await exited(p.proc)).toBe(0);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("exits 0 on %s", async (signal) => {
    const proc = spawn(pause, [], { stdio: ["ignore", "ignore", "pipe"] });
    // pause says it is not PID 1 once its handlers are in place.
    let err = "";
    proc.stderr!.on("data", (d) => (err += d));
    await until("pause's handlers", () => (err.includes("not PID 1") ? "yes" : undefined));
    proc.kill(signal);
    expect(await exited(proc)).toBe(0);
  });

  it("says its version with -v and refuses other arguments", () => {
    expect(run(pause, ["-v"]).stdout).toMatch(/^dk-bootstrap-pause \d+\n$/);
    expect(run(pause, ["--nope"]).status).toBe(2);
  });
});

describe("the web app (peers/webapp)", () => {
  const webapp = join(builtPeer("webapp", "1"), "webapp");

  it("answers on PORT with a hello page naming its host (its own UTS namespace), and SIGTERM ends it with 0", async () => {
    const port = String(20000 + (process.pid % 20000));
    // unshare --uts: a host name of its own, as a Pod has; exec keeps the web app's PID the one we signal.
    const proc = spawn("unshare", ["--uts", "sh", "-c", `hostname web-5d8f && exec ${webapp}`], { env: { ...process.env, PORT: port }, stdio: "ignore" });
    const page = await until("the page", () => {
      const r = run("curl", ["-s", `http://127.0.0.1:${port}/`]);
      return r.status === 0 ? r.stdout : undefined;
    });
    expect(page).toContain("<h1>Hello World!</h1>");
    expect(page).toContain("Served by web-5d8f");
    expect(run("curl", ["-s", "-D", "-", "-o", "/dev/null", `http://127.0.0.1:${port}/`]).stdout).toMatch(/^X-Served-By: web-5d8f\r$/m);
    proc.kill("SIGTERM");
    expect(await exited(proc)).toBe(0);
  });
});
