// etcdutl: installed with etcd from 3.5 on (its tarball ships it; 3.6's etcdctl cannot restore), and the tool of the
// node's own release used for snapshot status and restore. The test mirror serves the real etcd of each release
// (3.6.17 and 3.7.4 built from etcd's modules, test-support/built-peers.ts; 3.4.23 Debian's): the plan's commands are
// checked with shellcheck and dash, installed for real from a checksummed tarball, and run for real against a snapshot
// of a real etcd of each release (status, restore with the revision bump, the restored member serving the data).
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../../test-support/machine.js";
import { type Mirror, etcdMirrorFiles, etcdTool, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { peer, run, runAsync, tempDir } from "../../../test-support/peers.js";
import { ARTIFACTS, LocalTransport, NodeLayout, type NodeSpec, type StepContext, hasEtcdutl, nodeSpec, plan, preamble, raw } from "../src/index.js";
import { EtcdTools, restoreCommand, statusCommand, withPinnedSha256 } from "../src/index.js";
import { install } from "../src/steps/step.js";
import { wrap } from "../src/transport/wrap.js";

const work = tempDir("dk-etcd-tools-");
const VERSIONS = { kubernetes: "1.36.4", containerd: "2.1.5", runc: "1.3.4", cni: "1.6.2" };
/** The etcd of Kubernetes 1.35/1.36 (RELEASES) and of 1.37. */
const V36 = "3.6.17";
const V37 = "3.7.4";
const specFor = (etcd: string, over: Partial<Parameters<typeof nodeSpec>[0]> = {}): NodeSpec =>
  nodeSpec({ dir: join(work, "cluster"), remoteRoot: join(work, `node-${etcd}`), arch: "amd64", versions: { ...VERSIONS, etcd }, ...over });
const ctx = (s: NodeSpec): StepContext => ({ spec: s, node: new NodeLayout(s.remoteRoot), arch: "amd64", supervisor: "process" });
const member = { name: "m1", peerUrl: "https://10.0.0.1:2380", initialCluster: "m1=https://10.0.0.1:2380", token: "t-1" };

/** shellcheck (as POSIX sh) finds nothing in `text`, and dash and bash parse it. */
function cleanShell(text: string, name: string): void {
  const path = join(work, `${name}.sh`);
  writeFileSync(path, `#!/bin/sh\n${text}\n`);
  const sc = run(peer("shellcheck"), ["-s", "sh", path]);
  expect(sc.status, sc.stdout).toBe(0);
  for (const sh of ["dash", "bash"]) expect(run(peer(sh), ["-n", path]).status, sh).toBe(0);
}

describe("which etcd releases get etcdutl", () => {
  it.each([
    ["3.4.23", false],
    ["3.5.0", true],
    ["3.5.21", true],
    ["3.6.9", true],
    ["v3.6.5", true],
    ["4.0.0", true],
  ])("%s: %s", (version, expected) => {
    expect(hasEtcdutl(version)).toBe(expected);
    const installs = ARTIFACTS.etcd({ ...specFor("3.6.9").versions, etcd: version.replace(/^v/, "") }, "amd64")[0]!.installs;
    expect(installs).toEqual(expected ? ["etcd", "etcdctl", "etcdutl"] : ["etcd", "etcdctl"]);
  });
});

describe("the etcd step of a 3.6 plan", () => {
  let mirror: Mirror;
  beforeAll(async () => {
    mirror = await startMirror("127.0.0.1", etcdMirrorFiles(join(work, "mirror"), V36, "amd64"));
  });
  afterAll(() => mirror?.close());

  it("fetches the release tarball against its SHA256SUMS and installs etcdutl from it; reset removes it", () => {
    const s = specFor(V36);
    const c = ctx(s);
    const step = plan({}, s).find((x) => x.id === "etcd")!;
    const script = step.script(c).text;
    const base = `https://github.com/etcd-io/etcd/releases/download/v${V36}`;
    expect(script).toContain(`dk_fetch ${base}/etcd-v${V36}-linux-amd64.tar.gz ${base}/SHA256SUMS etcd-v${V36}-linux-amd64.tar.gz`);
    expect(script).toContain(`install -m 0755 "$DK_CACHE"/etcd-v${V36}-linux-amd64.tar.gz.d/etcdutl ${c.node.bin}/etcdutl`);
    expect(step.creates(c)).toContain(`${c.node.bin}/etcdutl`);
    cleanShell(`${preamble(c.node).text}\n${script}`, "etcd-step-3.6");
    const old = specFor("3.4.23");
    expect(
      plan({}, old)
        .find((x) => x.id === "etcd")!
        .script(ctx(old)).text,
    ).not.toContain("etcdutl");
  });

  it("installs etcdutl for real from a tarball whose checksum matches, and nothing from one whose checksum does not", async () => {
    const installOnly = (s: NodeSpec) => {
      const c = ctx(s);
      return runAsync(peer("dash"), ["-c", wrap(raw(`${preamble(c.node).text}\n${install(c, ARTIFACTS.etcd(s.versions, "amd64")).text}`))]);
    };
    const artifacts = ARTIFACTS.etcd(specFor(V36).versions, "amd64");
    const trusted = { allowHttpMirror: true, checksums: mirror.checksums() };
    const good = await withPinnedSha256(specFor(V36, { mirror: mirror.url, ...trusted }), artifacts);
    const r = await installOnly(good);
    expect(r.status, r.stderr).toBe(0);
    const bin = new NodeLayout(good.remoteRoot).bin;
    for (const p of ["etcd", "etcdctl", "etcdutl"]) expect(existsSync(join(bin, p)), p).toBe(true);
    // The release it says it is, etcdutl included: the real 3.6 tools, not a relabelled 3.4.
    expect(run(join(bin, "etcd"), ["--version"]).stdout).toContain(`etcd Version: ${V36}`);
    expect(run(join(bin, "etcdutl"), ["version"]).stdout).toContain(`etcdutl version: ${V36}`);

    const bad = await startMirror("127.0.0.1", etcdMirrorFiles(join(work, "bad"), V36, "amd64", true));
    try {
      // The tampering mirror's SHA256SUMS matches its tarball: only the trusted table (the genuine build's) catches it.
      const tampered = await withPinnedSha256(specFor(V36, { mirror: bad.url, remoteRoot: join(work, "node-tampered"), ...trusted }), artifacts);
      const t = await installOnly(tampered);
      expect(t.status).toBe(86);
      expect(t.stderr).toContain(`checksum mismatch for etcd-v${V36}-linux-amd64.tar.gz`);
      expect(existsSync(join(new NodeLayout(tampered.remoteRoot).bin, "etcdutl"))).toBe(false);
    } finally {
      await bad.close();
    }
  });
});

describe("snapshot status and restore use the node's release's tool", () => {
  const bin = "/opt/k8s/usr/local/bin";

  it("3.6: etcdutl, with the revision bump when it has one; clean shell", () => {
    const status = statusCommand(bin, "3.6.9", "/var/snap shot.db").text;
    expect(status).toBe(`${bin}/etcdutl snapshot status '/var/snap shot.db' -w json`);
    const restore = restoreCommand(bin, "3.6.9", "/s.db", "/data.restore", member).text;
    expect(restore).toContain(`${bin}/etcdutl snapshot restore /s.db --name=m1 --data-dir=/data.restore`);
    expect(restore).toContain("--bump-revision=1000000000 --mark-compacted");
    expect(restore).not.toContain("etcdctl");
    cleanShell(status, "status-3.6");
    cleanShell(restore, "restore-3.6");
  });

  it("3.6: dash runs the restore with the bump as two flags when the etcdutl has them, none when it has not", () => {
    // A stand-in for etcdutl that answers --help as it is told and prints the words it was given: what is checked
    // is this script's word splitting, not etcd.
    const root = join(work, "words");
    mkdirSync(root, { recursive: true });
    const args = (help: string) => {
      writeFileSync(
        join(root, "etcdutl"),
        `#!/bin/sh\nif [ "$3" = --help ]; then echo '${help}'; exit 0; fi\nprintf '%s\\n' "$@" > ${root}/args\nmkdir -p ${root}/data\n`,
      );
      chmodSync(join(root, "etcdutl"), 0o755);
      const r = run(peer("dash"), ["-c", restoreCommand(root, "3.6.9", "/s.db", join(root, "data"), member).text]);
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(join(root, "args"), "utf8").trim().split("\n");
    };
    const flags = ["--name=m1", `--data-dir=${join(root, "data")}`, "--initial-cluster=m1=https://10.0.0.1:2380", "--initial-cluster-token=t-1"];
    const withBump = args("      --bump-revision uint   How much to increase the latest revision after restore");
    expect(withBump).toEqual([
      "snapshot",
      "restore",
      "/s.db",
      ...flags,
      "--initial-advertise-peer-urls=https://10.0.0.1:2380",
      "--bump-revision=1000000000",
      "--mark-compacted",
    ]);
    expect(args("  --name string")).toEqual(["snapshot", "restore", "/s.db", ...flags, "--initial-advertise-peer-urls=https://10.0.0.1:2380"]);
  });

  it("3.4: etcdctl (it has no etcdutl); clean shell", () => {
    const status = statusCommand(bin, "3.4.23", "/s.db").text;
    expect(status).toBe(`env ETCDCTL_API=3 ${bin}/etcdctl snapshot status /s.db -w json`);
    const restore = restoreCommand(bin, "3.4.23", "/s.db", "/data.restore", member).text;
    expect(restore).toContain(`env ETCDCTL_API=3 ${bin}/etcdctl snapshot restore /s.db --name=m1 --data-dir=/data.restore`);
    expect(restore).not.toContain("etcdutl");
    cleanShell(status, "status-3.4");
    cleanShell(restore, "restore-3.4");
  });

  it("the release is the one the node's etcd says it is (Debian's 3.4.23, the built 3.6.17); a 3.6 node without etcdutl is told to apply again", async () => {
    const t = new LocalTransport();
    const root = join(work, "asked");
    const layout = new NodeLayout(root);
    mkdirSync(layout.bin, { recursive: true });
    // Debian's etcd 3.4.
    cpSync(etcdTool("3.4.23", "etcd"), join(layout.bin, "etcd"));
    expect(await new EtcdTools(t, root).installed()).toEqual({ version: "3.4.23", etcdutl: false });
    // The real etcd 3.6, first without its etcdutl.
    cpSync(etcdTool(V36, "etcd"), join(layout.bin, "etcd"));
    await expect(new EtcdTools(t, root).installed()).rejects.toThrow(
      new RegExp(`etcd ${V36.replace(/\./g, "\\.")} reads and restores snapshots with etcdutl, and .*/etcdutl is missing`),
    );
    cpSync(etcdTool(V36, "etcdutl"), join(layout.bin, "etcdutl"));
    expect(await new EtcdTools(t, root).installed()).toEqual({ version: V36, etcdutl: true });
  });
});

/** A plain-http etcd of `version` on `dataDir` (fresh, or restored as `member`), on free ports; resolves once it serves. */
async function plainEtcd(version: string, dataDir: string, member?: { name: string; peerPort: number }) {
  let log = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const [clientPort, peerPort] = member ? [(await freePorts(1))[0]!, member.peerPort] : await freePorts(2);
    const client = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const name = member?.name ?? "m1";
    const etcd: ChildProcess = spawn(etcdTool(version, "etcd"), [
      ...["--name", name, "--data-dir", dataDir, "--listen-client-urls", client, "--advertise-client-urls", client],
      ...["--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `${name}=${peerUrl}`],
    ]);
    log = "";
    etcd.stderr!.on("data", (d) => (log += d));
    const exited = new Promise((r) => etcd.once("exit", r));
    const ctl = (...args: string[]) =>
      runAsync(etcdctlOf(version).path, [`--endpoints=${client}`, "--command-timeout=5s", ...args], { env: etcdctlOf(version).env });
    for (let i = 0; i < 120; i++) {
      if ((await ctl("endpoint", "health")).status === 0)
        return {
          ctl,
          peerPort,
          stop: async () => {
            etcd.kill("SIGTERM");
            await exited;
          },
        };
      if (etcd.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    etcd.kill("SIGKILL");
    await exited;
    if (!/address already in use/.test(log)) break;
  }
  throw new Error(`etcd ${version} did not start:\n${log.slice(-2000)}`);
}

// 3.4.23 is Debian's (etcdctl does the offline work, without the revision bump); 3.6.17 and 3.7.4 the built ones (etcdutl).
describe.each([V36, V37, "3.4.23"])("etcd %s: the node's snapshot commands run for real", (version) => {
  const bump = hasEtcdutl(version) ? 1_000_000_000 : 0;
  it(`status reads a real snapshot; restore (${bump ? "bumped a billion revisions, marked compacted" : "3.4: etcdctl, no revision bump"}) gives a member serving the data`, async () => {
    const root = join(work, `real-${version}`);
    const bin = join(root, "bin");
    mkdirSync(bin, { recursive: true });
    for (const tool of hasEtcdutl(version) ? (["etcd", "etcdctl", "etcdutl"] as const) : (["etcd", "etcdctl"] as const))
      cpSync(etcdTool(version, tool), join(bin, tool));
    const source = await plainEtcd(version, join(root, "source"));
    const snapshot = join(root, "snap shot.db");
    let revision: number;
    try {
      for (let i = 0; i < 5; i++) expect((await source.ctl("put", `/dk/key-${i}`, `value-${i}`)).status).toBe(0);
      const status = await source.ctl("endpoint", "status", "-w", "json");
      revision = (JSON.parse(status.stdout) as { Status: { header: { revision: number } } }[])[0]!.Status.header.revision;
      const saved = await source.ctl("snapshot", "save", snapshot);
      expect(saved.status, saved.stderr).toBe(0);
    } finally {
      await source.stop();
    }

    const status = run(peer("dash"), ["-c", statusCommand(bin, version, snapshot).text]);
    expect(status.status, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as { revision: number; totalKey: number };
    expect(parsed.revision).toBe(revision);
    expect(parsed.totalKey).toBeGreaterThanOrEqual(5);

    const [peerPort] = await freePorts(1);
    const restoredDir = join(root, "restored");
    const m = { name: "m1", peerUrl: `http://127.0.0.1:${peerPort}`, initialCluster: `m1=http://127.0.0.1:${peerPort}`, token: "t-1" };
    const restore = run(peer("dash"), ["-c", restoreCommand(bin, version, snapshot, restoredDir, m).text]);
    expect(restore.status, restore.stderr).toBe(0);
    const restored = await plainEtcd(version, restoredDir, { name: "m1", peerPort: peerPort! });
    try {
      expect((await restored.ctl("get", "/dk/key-3", "--print-value-only")).stdout.trim()).toBe("value-3");
      const after = await restored.ctl("endpoint", "status", "-w", "json");
      const now = (JSON.parse(after.stdout) as { Status: { header: { revision: number } } }[])[0]!.Status.header.revision;
      expect(now).toBe(revision + bump);
      if (bump) {
        // Marked compacted: the old revisions are gone, as a watch cache must be told.
        const old = await restored.ctl("get", "/dk/key-3", `--rev=${revision}`);
        expect(old.stderr).toMatch(/required revision has been compacted/);
      }
    } finally {
      await restored.stop();
    }
  });
});
