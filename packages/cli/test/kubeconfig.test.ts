import { readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPONENT_KUBECONFIGS, parseKubeconfig, toYaml } from "@dk-bootstrap/kubeconfig";
import { CLI, dk, peer, run, runAsync, tempDir } from "../../../test-support/peers.js";

const DK = (cwd: string, env: NodeJS.ProcessEnv) => (args: string[]) => dk(["kubeconfig", ...args], { cwd, env });
const KUBECTL = (cwd: string, env: NodeJS.ProcessEnv) => (args: string[]) => run(peer("kubectl"), ["config", ...args], { cwd, env });

/** Runs the same `kubectl config` commands with both tools, each on its own KUBECONFIG, and returns both files. */
function sideBySide(root: string, name: string, commands: string[][]): [string, string] {
  const out: string[] = [];
  for (const [tool, make] of [
    ["kubectl", KUBECTL],
    ["dk", DK],
  ] as const) {
    const file = join(root, `${name}-${tool}.conf`);
    const exec = make(root, { ...process.env, KUBECONFIG: file });
    for (const c of commands) {
      const r = exec(c);
      expect(r.status, `${tool} ${c.join(" ")}: ${r.stderr}`).toBe(0);
    }
    out.push(readFileSync(file, "utf8"));
  }
  return [out[0]!, out[1]!];
}

describe("dk-bootstrap kubeconfig writes what kubectl config writes", () => {
  const root = tempDir();
  beforeAll(() => {
    mkdirSync(join(root, "certs"));
    const r = dk(["certs", "--workshop", "--dir", "."], { cwd: root });
    expect(r.status, r.stderr).toBe(0);
  });

  it("for the workshop's four commands, byte for byte", () => {
    const [a, b] = sideBySide(root, "seed", [
      ["set-cluster", "demystifions-kubernetes", "--certificate-authority=certs/ca.pem", "--embed-certs=true", "--server=https://127.0.0.1:6443"],
      ["set-credentials", "admin", "--embed-certs=true", "--client-certificate=certs/admin.pem", "--client-key=certs/admin-key.pem"],
      ["set-context", "admin", "--cluster=demystifions-kubernetes", "--user=admin"],
      ["use-context", "admin"],
    ]);
    expect(b).toBe(a);
    expect(statSync(join(root, "seed-dk.conf")).mode & 0o777).toBe(0o600);
    expect(parseKubeconfig(b, "x")["current-context"]).toBe("admin");
  });

  it("for the flags beyond the workshop and a sequence of edits, byte for byte", () => {
    const [a, b] = sideBySide(root, "more", [
      ["set-cluster", "c1", "--server=https://h:1", "--tls-server-name=api.x", "--proxy-url=socks5://p:1080", "--certificate-authority=certs/ca.pem"],
      ["set-cluster", "c2", "--server=https://h:2", "--insecure-skip-tls-verify=true"],
      ["set-cluster", "c1", "--server=https://h:3"],
      ["set-credentials", "tok", "--token=abc"],
      [
        "set-credentials",
        "ex",
        "--exec-command=aws",
        "--exec-api-version=client.authentication.k8s.io/v1beta1",
        "--exec-arg=eks",
        "--exec-arg=get-token",
        "--exec-env=A=1",
        "--exec-env=B=2",
      ],
      ["set-credentials", "ex", "--exec-env=A-", "--exec-interactive-mode=Never", "--exec-arg=x"],
      ["set-credentials", "up", "--username=yes", "--password=012345"],
      ["set-context", "yes", "--cluster=c1", "--user=tok", "--namespace=0755"],
      ["set-context", "#x", "--cluster=c2", "--user=ex"],
      ["set-context", "p@ss: word", "--cluster=c2", "--user=up"],
      ["use-context", "yes"],
      ["rename-context", "yes", "on"],
      ["set-context", "--current", "--namespace=kube-system"],
      ["delete-user", "up"],
      ["delete-cluster", "c2"],
    ]);
    expect(b).toBe(a);
    expect(b).toContain('current-context: "on"');
    expect(b).toContain("name: '#x'");
  });

  it("for set and unset of dotted paths, byte for byte", () => {
    const [a, b] = sideBySide(root, "props", [
      ["set", "clusters.foo.server", "https://x"],
      ["set", "clusters.foo.insecure-skip-tls-verify", "true"],
      ["set", "users.u.client-key-data", "aGVsbG8K"],
      ["set", "users.u.token", "xyz", "--set-raw-bytes"],
      ["set", "users.u.client-certificate-data", "hello", "--set-raw-bytes=true"],
      ["set", "preferences.colors", "true"],
      ["set", "current-context", "yes"],
      ["set", "contexts.c.namespace", "ns"],
      ["set", "contexts.d.cluster", "foo"],
      ["unset", "users.u.token"],
      ["unset", "contexts.c"],
      ["unset", "contexts.d.cluster"],
      ["unset", "current-context"],
    ]);
    expect(b).toBe(a);
    expect(b).toContain("client-certificate-data: aGVsbG8=");
  });

  it("refuses what kubectl config set refuses, with one line", () => {
    const file = join(root, "props-dk.conf");
    const before = readFileSync(file, "utf8");
    for (const [args, pattern] of [
      [["set", "clusters.foo.bogus", "1"], /clusters.foo.bogus: unable to locate path/],
      [["set", "users.u.client-key-data", "notbase64"], /users.u.client-key-data: error decoding input value/],
      [["set", "clusters.foo.insecure-skip-tls-verify", "maybe"], /expected a boolean \(got "maybe"\)/],
      [["unset", "clusters.nope.server"], /current map key `nope` is invalid/],
    ] as const) {
      const r = dk(["kubeconfig", ...args, "--kubeconfig", file], { cwd: root });
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr.split("\n")[0]).toMatch(pattern);
    }
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("flattens referenced files into the kubeconfig as kubectl view --flatten does", () => {
    const env = { ...process.env, KUBECONFIG: join(root, "paths.conf") };
    dk(["kubeconfig", "set-cluster", "c", "--server=https://h", "--certificate-authority=certs/ca.pem"], { cwd: root, env });
    dk(["kubeconfig", "set-credentials", "u", "--client-certificate=certs/admin.pem", "--client-key=certs/admin-key.pem"], { cwd: root, env });
    const mine = dk(["kubeconfig", "view", "--flatten"], { cwd: root, env });
    expect(mine.status, mine.stderr).toBe(0);
    expect(mine.stdout).toBe(run(peer("kubectl"), ["config", "view", "--flatten"], { cwd: root, env }).stdout);
    expect(mine.stdout).toContain("certificate-authority-data: ");
    expect(mine.stdout).not.toContain("DATA+OMITTED");
  });

  it("merges a kubeconfig into the user's own: backup first, clashing names made unique, current context on request", () => {
    const home = join(root, "home.conf");
    const env = { ...process.env, KUBECONFIG: home };
    dk(["kubeconfig", "set-cluster", "demystifions-kubernetes", "--server=https://other:6443"], { cwd: root, env });
    dk(["kubeconfig", "set-context", "mine", "--cluster=demystifions-kubernetes", "--user=me"], { cwd: root, env });
    dk(["kubeconfig", "use-context", "mine"], { cwd: root, env });
    const before = readFileSync(home, "utf8");
    const r = dk(["kubeconfig", "merge", "seed-dk.conf"], { cwd: root, env });
    expect(r.status, r.stderr).toBe(0);
    const backup = /Backed up .* to (.*)\n/.exec(r.stdout)![1]!;
    expect(readFileSync(backup, "utf8")).toBe(before);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain('cluster "demystifions-kubernetes" exists with other settings: merged as "demystifions-kubernetes-2"');
    const merged = parseKubeconfig(readFileSync(home, "utf8"), home);
    expect(merged["current-context"]).toBe("mine");
    expect(merged.contexts?.find((c) => c.name === "admin")?.context.cluster).toBe("demystifions-kubernetes-2");
    expect(merged.clusters?.find((c) => c.name === "demystifions-kubernetes")?.cluster.server).toBe("https://other:6443");
    expect(dk(["kubeconfig", "merge", "seed-dk.conf", "--set-current"], { cwd: root, env }).stdout).toMatch(/Merged 0 entries .*current context "admin"/);
    expect(run(peer("kubectl"), ["config", "current-context"], { env }).stdout.trim()).toBe("admin");
    const missing = dk(["kubeconfig", "merge", "nope.conf"], { cwd: root, env });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*nope.conf: cannot read: no such file/);
  });

  it("merges KUBECONFIG files as kubectl does: first definition wins, edits go back to their file", () => {
    const f1 = join(root, "m1.conf");
    const f2 = join(root, "m2.conf");
    const env = { ...process.env, KUBECONFIG: `${f1}:${f2}` };
    for (const [file, server] of [
      [f1, "https://one"],
      [f2, "https://two"],
    ] as const) {
      dk(["kubeconfig", "set-cluster", "shared", `--server=${server}`, "--kubeconfig", file], { cwd: root });
      dk(["kubeconfig", "set-cluster", `only-${server.slice(8)}`, `--server=${server}`, "--kubeconfig", file], { cwd: root });
    }
    const view = dk(["kubeconfig", "view"], { cwd: root, env });
    expect(view.stdout).toContain("server: https://one\n  name: shared");
    expect(dk(["kubeconfig", "set-cluster", "only-two", "--server=https://2b"], { cwd: root, env }).status).toBe(0);
    expect(readFileSync(f2, "utf8")).toContain("server: https://2b");
    expect(readFileSync(f1, "utf8")).not.toContain("2b");
    const kubectlView = run(peer("kubectl"), ["config", "view", "-o", "jsonpath={.clusters[?(@.name=='only-two')].cluster.server}"], { env });
    expect(kubectlView.stdout).toBe("https://2b");
  });

  it("refuses bad files with one line and leaves them as they were", () => {
    const cases: [string, string, RegExp][] = [
      ["broken.conf", "clusters:\n- name: a\n  cluster: [\n", /broken.conf: malformed YAML at line \d+/],
      ["dup.conf", "clusters:\n- name: a\n  cluster: {server: x}\n- name: a\n  cluster: {server: x2}\n", /dup.conf: clusters: duplicate name "a" in list/],
    ];
    for (const [name, text, pattern] of cases) {
      const file = join(root, name);
      writeFileSync(file, text);
      const r = dk(["kubeconfig", "set-cluster", "b", "--server=https://b", "--kubeconfig", file], { cwd: root });
      expect(r.status).toBe(1);
      expect(r.stderr.split("\n")[0]).toMatch(pattern);
      expect(readFileSync(file, "utf8")).toBe(text);
    }
    const u = dk(["kubeconfig", "use-context", "nope", "--kubeconfig", join(root, "seed-dk.conf")], { cwd: root });
    expect(u.stderr).toMatch(/no context exists with the name: "nope"/);
  });
});

describe("component kubeconfigs, through the real kubectl", () => {
  const root = tempDir();
  const seen: string[] = [];
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    const pki = (n: string) => readFileSync(join(root, "cluster", "pki", n));
    // Make the PKI once to get the CA and the apiserver certificate, then again with the port in the server URL.
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd: root }).status).toBe(0);
    server = createServer(
      { cert: pki("apiserver.crt"), key: pki("apiserver.key"), ca: pki("ca.crt"), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const c = (req.socket as TLSSocket).getPeerCertificate();
        const o = c.subject.O === undefined ? [] : ([] as string[]).concat(c.subject.O);
        seen.push(`${c.subject.CN}|${o.join(",")}`);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ user: c.subject.CN, groups: o }));
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
    const r = dk(["certs", "--key-algo", "ecdsa", "--server", `https://127.0.0.1:${port}`], { cwd: root });
    expect(r.status, r.stderr).toBe(0);
  });
  afterAll(() => server.close());

  it.each([
    ["admin.conf", "kubernetes-admin", ["kubeadm:cluster-admins"]],
    ["super-admin.conf", "kubernetes-super-admin", ["system:masters"]],
    ["controller-manager.conf", "system:kube-controller-manager", []],
    ["scheduler.conf", "system:kube-scheduler", []],
    ["kubelet.conf", "system:node:kubernetes", ["system:nodes"]],
    ["kube-proxy.conf", "system:kube-proxy", []],
  ])("%s: kubectl verifies the apiserver and is seen as %s", async (file, user, groups) => {
    const path = join(root, "cluster", file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const r = await runAsync(peer("kubectl"), ["--kubeconfig", path, "get", "--raw", "/whoami"]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ user, groups });
    const cfg = parseKubeconfig(readFileSync(path, "utf8"), path);
    expect(cfg["current-context"]).toBe(`${user}@demystifions-kubernetes`);
  });

  it("kubeconfig user makes a kubeconfig for a new user that the server sees with its groups", async () => {
    const r = dk(["kubeconfig", "user", "--client-name", "alice", "--org", "developers", "--org", "ops"], { cwd: root });
    expect(r.status, r.stderr).toBe(0);
    const path = join(root, "alice.conf");
    writeFileSync(path, r.stdout);
    expect(parseKubeconfig(r.stdout, path)["current-context"]).toBe("alice@demystifions-kubernetes");
    const seenBy = await runAsync(peer("kubectl"), ["--kubeconfig", path, "get", "--raw", "/whoami"]);
    expect(seenBy.status, seenBy.stderr).toBe(0);
    // The groups of one RDN come in DER order (a SET OF is sorted by encoding, shorter first here), as kubeadm's (Go's).
    expect(JSON.parse(seenBy.stdout)).toEqual({ user: "alice", groups: ["ops", "developers"] });
  });

  it("kubeconfig check --connect verifies the server and is accepted; a wrong CA fails", async () => {
    const ok = await runAsync(process.execPath, [CLI, "kubeconfig", "check", join(root, "cluster", "admin.conf"), "--connect"]);
    expect(ok.status, ok.stderr).toBe(0);
    const other = join(root, "other-ca.conf");
    const cfg = parseKubeconfig(readFileSync(join(root, "cluster", "admin.conf"), "utf8"), other);
    cfg.clusters![0]!.cluster["certificate-authority-data"] = Buffer.from(readFileSync(join(root, "cluster", "pki", "etcd", "ca.crt"))).toString("base64");
    writeFileSync(other, toYaml(cfg));
    const bad = await runAsync(process.execPath, [CLI, "kubeconfig", "check", other, "--connect"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/https:\/\/127.0.0.1:\d+: .*(certificate|issuer)/i);
  });

  it("kubeconfig check passes them and flags a broken one with exit 1", () => {
    const ok = dk(["kubeconfig", "check", "cluster/kubelet.conf"], { cwd: root });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/kubelet.conf: OK/);
    const broken = join(root, "broken.conf");
    writeFileSync(broken, readFileSync(join(root, "cluster", "admin.conf"), "utf8").replace("cluster: demystifions-kubernetes", "cluster: gone"));
    const bad = dk(["kubeconfig", "check", broken], { cwd: root });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/contexts\[kubernetes-admin@demystifions-kubernetes\]\.cluster: names the missing cluster "gone"/);
  });

  it("names contexts from a template, and refuses an unreadable kubeconfig with one line", () => {
    const dir = join(root, "named");
    const r = dk(["certs", "--dir", dir, "--key-algo", "ecdsa", "--cluster-name", "lab", "--context-name", "{cluster}-{user}"], { cwd: root });
    expect(r.status, r.stderr).toBe(0);
    expect(parseKubeconfig(readFileSync(join(dir, "kubelet.conf"), "utf8"), "k")["current-context"]).toBe("lab-system:node:kubernetes");
    const unreadable = dk(["kubeconfig", "get-contexts", "--kubeconfig", dir], { cwd: root });
    expect(unreadable.status).toBe(1);
    expect(unreadable.stderr).toMatch(/^error: .*named: cannot read: /);
  });

  it("certs renew puts the renewed client certificate into its kubeconfig, which kubectl still uses", async () => {
    const before = readFileSync(join(root, "cluster", "kube-proxy.conf"), "utf8");
    const r = dk(["certs", "renew", "clients/kube-proxy"], { cwd: root });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("kube-proxy.conf: now holds the renewed client certificate");
    const after = readFileSync(join(root, "cluster", "kube-proxy.conf"), "utf8");
    expect(after).not.toBe(before);
    expect(after).toContain(Buffer.from(readFileSync(join(root, "cluster", "pki", "clients", "kube-proxy.crt"))).toString("base64"));
    const seenBy = await runAsync(peer("kubectl"), ["--kubeconfig", join(root, "cluster", "kube-proxy.conf"), "get", "--raw", "/whoami"]);
    expect(JSON.parse(seenBy.stdout)).toEqual({ user: "system:kube-proxy", groups: [] });
  });

  it("writes exactly the component files and keeps them on a re-run", () => {
    expect(COMPONENT_KUBECONFIGS.map((k) => k.file).sort()).toEqual([
      "admin.conf",
      "controller-manager.conf",
      "kube-proxy.conf",
      "kubelet.conf",
      "scheduler.conf",
      "super-admin.conf",
    ]);
    const again = dk(["certs", "--key-algo", "ecdsa", "--server", `https://127.0.0.1:${port}`], { cwd: root });
    expect(again.stdout).toMatch(/Using the existing "admin.conf" kubeconfig file/);
  });
});
