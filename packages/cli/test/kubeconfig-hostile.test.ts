// Hostile and malformed kubeconfigs through the CLI, beside the real kubectl (issue 9 §6).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, dkAsync, peer, run, tempDir } from "../../../test-support/peers.js";
import { mutatedKubeconfigs } from "../../kubeconfig/test/fuzz-cases.js";

const kubectl = (args: string[]) => run(peer("kubectl"), ["config", ...args]);

const BOMB = `apiVersion: v1
kind: Config
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`;

/** Runs a command of both tools on `file` and checks that both refuse it or both accept it; ours refuses with one line. */
function bothRefuse(file: string, pattern: RegExp): void {
  const theirs = kubectl(["view", "--kubeconfig", file]);
  expect(theirs.status, theirs.stderr).toBe(1);
  for (const args of [["view"], ["get-contexts"], ["set-cluster", "x", "--server=https://x"]]) {
    const before = readFileSync(file, "utf8");
    const r = dk(["kubeconfig", ...args, "--kubeconfig", file]);
    expect(r.status, `${args[0]}: ${r.stderr}`).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(readFileSync(file, "utf8")).toBe(before);
  }
}

describe("hostile YAML", () => {
  const root = tempDir();

  it(`refuses a ${BOMB.length}-byte billion-laughs kubeconfig with one line, as kubectl does`, () => {
    const file = join(root, "bomb.conf");
    writeFileSync(file, BOMB);
    expect(kubectl(["view", "--kubeconfig", file]).stderr).toMatch(/excessive aliasing/);
    bothRefuse(file, /^error: .*bomb.conf: malformed YAML: document contains excessive aliasing\n$/);
  });

  it("refuses an anchor that contains itself with one line, as kubectl does", () => {
    const file = join(root, "cycle.conf");
    writeFileSync(file, "apiVersion: v1\nclusters: &a\n- name: x\n  cluster: {extensions: [{name: e, extension: *a}]}\n");
    expect(kubectl(["view", "--kubeconfig", file]).stderr).toMatch(/anchor 'a' value contains itself/);
    bothRefuse(file, /^error: .*cycle.conf: malformed YAML: anchor 'a' value contains itself\n$/);
  });

  it("lists a context without cluster or user, as kubectl does", () => {
    const file = join(root, "bare.conf");
    writeFileSync(file, "contexts:\n- name: a\n  context: {}\n- name: b\n  context: {namespace: ns}\n- name: long-name\n  context: {cluster: c}\n- name: d\n");
    const mine = dk(["kubeconfig", "get-contexts", "--kubeconfig", file]);
    expect(mine.status, mine.stderr).toBe(0);
    const theirs = kubectl(["get-contexts", "--kubeconfig", file]);
    expect(mine.stdout.replace(/ +\n/g, "\n")).toBe(theirs.stdout.replace(/ +\n/g, "\n"));
  });
});

describe("aliases that kubectl accepts", () => {
  const root = tempDir();
  const wide = (aliases: number, keys: number) =>
    `base: &b {${Array.from({ length: keys }, (_, i) => `k${i}: v${i}`).join(", ")}}\nclusters:\n- name: c\n  cluster:\n    server: s\n    extensions:\n${Array.from({ length: aliases }, (_, i) => `    - {name: e${i}, extension: *b}\n`).join("")}`;

  it.each([
    [
      "redefined anchors and merge keys",
      "x1: &x 1\no: &o [*x]\nx2: &x 2\nclusters:\n- name: c\n  cluster:\n    server: s\n    extensions:\n    - name: e\n      extension: {d: *o, e: *x, m: {<<: [{k: 1}, {k: 2, j: 3}], j: 4}}\n",
    ],
    ["200 aliases of a 20-key map (94% of decodes from aliases)", wide(200, 20)],
    [
      "extensions, written sorted by name with go-yaml's natural key order (k9 before k10)",
      'preferences:\n  extensions:\n  - {name: z, extension: 1}\n  - {name: a, extension: 2}\nextensions:\n- {name: q, extension: {k10: 1, k9: 2, a_b: 3, a-b: 4, "~": 5, B: 6, .99_: 7, ._01: 8, .5: 9, 1e3: 10}}\n- {name: b}\ncontexts:\n- name: c\n  context:\n    extensions: [{name: "y", extension: x}, {name: "x", extension: y}]\n',
    ],
    ["a duplicate extension name (refused)", "extensions:\n- {name: z, extension: 1}\n- {name: z, extension: 2}\n"],
  ])("%s: the same verdict and the same view as kubectl", (name, text) => {
    const file = join(root, `${name.split(" ")[0]}.conf`);
    writeFileSync(file, text);
    for (const format of ["yaml", "json"]) {
      const theirs = kubectl(["view", "--kubeconfig", file, "-o", format]);
      const ours = dk(["kubeconfig", "view", "--kubeconfig", file, "-o", format]);
      expect(ours.status, ours.stderr).toBe(theirs.status);
      expect(ours.stdout).toBe(theirs.stdout);
      if (theirs.status !== 0) expect(ours.stderr).toMatch(/^error: .*: duplicate name "z" in list\n$/);
    }
  });

  it("2,000 aliases of a 100-key map (410,000 decodes, 98.5% from aliases) are just allowed by both", () => {
    const file = join(root, "allowed.conf");
    writeFileSync(file, wide(2000, 100));
    const template = "jsonpath={.clusters[0].cluster.extensions[1999].extension.k99}";
    const theirs = kubectl(["view", "--kubeconfig", file, "-o", template]);
    expect(theirs.stdout, theirs.stderr).toBe("v99");
    const ours = dk(["kubeconfig", "view", "--kubeconfig", file, "-o", template]);
    expect(ours.stdout, ours.stderr).toBe("v99");
  });

  it("5,000 aliases of a 100-key map (a million decodes, 98% from aliases) are refused by both", () => {
    const file = join(root, "heavy.conf");
    writeFileSync(file, wide(5000, 100));
    expect(kubectl(["view", "--kubeconfig", file]).stderr).toMatch(/excessive aliasing/);
    expect(dk(["kubeconfig", "view", "--kubeconfig", file]).stderr).toMatch(/^error: .*heavy.conf: malformed YAML: document contains excessive aliasing\n$/);
  });
});

describe("files kubectl refuses to load are refused, with the field, and never rewritten", () => {
  const root = tempDir();
  const cases: [string, string, RegExp][] = [
    [
      "ca-b64",
      "clusters:\n- name: c\n  cluster:\n    server: https://c\n    certificate-authority-data: not-base64!\n",
      /clusters\[0\]\.cluster\.certificate-authority-data: illegal base64 data/,
    ],
    ["cert-b64", "users:\n- name: u\n  user:\n    client-certificate-data: aGVsbG8\n", /users\[0\]\.user\.client-certificate-data: illegal base64 data/],
    ["key-b64", "users:\n- name: u\n  user:\n    client-key-data: 'a%b='\n", /users\[0\]\.user\.client-key-data: illegal base64 data/],
    [
      "server-number",
      "clusters:\n- name: c\n  cluster:\n    server: 6443\n",
      /clusters\[0\]\.cluster\.server: cannot unmarshal number into a field of type string/,
    ],
    [
      "insecure-string",
      'clusters:\n- name: c\n  cluster:\n    insecure-skip-tls-verify: "true"\n',
      /clusters\[0\]\.cluster\.insecure-skip-tls-verify: cannot unmarshal string/,
    ],
    ["yaml11-bool", "contexts:\n- name: c\n  context:\n    namespace: on\n", /contexts\[0\]\.context\.namespace: cannot unmarshal bool/],
    ["octal", "clusters:\n- name: c\n  cluster:\n    server: 0755\n", /clusters\[0\]\.cluster\.server: cannot unmarshal number/],
    ["name-bool", "contexts:\n- name: y\n  context: {}\n", /contexts\[0\]\.name: cannot unmarshal bool/],
    ["section-map", "clusters: {a: b}\n", /clusters: cannot unmarshal object into a field of type list/],
    ["context-list", "contexts:\n- name: c\n  context: [a]\n", /contexts\[0\]\.context: cannot unmarshal array into a field of type mapping/],
    ["groups-string", "users:\n- name: u\n  user:\n    as-groups: admins\n", /users\[0\]\.user\.as-groups: cannot unmarshal string into a field of type list/],
    ["exec-args", "users:\n- name: u\n  user:\n    exec: {command: x, args: {a: b}}\n", /users\[0\]\.user\.exec\.args: cannot unmarshal object/],
    ["colors", "preferences:\n  colors: 1\n", /preferences\.colors: cannot unmarshal number into a field of type boolean/],
    ["current-list", "current-context: [a]\n", /current-context: cannot unmarshal array/],
    ["scalar-doc", "just text\n", /a kubeconfig must be a YAML mapping/],
    ["kind", "kind: Foo\n", /kind: no kind "Foo" is registered for version "v1"/],
    ["version", "apiVersion: v2\n", /apiVersion: no kind "Config" is registered for version "v2"/],
    ["control", "clusters:\n- name: a\u0001\n", /malformed YAML: control characters are not allowed/],
    ["tag", "clusters:\n- name: !!@#x\n", /malformed YAML: did not find expected whitespace or line break/],
    ["unknown-anchor", "clusters: *nope\n", /malformed YAML.*unknown anchor 'nope' referenced/],
  ];
  it.each(cases)("%s", (name, text, pattern) => {
    const file = join(root, `${name}.conf`);
    writeFileSync(file, text);
    bothRefuse(file, new RegExp(`^error: .*${name}.conf: ${pattern.source}`));
  });

  it("invalid UTF-8 is refused, as kubectl refuses it", () => {
    const file = join(root, "latin1.conf");
    writeFileSync(file, Buffer.concat([Buffer.from("clusters:\n- name: caf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    bothRefuse(file, /^error: .*latin1.conf: malformed YAML: invalid UTF-8\n$/);
  });

  it("and what kubectl accepts loads: quoted YAML 1.1 words, unknown fields, extensions, merge keys, JSON", () => {
    const file = join(root, "fine.conf");
    writeFileSync(
      file,
      'base: &b {server: "https://b"}\nclusters:\n- name: "on"\n  cluster:\n    <<: *b\n    unknown-field: 1\n    certificate-authority-data: "aGVs\\nbG8="\n    extensions: [{name: e, extension: {any: [1, yes]}}]\ncontexts:\n- name: "y"\n  context: {cluster: "on", user: "no", namespace: "0755"}\ncurrent-context: "y"\n',
    );
    const theirs = kubectl(["view", "--raw", "--kubeconfig", file]);
    expect(theirs.status, theirs.stderr).toBe(0);
    const mine = dk(["kubeconfig", "view", "--raw", "--kubeconfig", file]);
    expect(mine.status, mine.stderr).toBe(0);
    expect(mine.stdout).toBe(theirs.stdout);
    const json = join(root, "fine.json");
    writeFileSync(json, JSON.stringify({ clusters: [{ name: "j", cluster: { server: "https://j" } }] }));
    expect(dk(["kubeconfig", "view", "--kubeconfig", json]).stdout).toBe(kubectl(["view", "--kubeconfig", json]).stdout);
  });
});

/**
 * Of the 30 fuzzed cases below, those kubectl loads and dk-bootstrap refuses, with dk-bootstrap's error. All three
 * begin with an indented line followed by a dedent: libyaml (kubectl) reads the indented line as the document and
 * what follows the dedent as a second, implicit document, which kubectl ignores (it loads the first); dk-bootstrap
 * refuses the file rather than drop what a reader sees in it.
 */
const KNOWN_ONLY_KUBECTL_LOADS = [
  "case 9: malformed YAML at line 2 column 1: end of the stream or a document separator is expected",
  "case 16: malformed YAML at line 2 column 3: end of the stream or a document separator is expected",
  "case 27: malformed YAML at line 2 column 1: end of the stream or a document separator is expected",
];

describe("fuzzed kubeconfigs beside kubectl", () => {
  // What kubectl refuses we refuse, and what both load both print alike. Known gaps, all on our safe side or
  // outside this sample: libyaml reads a second, implicit document after a dedent (and ignores it) where we
  // refuse the file, and is stricter than js-yaml about plain scalars inside flow collections ({a:b"c"}).
  it("30 mutations (seed 9, every 20th): kubectl's refusals are ours, its view --raw is ours byte for byte, and the 3 it loads and we refuse are the known ones", () => {
    const root = tempDir();
    const cases = mutatedKubeconfigs(600, 9).filter((_, i) => i % 20 === 3);
    let bothLoad = 0;
    const onlyKubectlLoads: string[] = [];
    for (const [i, text] of cases.entries()) {
      const file = join(root, `diff-${i}.conf`);
      writeFileSync(file, text);
      const theirs = kubectl(["view", "--raw", "--kubeconfig", file]);
      const ours = dk(["kubeconfig", "view", "--raw", "--kubeconfig", file]);
      if (theirs.status !== 0) expect(ours.status, `case ${i}: kubectl refused: ${theirs.stderr}`).toBe(1);
      else if (ours.status === 0) {
        bothLoad++;
        expect(ours.stdout, `case ${i}`).toBe(theirs.stdout);
      } else onlyKubectlLoads.push(`case ${i}: ${ours.stderr.trim().replace(`error: ${file}: `, "")}`);
    }
    expect(bothLoad).toBeGreaterThan(5);
    // The other way: files kubectl loads and we refuse, each listed with our reason (see the known gaps above).
    expect(onlyKubectlLoads).toEqual(KNOWN_ONLY_KUBECTL_LOADS);
  }, 180_000);
});

describe("fuzzed kubeconfigs through the CLI", () => {
  const root = tempDir();

  it("a sample of 12 mutations (seed 9), each through view, get-contexts, set-cluster and check: no internal error, no hang, one error line", async () => {
    const cases = mutatedKubeconfigs(600, 9).filter((_, i) => i % 50 === 7);
    const runs: Promise<void>[] = [];
    for (const [i, text] of cases.entries()) {
      const file = join(root, `fuzz-${i}.conf`);
      writeFileSync(file, text);
      for (const args of [["view"], ["get-contexts"], ["set-cluster", "added", "--server=https://added"], ["check"]]) {
        runs.push(
          dkAsync(["kubeconfig", ...args, "--kubeconfig", file]).then((r) => {
            const what = `case ${i}, ${args[0]}: ${r.stderr}`;
            expect([0, 1], what).toContain(r.status);
            const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
            if (r.status === 1) expect(errors, what).toHaveLength(1);
            expect(r.stderr, what).not.toMatch(/^\s+at |looks like a bug/m);
          }),
        );
        // Four at a time: bounded on a busy 2-core machine.
        if (runs.length % 4 === 0) await Promise.all(runs.slice(-4));
      }
    }
    await Promise.all(runs);
  }, 180_000);
});
