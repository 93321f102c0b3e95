// The bootstrap up to etcd on the SSH test host: dk-bootstrap (one ssh2 connection) against a script that runs
// `ssh` / `scp` once per command as the workshop's reader would, in one run: wall time, SSH connections, bytes on
// the wire; then dk-bootstrap's no-op re-run. Run: npm run bench:node (root; medians of RUNS, default 3).
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateClusterPki } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import { SshTransport, bootstrap, nodeSpec, plan, renderScript, reset, type NodeSpec } from "@dk-bootstrap/orchestrator";
import { type Mirror, etcdMirrorFiles, startMirror } from "../test-support/mirror.js";
import { runAsync, tempDir } from "../test-support/peers.js";
import { type TestHost, startTestHost, waitForSsh } from "../test-support/test-host.js";

const RUNS = Number(process.env.RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const work = tempDir("dk-bench-");
let host: TestHost;
let mirror: Mirror;
let spec: NodeSpec;

/** Bytes that crossed the veth pair (both ways). */
function wireBytes(): number {
  const stats = JSON.parse(execFileSync("ip", ["-s", "-j", "link", "show", "dkh5"]).toString())[0].stats64;
  return stats.rx.bytes + stats.tx.bytes;
}
/** SSH connections sshd accepted so far. */
const connections = () => (host.sshdLog.match(/Accepted publickey/g) ?? []).length;
const ssh = ["-i", "", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"];

async function measure(run: () => Promise<unknown>): Promise<{ ms: number; conns: number; bytes: number }> {
  const [c0, b0, t0] = [connections(), wireBytes(), performance.now()];
  await run();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200)); // let sshd's log catch up
  return { ms, conns: connections() - c0, bytes: wireBytes() - b0 };
}

beforeAll(async () => {
  chmodSync(work, 0o755);
  host = startTestHost(work);
  ssh[1] = host.keyFile;
  mkdirSync(join(work, "node"));
  chownSync(join(work, "node"), host.uid, host.uid);
  mirror = await startMirror(host.hostIp, etcdMirrorFiles(join(work, "mirror"), "3.6.17", "amd64"));
  spec = nodeSpec({
    dir: join(work, "cluster"),
    remoteRoot: join(work, "node"),
    nodeIPs: [host.ip],
    key: { algo: "ecdsa", size: 256 },
    mirror: mirror.url,
    allowHttpMirror: true,
    checksums: mirror.checksums(),
    arch: "amd64",
    versions: { kubernetes: "1.34.2", etcd: "3.6.17", containerd: "2.1.5", runc: "1.3.4", cni: "1.6.2" },
  });
  await writeComponentKubeconfigs(await generateClusterPki(spec, spec.dir), spec);
  writeFileSync(join(work, "known_hosts"), `${host.hostKeyLine}\n`);
  await waitForSsh(host);
});
afterAll(async () => {
  await mirror?.close();
  host?.stop();
});

/** The workshop reader's way: the dry-run script's commands, each through its own `ssh`, files through `scp`. */
function perCommandScript(): string {
  const script = renderScript(spec, { until: "etcd" });
  const preambleEnd = script.indexOf("\n# step: preflight");
  const preamble = script.slice(0, preambleEnd);
  const body = script.slice(script.indexOf("\n# step: etcd"));
  const target = `${host.user}@${host.ip}`;
  const lines: string[] = ["set -e"];
  for (const raw of body.replace(/\\\n/g, " ").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const install = /^install -D -m (\d+) "\$DK_CLUSTER_DIR"\/(\S+) (\S+)$/.exec(line);
    if (install) {
      lines.push(
        `ssh ${ssh.join(" ")} ${target} "mkdir -p \\$(dirname ${install[3]})"`,
        `scp -q ${ssh.join(" ")} ${join(spec.dir, install[2]!)} ${target}:${install[3]}`,
      );
      continue;
    }
    lines.push(`ssh ${ssh.join(" ")} ${target} sh -s <<'DK_CMD'\n${preamble}\n${line}\nDK_CMD`);
  }
  return lines.join("\n");
}

it("measures the bootstrap to etcd: dk-bootstrap against ssh once per command", async () => {
  const dk: { ms: number; conns: number; bytes: number }[] = [];
  const noop: { ms: number; conns: number; bytes: number }[] = [];
  const perCmd: { ms: number; conns: number; bytes: number }[] = [];
  const connect = () =>
    SshTransport.connect({ host: host.ip, username: host.user, privateKey: readFileSync(host.keyFile), knownHosts: [join(work, "known_hosts")] });
  const clean = async () => {
    const t = await connect();
    await reset(spec, t);
    await t.close();
  };
  const scriptFile = join(work, "per-command.sh");
  for (let i = 0; i < RUNS; i++) {
    await clean();
    dk.push(
      await measure(async () => {
        const t = await connect();
        const r = await bootstrap(spec, t, { until: "etcd" });
        await t.close();
        expect(r.done).toEqual(["etcd"]);
      }),
    );
    noop.push(
      await measure(async () => {
        const t = await connect();
        const r = await bootstrap(spec, t, { until: "etcd" });
        await t.close();
        expect(r.skipped).toEqual(["etcd"]);
      }),
    );
    await clean();
    writeFileSync(scriptFile, perCommandScript());
    perCmd.push(
      await measure(async () => {
        const r = await runAsync("bash", [scriptFile]);
        expect(r.status, r.stderr).toBe(0);
      }),
    );
  }
  await clean();
  rmSync(scriptFile);
  const row = (name: string, xs: { ms: number; conns: number; bytes: number }[]) =>
    `| ${name} | ${Math.round(median(xs.map((x) => x.ms)))} ms | ${median(xs.map((x) => x.conns))} | ${(median(xs.map((x) => x.bytes)) / 1024).toFixed(0)} KiB |`;
  console.log(
    [
      `\nBootstrap to etcd on the SSH test host (steps: ${plan({ until: "etcd" })
        .map((s) => s.id)
        .join(", ")}), median of ${RUNS}:\n`,
      "| run | wall time | SSH connections | bytes on the wire |",
      "|---|---|---|---|",
      row("dk-bootstrap ssh (first run)", dk),
      row("ssh/scp once per command", perCmd),
      row("dk-bootstrap ssh (no-op re-run)", noop),
    ].join("\n"),
  );
});
