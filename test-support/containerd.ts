// A private containerd for tests that judge images by the real runtime: its own root, state, sockets and
// opt folder in a temp folder, the CRI and NRI left out (NRI's socket is machine-wide, and the CRI would
// start a stream server and CNI watchers nothing here needs). Stopped by the caller, by its own PID.
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { builtPeer } from "./built-peers.js";
import { run, runAsync, tempDir } from "./peers.js";

export const CONTAINERD_VERSION = RELEASES[0]!.containerd;
export const RUNC_VERSION = RELEASES[0]!.runc;

/** A running containerd and `ctr` pointed at it in the `k8s.io` namespace (the one the kubelet's CRI uses). */
export interface TestContainerd {
  dir: string;
  socket: string;
  /** The folder of containerd, ctr and the runc shim. */
  bin: string;
  /** PATH with the shim and runc first, as containerd needs to start a task. */
  env: NodeJS.ProcessEnv;
  ctr(...args: string[]): { status: number | null; stdout: string; stderr: string };
  ctrAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }>;
  /**
   * A task ID of this containerd's own: `ctr run` leaves runc's state in the machine-wide
   * `/run/containerd/runc/NAMESPACE`, so two test containerds (two suites side by side) running `pause-1` at once
   * collide ("runc create failed: container with given ID already exists").
   */
  taskId(name: string): string;
  /** Stops containerd (SIGTERM, then waits for it) and every shim it started. */
  stop(): Promise<void>;
}

/** Starts containerd as root on a private folder; resolves once it answers `ctr version`. */
export async function startContainerd(): Promise<TestContainerd> {
  if (process.getuid?.() !== 0) throw new Error("a test containerd runs as root (it mounts the images' layers)");
  const bin = builtPeer("containerd", CONTAINERD_VERSION);
  const runc = builtPeer("runc", RUNC_VERSION);
  const dir = tempDir("dk-ctd-");
  const socket = join(dir, "containerd.sock");
  writeFileSync(
    join(dir, "config.toml"),
    `version = 3
root = '${dir}/root'
state = '${dir}/state'
disabled_plugins = ['io.containerd.grpc.v1.cri', 'io.containerd.cri.v1.runtime', 'io.containerd.cri.v1.images', 'io.containerd.podsandbox.controller.v1.podsandbox', 'io.containerd.sandbox.controller.v1.shim', 'io.containerd.nri.v1.nri']
[grpc]
  address = '${socket}'
[ttrpc]
  address = '${socket}.ttrpc'
[debug]
  address = ''
[plugins.'io.containerd.internal.v1.opt']
  path = '${dir}/opt'
`,
  );
  const env = { ...process.env, PATH: `${bin}:${runc}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  const log = openSync(join(dir, "containerd.log"), "a");
  const daemon: ChildProcess = spawn(join(bin, "containerd"), ["--config", join(dir, "config.toml")], { env, stdio: ["ignore", log, log] });
  const exited = new Promise<void>((resolve) => daemon.once("exit", () => resolve()));
  const ctrArgs = (args: string[]) => ["--address", socket, "-n", "k8s.io", ...args];
  const c: TestContainerd = {
    dir,
    socket,
    bin,
    env,
    ctr: (...args) => run(join(bin, "ctr"), ctrArgs(args), { env }),
    ctrAsync: (...args) => runAsync(join(bin, "ctr"), ctrArgs(args), { env }),
    taskId: (name) => `${name}-${basename(dir).replace(/^dk-ctd-/, "")}`,
    async stop() {
      // Tasks first: their shims outlive containerd otherwise.
      for (const line of c.ctr("tasks", "ls", "-q").stdout.split("\n").filter(Boolean)) {
        c.ctr("tasks", "kill", "-s", "SIGKILL", line);
        c.ctr("tasks", "delete", "-f", line);
      }
      if (daemon.exitCode === null) daemon.kill("SIGTERM");
      await exited;
      // The layers containerd mounted for tasks are gone with them; a leftover mount would keep the folder.
      run("sh", ["-c", `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    },
  };
  for (let i = 0; i < 300; i++) {
    if (daemon.exitCode !== null) throw new Error(`containerd exited (${daemon.exitCode}): see ${join(dir, "containerd.log")}`);
    if (c.ctr("version").status === 0) return c;
    await new Promise((r) => setTimeout(r, 100));
  }
  await c.stop();
  throw new Error(`containerd did not answer on ${socket} in 30 s: see ${join(dir, "containerd.log")}`);
}
