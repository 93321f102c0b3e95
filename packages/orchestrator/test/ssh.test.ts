import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { generateClusterPki } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import { type Mirror, etcdMirrorFiles, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { peer, run, runAsync, tempDir } from "../../../test-support/peers.js";
import { type TestHost, loopbackRelay, startTestHost, waitForSsh, watchCommandLines } from "../../../test-support/test-host.js";
import {
  HostKeyError,
  NotOursError,
  type NodeSpec,
  SshTransport,
  SudoTransport,
  asRootIfNeeded,
  bootstrap,
  detectSudo,
  exec,
  fingerprint,
  nodeSpec,
  normalRemoteRoot,
  putFile,
  quote,
  reset,
  sh,
} from "../src/index.js";

/** Kubernetes 1.36's etcd (the release table), built from etcd's modules by test-support/built-peers.ts. */
const VERSION = "3.6.17";

describe("bootstrap up to etcd over SSH, as a non-root user with --remote-root", () => {
  const work = tempDir();
  let host: TestHost;
  let mirror: Mirror;
  let spec: NodeSpec;
  const knownHosts = join(work, "known_hosts");
  const connect = (extra: Partial<Parameters<typeof SshTransport.connect>[0]> = {}) =>
    SshTransport.connect({ host: host.ip, username: host.user, privateKey: readFileSync(host.keyFile), knownHosts: [knownHosts], ...extra });
  const etcdHealth = () =>
    run(
      etcdctlOf(VERSION).path,
      [
        `--endpoints=https://${host.ip}:2379`,
        `--cacert=${spec.dir}/pki/etcd/ca.crt`,
        `--cert=${spec.dir}/pki/apiserver-etcd-client.crt`,
        `--key=${spec.dir}/pki/apiserver-etcd-client.key`,
        "--dial-timeout=2s",
        "endpoint",
        "health",
      ],
      { env: etcdctlOf(VERSION).env },
    );

  beforeAll(async () => {
    chmodSync(work, 0o755);
    host = startTestHost(work);
    const root = join(work, "node");
    mkdirSync(root);
    // The user's own, under the remote root before any run: an empty folder, and a file in a folder the plan also uses.
    mkdirSync(join(root, "mine"));
    mkdirSync(join(root, "var", "lib"), { recursive: true });
    writeFileSync(join(root, "var", "lib", "notes.txt"), "mine\n");
    for (const p of [root, join(root, "mine"), join(root, "var"), join(root, "var", "lib"), join(root, "var", "lib", "notes.txt")])
      chownSync(p, host.uid, host.uid);
    mirror = await startMirror(host.hostIp, etcdMirrorFiles(join(work, "mirror"), VERSION, "amd64"));
    spec = nodeSpec({
      dir: join(work, "cluster"),
      remoteRoot: root,
      nodeIPs: [host.ip],
      key: { algo: "ecdsa", size: 256 },
      mirror: mirror.url,
      allowHttpMirror: true,
      checksums: mirror.checksums(),
      versions: { kubernetes: "1.36.4", etcd: VERSION, containerd: "2.1.5", runc: "1.3.4", cni: "1.6.2" },
    });
    await writeComponentKubeconfigs(await generateClusterPki(spec, spec.dir), spec);
    await waitForSsh(host);
  });
  afterAll(async () => {
    await mirror?.close();
    host?.stop();
  });

  it("refuses an unknown host key without --accept-new-host-key, and records it with it", async () => {
    await expect(connect()).rejects.toThrow(HostKeyError);
    await expect(connect()).rejects.toThrow(/unknown host key ssh-ed25519 SHA256:/);
    const t = await connect({ acceptNewHostKey: true });
    await t.close();
    expect(readFileSync(knownHosts, "utf8").trim()).toBe(host.hostKeyLine);
    const again = await connect();
    expect((await again.run(sh`id -un`)).stdout.trim()).toBe(host.user);
    await again.close();
  });

  it("passes any value to the remote shell intact (quoting property test through the real sshd)", async () => {
    const alphabet = [..." \t\n'\"$`\\;&|<>(){}[]*?~#!%^=,.:/-_aZ9é€"];
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const values = Array.from({ length: 300 }, () => Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]).join(""));
    values.push("", "'", "''", "$(id)", "`id`", "a\nb", "\\", "-n", "--", "$HOME", "~");
    const t = await connect();
    const r = await t.run(sh`printf '%s\\0' ${values}`);
    await t.close();
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(values);
  });

  it("leaves a state the next run finishes from when the connection is cut during a step", async () => {
    const t = await connect();
    await expect(
      bootstrap(spec, t, {
        until: "etcd",
        events: (e) => {
          if (e.type === "file" && e.step === "etcd") t.destroy();
        },
      }),
    ).rejects.toThrow();
    const again = await connect();
    const r = await bootstrap(spec, again, { until: "etcd" });
    await again.close();
    expect(r.done).toEqual(["etcd"]);
    expect(etcdHealth().status).toBe(0);
  });

  it("reaches etcd from this machine over mTLS, with the apiserver's etcd client certificate", async () => {
    const r = etcdHealth();
    expect(r.stdout + r.stderr).toMatch(/is healthy/);
    const log = join(work, "node", "var", "log", "dk-bootstrap", "etcd.log");
    const from = readFileSync(log, "utf8").length;
    const noCert = run(
      etcdctlOf(VERSION).path,
      [`--endpoints=https://${host.ip}:2379`, `--cacert=${spec.dir}/pki/etcd/ca.crt`, "--dial-timeout=2s", "--command-timeout=2s", "get", "x"],
      { env: etcdctlOf(VERSION).env },
    );
    expect(noCert.status).toBe(1);
    // etcdctl only says its deadline passed; the refusal's own error is in etcd's log.
    let refusal: string | undefined;
    for (let i = 0; i < 150 && !refusal; i++) {
      refusal = readFileSync(log, "utf8")
        .slice(from)
        .split("\n")
        // etcd 3.6's JSON log line: {"msg":"rejected connection on client endpoint",...,"error":"tls: client didn't provide a certificate"}.
        .find((l) => /"msg":"rejected connection on client endpoint".*"error":"tls: client didn't provide a certificate"/.test(l));
      if (!refusal) await new Promise((r) => setTimeout(r, 100));
    }
    expect(refusal, readFileSync(log, "utf8").slice(from)).toBeDefined();
  });

  it("downloads nothing on a re-run", async () => {
    const before = mirror.requests.length;
    const t = await connect();
    const r = await bootstrap(spec, t, { until: "etcd" });
    await t.close();
    expect(r).toEqual({ done: [], skipped: ["etcd"] });
    expect(mirror.requests.length).toBe(before);
    expect(mirror.requests.filter((u) => u.endsWith(".tar.gz"))).toHaveLength(1);
  });

  it("reaches the node through a jump host, the node's host key checked under its own name", async () => {
    const before = (host.sshdLog.match(/Accepted publickey/g) ?? []).length;
    const bastion = await connect();
    const viaJump = await connect({ jump: bastion });
    expect((await viaJump.run(sh`echo $SSH_CONNECTION`)).stdout.split(" ")[0]).toBe(host.ip);
    await viaJump.close();
    // Waits for sshd's log to say it (sshd writes it as it accepts, this process reads it a moment later), then counts.
    const accepted = () => (host.sshdLog.match(/Accepted publickey/g) ?? []).length - before;
    for (let i = 0; i < 100 && accepted() < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(accepted()).toBe(2);
  });

  it("always refuses a changed host key, even with --accept-new-host-key", async () => {
    const other = join(work, "other_known_hosts");
    writeFileSync(other, `${host.ip} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRk\n`);
    await expect(connect({ knownHosts: [other], acceptNewHostKey: true })).rejects.toThrow(
      /host key has CHANGED: it offers ssh-ed25519 SHA256:.*known_hosts has SHA256:/,
    );
  });

  it("marks the node and records what it made, not what was there before", () => {
    const state = join(spec.remoteRoot, "var", "lib", "dk-bootstrap");
    expect(JSON.parse(readFileSync(join(state, "node.json"), "utf8"))).toMatchObject({
      madeBy: "dk-bootstrap",
      node: spec.nodeName,
      remoteRoot: spec.remoteRoot,
    });
    const made = readFileSync(join(state, "made"), "utf8");
    expect(made).toContain(`rm\t${state}\n`);
    expect(made).toContain(`rm\t${join(spec.remoteRoot, "var", "lib", "etcd")}\n`);
    expect(made).toContain(`dir\t${join(spec.remoteRoot, "etc")}\n`);
    expect(made).not.toMatch(new RegExp(`\t${join(spec.remoteRoot, "var")}(/lib)?\n`));
  });

  it("reset refuses a node it did not set up (kubeadm's layout) and leaves every file of it", async () => {
    const other = join(work, "kubeadm-node");
    const files = ["etc/kubernetes/pki/ca.key", "etc/kubernetes/admin.conf", "var/lib/etcd/member/snap/db", "usr/local/bin/kubectl"];
    for (const f of files) {
      mkdirSync(join(other, f, ".."), { recursive: true });
      writeFileSync(join(other, f), f);
    }
    mkdirSync(join(other, "etc", "empty"));
    run("chown", ["-R", `${host.uid}:${host.uid}`, other]);
    const t = await connect();
    const refused = reset({ ...spec, remoteRoot: other }, t);
    await expect(refused).rejects.toThrow(NotOursError);
    await expect(refused).rejects.toThrow(
      /not set up by dk-bootstrap .*etc\/kubernetes\/pki\/ca\.key \(a cluster CA key\).*var\/lib\/etcd \(etcd data\).*: nothing was removed$/,
    );
    await t.close();
    for (const f of files) expect(readFileSync(join(other, f), "utf8")).toBe(f);
    expect(existsSync(join(other, "etc", "empty"))).toBe(true);
  });

  it("spells a remote root of //, /./ or with trailing slashes as one path, / for //", () => {
    for (const [given, want] of [
      ["//", "/"],
      ["/./", "/"],
      ["///", "/"],
      ["/srv//k8s/./node/", "/srv/k8s/node"],
    ])
      expect(nodeSpec({ dir: spec.dir, remoteRoot: given }).remoteRoot, given).toBe(want);
    expect(normalRemoteRoot("/a/b/../c//")).toBe("/a/c");
  });

  it("reset stops what it started and removes what it made: the user's own file and empty folder stay", async () => {
    // A file the user put, since the run, in a folder dk-bootstrap made: the folder stays with it.
    const kube = join(spec.remoteRoot, "etc", "kubernetes");
    writeFileSync(join(kube, "my-notes"), "mine\n");
    chownSync(join(kube, "my-notes"), host.uid, host.uid);
    // The file `certs rotate-ca` writes on the node outside any step: recorded by every run, so removed too.
    writeFileSync(join(kube, "pki", "ca-rotation.json"), "{}\n");
    chownSync(join(kube, "pki", "ca-rotation.json"), host.uid, host.uid);
    const t = await connect();
    const done = await reset(spec, t);
    await t.close();
    expect(done.nothing).toBe(false);
    const procs = run("pgrep", ["-u", host.user, "-f", spec.remoteRoot]);
    expect(procs.stdout.trim()).toBe("");
    expect(readdirSync(spec.remoteRoot).sort()).toEqual(["etc", "mine", "var"]);
    expect(readdirSync(join(spec.remoteRoot, "mine"))).toEqual([]);
    expect(readdirSync(join(spec.remoteRoot, "var", "lib"))).toEqual(["notes.txt"]);
    expect(readdirSync(join(spec.remoteRoot, "etc"))).toEqual(["kubernetes"]);
    expect(readdirSync(kube)).toEqual(["my-notes"]);
    expect(existsSync(join(spec.dir, "state.json"))).toBe(false);
    // Again: the mark is gone with the rest, and nothing else of a cluster is there: nothing to do.
    const again = await connect();
    expect((await reset(spec, again)).nothing).toBe(true);
    await again.close();
  });
});

describe.each([
  { ticket: undefined, cached: false },
  { ticket: "timestamp_type=global" as const, cached: true },
  { ticket: "!tty_tickets" as const, cached: true },
])("sudo for a non-root login, sudoers $ticket", ({ ticket, cached }) => {
  const work = tempDir();
  let host: TestHost;
  const password = "s3cret 'with' $pace;";
  const connect = async () => {
    const knownHosts = join(work, "known_hosts");
    writeFileSync(knownHosts, `${host.hostKeyLine}\n`);
    return SshTransport.connect({ host: host.ip, username: host.user, privateKey: readFileSync(host.keyFile), knownHosts: [knownHosts] });
  };
  beforeAll(async () => {
    chmodSync(work, 0o755);
    host = startTestHost(work);
    host.enableSudo(password, ticket);
    await waitForSsh(host);
  });
  afterAll(() => host?.stop());

  it("needs a password, names the flag when it has none, and refuses a wrong one", async () => {
    const t = await connect();
    await expect(detectSudo(t)).rejects.toThrow(/sudo asks this user for a password/);
    await expect(detectSudo(t, "wrong")).rejects.toThrow(/sudo refused the password/);
    await t.close();
  });

  it(`gives sudo exactly the password, ${cached ? "with" : "without"} a cached ticket: input, uploads and locks arrive intact, the password nowhere`, async () => {
    const watch = watchCommandLines(password);
    const t = await connect();
    const root = await asRootIfNeeded(t, true, password);
    expect((await root.run(sh`id -u`)).stdout.trim()).toBe("0");
    // The ticket state this case is about, as sudo itself reports it to the login (no password given).
    expect((await t.run(sh`sudo -n true`)).exitCode === 0).toBe(cached);
    const echoed = await exec(root, sh`cat`, { stdin: "first line\nsecond\n" });
    expect(echoed.stdout).toBe("first line\nsecond\n");
    expect(echoed.stderr).toBe("");
    const folder = `/root/dk-sudo-test-${host.user}`;
    onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
    const path = `${folder}/upload`;
    const content = Buffer.concat([Buffer.from("CONTENT\n"), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256))]);
    expect(await putFile(root, path, content, 0o600)).toBe("written");
    expect(readFileSync(path).equals(content)).toBe(true);
    expect(await putFile(root, path, content, 0o600)).toBe("unchanged");
    const held = await root.hold!(sh`exec flock -n ${`${folder}/lock`} -c 'echo held; exec cat >/dev/null'`);
    expect(held.firstLine).toBe("held");
    await held.release();
    const failed = await exec(root, sh`echo out; echo err >&2; exit 3`).catch((e: Error) => e);
    expect(failed).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
    expect(JSON.stringify(failed)).not.toContain(password);
    expect(JSON.stringify(failed)).not.toMatch(/dk-sudo-/);
    await t.close();
    const { scans, hits } = watch.stop();
    expect(scans).toBeGreaterThan(5);
    expect(hits).toEqual([]);
    // Where it could have gone: the upload's folder (its temporary file), the login's home, sudo's and the system's logs, this test's files.
    // The pattern on stdin: on grep's command line, another run's watch would see it.
    const files = run("grep", ["-rlF", "-f", "-", folder, `/home/${host.user}`, "/var/log", "/run/sudo", work], { input: `${password}\n` });
    expect([files.status, files.stdout, files.stderr]).toEqual([1, "", ""]);
    expect(host.sshdLog).not.toContain(password);
  });

  it("closes stdin when sudo asks a second time: the command's input is never tried as a password", async () => {
    const t = await connect();
    await t.run(sh`sudo -K`);
    const wrong = new SudoTransport(t, { kind: "password", password: "wrong" });
    const r = await wrong.run(sh`cat`, { stdin: `${password}\n${password}\n` });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/dk-sudo-/);
    expect(r.stderr, r.stderr).toMatch(/^Sorry, try again\.\n.*no password was provided/s);
    await t.close();
  });
});

describe("host keys under every spelling of the host, as OpenSSH checks them", () => {
  const work = tempDir();
  let host: TestHost;
  let relay: Awaited<ReturnType<typeof loopbackRelay>>;
  /** The key the server now presents (key 2), and another one (key 1) that known_hosts remembers. */
  let served: string;
  let old: string;
  beforeAll(async () => {
    chmodSync(work, 0o755);
    host = startTestHost(work);
    relay = await loopbackRelay(host);
    served = host.hostKeyLine.split(" ").slice(1).join(" ");
    run(peer("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "old_key")]);
    old = readFileSync(join(work, "old_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    await waitForSsh(host);
  });
  afterAll(async () => {
    await relay?.close();
    host?.stop();
  });

  /** A known_hosts file with `name key`, hashed by ssh-keygen -H when asked. */
  const knownHosts = (file: string, name: string, key: string, hashed: boolean) => {
    const path = join(work, file);
    writeFileSync(path, `${name} ${key}\n`);
    if (hashed) expect(run(peer("ssh-keygen"), ["-H", "-f", path]).status).toBe(0);
    return path;
  };
  const connect = (hostName: string, port: number, file: string, acceptNewHostKey = true) =>
    SshTransport.connect({ host: hostName, port, username: host.user, privateKey: readFileSync(host.keyFile), knownHosts: [file], acceptNewHostKey });
  /** What OpenSSH's own client says, with the same file and accept-new. */
  const openssh = (target: string, port: number, file: string) =>
    runAsync(peer("ssh"), [
      "-F",
      "/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-o",
      `UserKnownHostsFile=${file}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      host.keyFile,
      "-p",
      String(port),
      `${host.user}@${target}`,
      "true",
    ]);
  const cases = () => {
    const inetAton3 = host.ip.replace(/\.(\d+)\.(\d+)$/, (_, c: string, d: string) => `.${Number(c) * 256 + Number(d)}`);
    return [
      { name: `[localhost]:${relay.port}`, port: relay.port, typed: ["LOCALHOST", "localhost", "LocalHost", "[LOCALHOST]"], openssh: "LOCALHOST" },
      { name: `[::1]:${relay.port}`, port: relay.port, typed: ["::1", "[::1]", "0:0:0:0:0:0:0:1", "[0::1]"], openssh: "0:0:0:0:0:0:0:1" },
      // Port 22, written or not: the bare address; a.b.c.d also spelled a.b.(c*256+d), as inet_aton reads it.
      { name: host.ip, port: 22, typed: [host.ip, `[${host.ip}]`, inetAton3], openssh: inetAton3 },
    ];
  };

  it("refuses a changed key under every spelling, hashed or plain entry, even with --accept-new-host-key, and appends nothing (OpenSSH refuses the same)", async () => {
    for (const c of cases()) {
      for (const hashed of [true, false]) {
        const file = knownHosts(`changed-${hashed}`, c.name, old, hashed);
        const before = readFileSync(file, "utf8");
        for (const typed of c.typed) {
          const where = `${typed} port ${c.port}, ${hashed ? "hashed" : "plain"} ${c.name}`;
          const e = (await connect(typed, c.port, file).catch((err: unknown) => err)) as HostKeyError;
          expect(e, where).toBeInstanceOf(HostKeyError);
          expect(e.message, where).toContain(
            `${c.name}: the host key has CHANGED: it offers ssh-ed25519 ${fingerprint(Buffer.from(served.split(" ")[1]!, "base64"))}, known_hosts has ${fingerprint(Buffer.from(old.split(" ")[1]!, "base64"))} (${file}:1)`,
          );
          expect(e.hint, where).toBe(`if the host was reinstalled: ssh-keygen -R ${quote(c.name)} -f ${file}, then connect again with --accept-new-host-key`);
          expect(readFileSync(file, "utf8"), where).toBe(before);
        }
        // Without --accept-new-host-key: CHANGED as well, not "unknown".
        await expect(connect(c.typed[0]!.toUpperCase(), c.port, file, false)).rejects.toThrow(`${c.name}: the host key has CHANGED`);
        const ours = await openssh(c.openssh, c.port, file);
        expect(ours.stderr, c.name).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
        expect(readFileSync(file, "utf8")).toBe(before);
      }
    }
  });

  it("knows the key under every spelling, hashed or plain, and writes nothing", async () => {
    for (const c of cases()) {
      for (const hashed of [true, false]) {
        const file = knownHosts(`known-${hashed}`, c.name, served, hashed);
        const before = readFileSync(file, "utf8");
        for (const typed of c.typed) {
          const t = await connect(typed, c.port, file);
          expect((await t.run(sh`id -un`)).stdout.trim()).toBe(host.user);
          await t.close();
        }
        expect(readFileSync(file, "utf8")).toBe(before);
      }
    }
  });

  it("records a new host once, under the name OpenSSH would write, whatever the spelling", async () => {
    const file = join(work, "new_known_hosts");
    for (const typed of ["LOCALHOST", "[localhost]", "localhost"]) await (await connect(typed, relay.port, file)).close();
    expect(readFileSync(file, "utf8")).toBe(`[localhost]:${relay.port} ${served}\n`);
    const ssh = await openssh("localhost", relay.port, file);
    expect(ssh.status, ssh.stderr).toBe(0);
    expect(ssh.stderr).not.toMatch(/Permanently added/);
  });
});

describe("test hosts of runs that were killed", () => {
  const work = tempDir();

  it("are removed by the next run: namespace, veth pair, user and sudoers file of a PID that is gone", () => {
    // A PID that just ended, as a killed run's would be.
    const dead = spawnSync("true").pid!;
    const stale = `dkt${dead.toString(36)}-1`;
    // Made for sure (another run's sweep may take them away at any moment from now on, as this one's will).
    expect(run("ip", ["netns", "add", stale]).status).toBe(0);
    expect(run("ip", ["link", "add", `${stale}h`, "type", "veth", "peer", "name", `${stale}n`]).status).toBe(0);
    // Under the test hosts' lock, as they change the accounts database (useradd gives up when another holds it).
    expect(run("flock", ["-w", "120", "/run/dk-test-hosts.lock", "useradd", "-M", stale]).status).toBe(0);
    writeFileSync(`/etc/sudoers.d/dk-test-${stale}`, "", { mode: 0o440 });
    const host = startTestHost(work);
    try {
      expect(run("ip", ["netns", "list"]).stdout).not.toContain(stale);
      expect(run("ip", ["link", "show", `${stale}h`]).status).not.toBe(0);
      expect(run("id", [stale]).status).not.toBe(0);
      expect(existsSync(`/etc/sudoers.d/dk-test-${stale}`)).toBe(false);
      // This run's own host is untouched by the sweep, and named for this process.
      expect(host.netns).toMatch(new RegExp(`^dkt${process.pid.toString(36)}-\\d+$`));
      expect(run("ip", ["netns", "list"]).stdout).toContain(host.netns);
    } finally {
      host.stop();
    }
    expect(run("ip", ["netns", "list"]).stdout).not.toContain(host.netns);
    expect(run("id", [host.user]).status).not.toBe(0);
  });
});
