// `dk-bootstrap kubeconfig` beside the real `kubectl config`, byte for byte (issue 10 §3): a fresh machine with no
// ~/.kube, check on a missing file, view -o json and -o jsonpath, unknown formats, unset of sections, get-contexts.
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";
import { BASES } from "../../kubeconfig/test/fuzz-cases.js";

const kubectl = (args: string[], env?: NodeJS.ProcessEnv) => run(peer("kubectl"), ["config", ...args], { env });
const mine = (args: string[], env?: NodeJS.ProcessEnv) => dk(["kubeconfig", ...args], { env });

const RICH = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: https://a
    certificate-authority-data: aGVsbG8=
    extensions:
    - name: e
      extension: {b: 1, a: [x, 2.5, true, null], big: [1000000, 0.00001, 1e21, -0.0]}
- name: c2
  cluster: {server: "https://b<&>", insecure-skip-tls-verify: true, tls-server-name: api}
users:
- name: u
  user: {token: t, exec: {command: aws, args: [a], env: [{name: K, value: V}], provideClusterInfo: true}}
- name: v
  user: {username: admin, password: p, as-groups: [g1, g2], as-user-extra: {k: [v]}, auth-provider: {name: oidc, config: {z: "1", a: "2"}}}
contexts:
- name: x
  context: {cluster: c1, user: u, namespace: ns}
- name: z
  context: {cluster: c2, user: v}
- name: é-ünïcode
  context: {}
current-context: x
preferences: {colors: true}
`;

describe("kubeconfig as kubectl behaves", () => {
  const root = tempDir();
  const file = join(root, "rich.conf");
  beforeAll(() => writeFileSync(file, RICH));

  it("on a machine with no ~/.kube, set-cluster and merge make the folder as kubectl does (0755)", () => {
    const modes: number[] = [];
    const written: string[] = [];
    for (const tool of ["kubectl", "dk"] as const) {
      const home = join(root, `home-${tool}`);
      mkdirSync(home);
      const env = { ...process.env, HOME: home, KUBECONFIG: "" };
      const args = ["set-cluster", "c", "--server=https://c"];
      const r = tool === "kubectl" ? kubectl(args, env) : mine(args, env);
      expect(r.status, r.stderr).toBe(0);
      modes.push(statSync(join(home, ".kube")).mode & 0o777);
      written.push(readFileSync(join(home, ".kube", "config"), "utf8"));
    }
    expect(modes[1]).toBe(modes[0]);
    expect(written[1]).toBe(written[0]);
    const fresh = join(root, "home-merge");
    mkdirSync(fresh);
    const merged = dk(["kubeconfig", "merge", file], { env: { ...process.env, HOME: fresh, KUBECONFIG: "" } });
    expect(merged.status, merged.stderr).toBe(0);
    expect(readFileSync(join(fresh, ".kube", "config"), "utf8")).toContain("name: c2");
  });

  it("a folder given as a file to embed is refused with its path (kubectl embeds nothing without a word)", () => {
    const path = join(root, "embed.conf");
    for (const args of [
      ["set-cluster", "x", `--certificate-authority=${root}`, "--embed-certs"],
      ["set-credentials", "x", `--client-key=${root}`, "--embed-certs"],
    ]) {
      const r = mine([...args, "--kubeconfig", path]);
      expect(r.status).toBe(1);
      const flag = args[2]!.slice(2, args[2]!.indexOf("="));
      expect(r.stderr).toBe(`error: --${flag}: could not read ${flag} file ${root}: it is a folder, not a file\n`);
    }
  });

  it("check on a missing file is an error naming it", () => {
    const r = mine(["check", join(root, "nope.conf")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: ${join(root, "nope.conf")}: cannot read: no such file\n`);
    const none = mine(["check"], { ...process.env, KUBECONFIG: join(root, "absent.conf") });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^error: .*absent.conf: no kubeconfig to check/);
  });

  it.each([
    ["rich", []],
    ["rich", ["--raw"]],
    ["rich", ["--minify"]],
    ["rich", ["--minify", "--raw"]],
    ["empty", []],
    ["base0", ["--raw"]],
    ["base1", []],
    ["base2", ["--raw"]],
  ])("view -o json of %s %j is kubectl's, byte for byte", (name, flags) => {
    const texts: Record<string, string> = { rich: RICH, empty: "{}\n", base0: BASES[0]!, base1: BASES[1]!, base2: BASES[2]! };
    const path = join(root, `${name}.json.conf`);
    writeFileSync(path, texts[name]!);
    const theirs = kubectl(["view", "--kubeconfig", path, ...flags, "-o", "json"]);
    expect(theirs.status, theirs.stderr).toBe(0);
    const ours = mine(["view", "--kubeconfig", path, ...flags, "-o", "json"]);
    expect(ours.status, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(theirs.stdout);
  });

  const TEMPLATES = [
    "{.current-context}",
    "{.clusters[0].name}",
    "{.clusters[*].name}",
    '{.clusters[?(@.name=="c2")].cluster.server}',
    "{.clusters[?(@.name!='c2')].name}",
    '{range .contexts[*]}{.name}{"\\t"}{.context.cluster}{"\\n"}{end}',
    "{range .contexts}{.name},{end}",
    "{range .clusters[*]}{.name}{range .cluster.extensions[*]} ext={.name}{end};{end}",
    "{range .contexts[*]}{.name}",
    "{.clusters[0].cluster}",
    "{.clusters}",
    "{.users[0].user.exec.args}",
    "{.users[0].user.exec.env}",
    "{.users[1].user.auth-provider.config}",
    "{.nope}",
    "{.clusters.name}",
    "{.clusters[-1].name}",
    "{.clusters[0:1].name}",
    "{.clusters[1:].name}",
    "{.clusters[1:1].name}",
    "{.clusters[0,1].name}",
    "{.contexts[0].context['cluster','user']}",
    "{.clusters[0]['name']}",
    "{$.kind}",
    "{@.kind}",
    "text {.kind} more",
    "plain text",
    "{.preferences.colors}",
    "{.contexts[?(@.context.namespace)].name}",
    "{.clusters[?(@.cluster.insecure-skip-tls-verify==true)].name}",
    '{.clusters[?(@.name>"c1")].name}',
    "{.clusters[0].cluster.extensions[0].extension.a}",
    "{.clusters[0].cluster.extensions[0].extension.a[3]}",
    "{.clusters[0].cluster.extensions[0].extension.big[*]}",
    "{.clusters[0].cluster.extensions[0].extension.big[?(@>100.0)]}",
    "{5}{2.5}{true}{'x'}",
    '{"\\u00e9\\x41\\101"}',
    "{.kind.*}",
    "{.users[0].user.token}{.clusters[0].cluster.certificate-authority-data}",
    "{.contexts[*].name} {.current-context}",
    "{.clusters[0].name}}",
    "{@}",
  ];
  it.each(TEMPLATES)("view -o jsonpath=%s is kubectl's, byte for byte", (template) => {
    const theirs = kubectl(["view", "--kubeconfig", file, "-o", `jsonpath=${template}`]);
    expect(theirs.status, theirs.stderr).toBe(0);
    const ours = mine(["view", "--kubeconfig", file, "-o", `jsonpath=${template}`]);
    expect(ours.status, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(theirs.stdout);
  });

  it.each([
    '{["kind"]}',
    "{.clusters[a].name}",
    "{",
    "{.clusters[0]",
    '{.clusters[?(@.name=="c2"].name}',
    '{.clusters[?(@.name=~"c.")].name}',
    "{.clusters[5].name}",
    "{.clusters[0:5:2].name}",
    "{.clusters[::-1].name}",
    "{end}",
    "{.clusters[?(@.name==1)].name}",
    "{.current-context[0]}",
  ])("view -o jsonpath=%s is refused as kubectl refuses it, in one line", (template) => {
    const theirs = kubectl(["view", "--kubeconfig", file, "-o", `jsonpath=${template}`]);
    expect(theirs.status).toBe(1);
    const ours = mine(["view", "--kubeconfig", file, "-o", `jsonpath=${template}`]);
    expect(ours.status).toBe(1);
    expect(ours.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
    // kubectl follows an execution error with the template and the whole object: the first sentence is the same.
    expect(theirs.stderr.startsWith(ours.stderr.trimEnd()), `${theirs.stderr}\n${ours.stderr}`).toBe(true);
  });

  it("view -o jsonpath-file reads the template from a file", () => {
    const tpl = join(root, "t.jsonpath");
    writeFileSync(tpl, '{range .contexts[*]}{.name}{"\\n"}{end}');
    const theirs = kubectl(["view", "--kubeconfig", file, "-o", `jsonpath-file=${tpl}`]);
    expect(theirs.status, theirs.stderr).toBe(0);
    // The file's template was used: one context name a line, as many as the file has.
    expect(theirs.stdout).toMatch(/^(\S+\n)+$/);
    const ours = mine(["view", "--kubeconfig", file, "-o", `jsonpath-file=${tpl}`]);
    expect(ours.status, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(theirs.stdout);
  });

  it("refuses unknown output formats, as kubectl does, before reading anything", () => {
    for (const format of ["foo", "jsonpath", "jsonpath=", "yml"]) {
      expect(kubectl(["view", "--kubeconfig", file, "-o", format]).status, format).toBe(1);
      const ours = mine(["view", "--kubeconfig", file, "-o", format]);
      expect(ours.status, format).toBe(1);
      expect(ours.stdout).toBe("");
      expect(ours.stderr).toMatch(/^error: --output: (unable to match a printer|template format specified but no template given)/);
    }
    expect(kubectl(["get-contexts", "--kubeconfig", file, "-o", "wide"]).status).toBe(1);
    expect(mine(["get-contexts", "--kubeconfig", file, "-o", "wide"]).stderr).toBe(`error: --output: output must be one of '' or 'name' (got "wide")\n`);
  });

  it("an edit rewrites a file as kubectl rewrites it: unknown fields dropped, YAML 1.1 words and numbers, extensions, aliases, exec settings", () => {
    const text = `base: &b {server: "https://b", extra: yes}\nunknown-top: 1\n${RICH}`.replace("- name: c2\n", "- name: c3\n  cluster: *b\n- name: c2\n");
    const out: string[] = [];
    for (const tool of ["kubectl", "dk"] as const) {
      const path = join(root, `rewrite-${tool}.conf`);
      writeFileSync(path, text);
      const args = ["set-context", "new", "--cluster=c3", "--kubeconfig", path];
      const r = tool === "kubectl" ? kubectl(args) : mine(args);
      expect(r.status, r.stderr).toBe(0);
      out.push(readFileSync(path, "utf8"));
    }
    expect(out[1]).toBe(out[0]);
    expect(out[1]).not.toContain("unknown-top");
  });

  it.each(["users", "clusters", "contexts", "preferences", "kind", "apiVersion", "clusters.c1.extensions", "users.v"])(
    "unset %s as kubectl does, byte for byte",
    (property) => {
      const out: string[] = [];
      for (const tool of ["kubectl", "dk"] as const) {
        const path = join(root, `unset-${property}-${tool}.conf`);
        writeFileSync(path, RICH);
        const r = tool === "kubectl" ? kubectl(["unset", property, "--kubeconfig", path]) : mine(["unset", property, "--kubeconfig", path]);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe(`Property "${property}" unset.\n`);
        out.push(readFileSync(path, "utf8"));
      }
      expect(out[1]).toBe(out[0]);
    },
  );

  it.each([[[]], [["x"]], [["é-ünïcode"]], [["-o", "name"]]])("get-contexts %j is kubectl's, trailing spaces included", (args) => {
    const theirs = kubectl(["get-contexts", "--kubeconfig", file, ...args]);
    expect(theirs.status, theirs.stderr).toBe(0);
    const ours = mine(["get-contexts", "--kubeconfig", file, ...args]);
    expect(ours.status, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(theirs.stdout);
  });
});
