// Deterministic mutated kubeconfigs for the fuzz tests (library and CLI): a seeded PRNG, so a failure replays.

import { prng } from "../../../test-support/mutate.js";

const PEM_B64 = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAL\n-----END CERTIFICATE-----\n").toString("base64");

/** Valid kubeconfigs of different shapes: the seeds the mutations start from. */
export const BASES: string[] = [
  `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ${PEM_B64}
- name: c2
  cluster:
    server: https://h:1
    insecure-skip-tls-verify: true
    extensions:
    - name: ext
      extension: {a: [1, 2, {b: c}]}
users:
- name: u1
  user:
    client-certificate-data: ${PEM_B64}
    client-key-data: ${PEM_B64}
- name: u2
  user:
    exec:
      command: aws
      args: [eks, get-token]
      env: [{name: A, value: "1"}]
      apiVersion: client.authentication.k8s.io/v1beta1
      provideClusterInfo: false
contexts:
- name: ctx1
  context: {cluster: c1, user: u1, namespace: kube-system}
- name: ctx2
  context: {cluster: c2, user: u2}
current-context: ctx1
preferences: {colors: true}
`,
  `{"apiVersion":"v1","kind":"Config","clusters":[{"name":"j","cluster":{"server":"https://j"}}],"users":[{"name":"t","user":{"token":"abc","as-groups":["g"],"as-user-extra":{"k":["v"]}}}],"contexts":[{"name":"x","context":{"cluster":"j","user":"t"}}],"current-context":"x"}`,
  `base: &base
  server: https://anchored
clusters:
- name: a
  cluster:
    <<: *base
    tls-server-name: api
- name: b
  cluster: *base
users:
- name: p
  user: {username: admin, password: "012345", auth-provider: {name: oidc, config: {k: v}}}
contexts:
- name: "on"
  context: {cluster: a, user: p}
`,
];

const TOKENS = [
  "&a ",
  "*a",
  "*b",
  "[",
  "]",
  "{",
  "}",
  ": ",
  "- ",
  "? ",
  "!!binary ",
  "!!str ",
  "<<: *a\n",
  "'",
  '"',
  "\t",
  "\n",
  "#",
  "|\n",
  ">-\n",
  "%",
  "@",
  "\u0000",
  "\ufeff",
  "é",
  "yes",
  "0755",
  "null",
  "~",
  "1e3",
  "---\n",
  "...\n",
  "=",
  "0x",
  ".inf",
];
const VALUES = ["yes", "123", "[]", "{}", "null", '"x"', "-1", "true", "!!@#", "aGVsbG8=", "not base64!", "[a, b]", "{a: b}", "&a [*a]", "0o17", "2001-12-14"];
/** A billion-laughs document of aliases (9^6 nodes once expanded): refused by go-yaml's alias budget, never expanded. */
export const BOMB =
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n';

/** One mutation of `text`, picked by `rand`. */
function mutate(text: string, rand: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const at = Math.floor(rand() * (text.length + 1));
  const lines = text.split("\n");
  const line = Math.floor(rand() * lines.length);
  switch (Math.floor(rand() * 9)) {
    case 0: // flip a byte
      return text.slice(0, at) + String.fromCharCode(Math.floor(rand() * 128)) + text.slice(at + 1);
    case 1: // insert a YAML token
      return text.slice(0, at) + pick(TOKENS) + text.slice(at);
    case 2: // delete a span
      return text.slice(0, at) + text.slice(at + Math.floor(rand() * 40));
    case 3: // drop or double a line
      return rand() < 0.5 ? lines.filter((_, i) => i !== line).join("\n") : [...lines.slice(0, line + 1), ...lines.slice(line)].join("\n");
    case 4: // swap two lines
      [lines[line], lines[0]] = [lines[0]!, lines[line]!];
      return lines.join("\n");
    case 5: // replace a value with one of another type
      return lines.map((l, i) => (i === line ? l.replace(/(:\s*).*$/, `$1${pick(VALUES)}`) : l)).join("\n");
    case 6: // truncate
      return text.slice(0, at);
    case 7: // change the indentation of a line
      return lines.map((l, i) => (i === line ? " ".repeat(Math.floor(rand() * 6)) + l.trimStart() : l)).join("\n");
    default: // an alias bomb or a cycle
      return rand() < 0.5 ? `${BOMB}${text}` : text.replace(/cluster:\n/, "cluster: &a\n    extensions: [{name: x, extension: *a}]\n");
  }
}

/** `count` mutated kubeconfigs, 1 to 3 mutations each, the same for the same seed. */
export function mutatedKubeconfigs(count: number, seed: number): string[] {
  const rand = prng(seed);
  return Array.from({ length: count }, (_, i) => {
    let text = BASES[i % BASES.length]!;
    const n = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < n; k++) text = mutate(text, rand);
    return text;
  });
}
