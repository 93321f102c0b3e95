import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { emptyConfig, parseKubeconfig, putEntry, quoteString, toYaml } from "../src/index.js";

/** The whole file the installed kubectl writes for `kubectl config set current-context VALUE` on a new file. */
const work = tempDir("dk-yaml-kubectl-");
let files = 0;
function kubectlWrites(value: string): string {
  const file = join(work, `config-${files++}`);
  const r = run(peer("kubectl"), ["config", "set", "--kubeconfig", file, "--", "current-context", value]);
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(file, "utf8");
}
/** What we write for the same edit of an empty config. */
const oursFor = (value: string) => {
  const cfg = emptyConfig();
  cfg["current-context"] = value;
  return toYaml(cfg);
};
/**
 * Each value, as kubectl writes it, byte for byte. Not given to kubectl: a NUL (no argument can hold one) and the
 * empty string (`config set` refuses it; the empty document below is kubectl's own, with `current-context: ""`).
 */
const sameAsKubectl = (s: string) => {
  if (s === "" || s.includes("\0")) return;
  // Where kubectl cannot keep the value, each case with kubectl's own outcome (it writes through JSON, then reads that
  // back as YAML): DEL and the C1 controls it refuses; NEL, a line break to its YAML reader, it turns into a space.
  // dk-bootstrap escapes them, and reads them back the same (the tests below).
  if (/[\x7f\x80-\x84\x86-\x9f]/.test(s)) {
    const file = join(work, `config-${files++}`);
    const r = run(peer("kubectl"), ["config", "set", "--kubeconfig", file, "--", "current-context", s]);
    expect([r.status, r.stderr]).toEqual([1, "error: yaml: control characters are not allowed\n"]);
    return;
  }
  if (s.includes("\x85")) return void expect(kubectlWrites(s)).toBe(oursFor(s.replaceAll("\x85", " ")));
  expect(oursFor(s)).toBe(kubectlWrites(s));
};

describe("kubectl's quoting (go-yaml v2), compared with what the installed kubectl writes", () => {
  it.each(["y", "yes", "on", "true", "null", "~", "123", "1.0", "0755", "", "012345", "1_000", "1e3", "+1", ".5", "Off"])(
    "double-quotes %j, which YAML 1.1 reads as something else",
    (s) => {
      expect(quoteString(s)).toBe(JSON.stringify(s));
      sameAsKubectl(s);
    },
  );
  it.each(["0x1F", "0o17", "0b101", "1e3", "+1", "1_000", "Yes", "NULL", "2024-01-02"])(
    "double-quotes %j, all base64 characters (the plain check's fast path) but read as something else",
    (s) => {
      expect(quoteString(s)).toBe(JSON.stringify(s));
      sameAsKubectl(s);
    },
  );
  it.each(["=", "+/=", "QUJD", "LS0tLS1CRUdJTi==", "1x"])("leaves %j, all base64 characters, plain", (s) => {
    expect(quoteString(s)).toBe(s);
    sameAsKubectl(s);
  });
  it.each(["#hash", "*star", "@odd", "p@ss: word", "&anchor", "!tag", "- dash", "a #b"])("single-quotes %j, which starts or holds an indicator", (s) => {
    expect(quoteString(s)).toBe(`'${s}'`);
    sameAsKubectl(s);
  });
  it.each(["kubernetes-admin@kubernetes", "arn:aws:eks:eu-west-1:1:cluster/prod", "ctx:1", "with space", "https://127.0.0.1:6443", "system:node:kubernetes"])(
    "leaves %j plain",
    (s) => {
      expect(quoteString(s)).toBe(s);
      sameAsKubectl(s);
    },
  );
});

describe("double quotes, as libyaml writes them", () => {
  it.each([
    ["a\x7fb", '"a\\x7Fb"'],
    ["\x9b[0m", '"\\x9B[0m"'],
    ["\x1b[0m", '"\\e[0m"'],
    ["\0 \x07 \v", '"\\0 \\a \\v"'],
    ["a\x85b", '"a\\Nb"'],
    ["a\u2028b\u2029\x7f", '"a\\Lb\\P\\x7F"'],
    ["x\ufeff", '"x\\uFEFF"'],
    ["\ufeffx y", '"\\uFEFF\\x78\\x20\\x79"'],
    ["ok 😀", '"ok \\U0001F600"'],
    ['"q" \\ \t', '"\\"q\\" \\\\ \\t"'],
  ])("writes %j as %s, as kubectl does, which reads back the same", (s, written) => {
    expect(quoteString(s)).toBe(written);
    sameAsKubectl(s);
    const cfg = emptyConfig();
    cfg["current-context"] = s;
    expect(parseKubeconfig(toYaml(cfg), "config")["current-context"]).toBe(s);
  });
});

describe("libyaml's spaces at the ends (not JavaScript's \\s)", () => {
  it.each(["x\u00a0", "\u00a0x", "é\u00a0x", "\u3000x"])("leaves %j plain, as kubectl does", (s) => {
    expect(quoteString(s)).toBe(s);
    sameAsKubectl(s);
  });
});

describe("multi-line text, as libyaml writes a literal block", () => {
  it.each([
    ["a\nb", "|-\n  a\n  b"],
    ["a\n", "|\n  a"],
    ["  a\nb", "|2-\n    a\n  b"],
    ["\na", "|2-\n\n  a"],
    ["a\n\n", "|+\n  a\n"],
    ["\n", "|2+\n"],
    ["a \nb", '"a \\nb"'],
    ["a\nb ", '"a\\nb "'],
  ])("writes %j as %j, as kubectl does, which reads back the same", (s, written) => {
    expect(quoteString(s, 2)).toBe(written);
    sameAsKubectl(s);
    const cfg = emptyConfig();
    cfg["current-context"] = s;
    expect(parseKubeconfig(toYaml(cfg), "config")["current-context"]).toBe(s);
  });
});

describe("the kubeconfig document", () => {
  it("writes an empty config as kubectl does", () => {
    expect(toYaml(emptyConfig())).toBe('apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n');
    // kubectl's own: a file whose only setting is unset again.
    const file = join(work, "emptied");
    expect(run(peer("kubectl"), ["config", "set", "--kubeconfig", file, "current-context", "x"]).status).toBe(0);
    expect(run(peer("kubectl"), ["config", "unset", "--kubeconfig", file, "current-context"]).status).toBe(0);
    expect(toYaml(emptyConfig())).toBe(readFileSync(file, "utf8"));
  });

  it("sorts entries by name and keys alphabetically, and round-trips", () => {
    const cfg = emptyConfig();
    putEntry(cfg, "clusters", { name: "b", cluster: { server: "https://b" } });
    putEntry(cfg, "clusters", { name: "a", cluster: { server: "https://a", "insecure-skip-tls-verify": true } });
    const text = toYaml(cfg);
    expect(text).toContain(
      "clusters:\n- cluster:\n    insecure-skip-tls-verify: true\n    server: https://a\n  name: a\n- cluster:\n    server: https://b\n  name: b\n",
    );
    expect(toYaml(parseKubeconfig(text, "x"))).toBe(text);
  });

  it("reads characters beyond the Basic Multilingual Plane, as kubectl does, and still refuses control characters", () => {
    const text = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://a\n  name: team-\u{1F600}\nkind: Config\n";
    expect(parseKubeconfig(text, "x").clusters?.[0]?.name).toBe("team-\u{1F600}");
    expect(() => parseKubeconfig(text.replace("team-", "team-\u0085\u0007"), "x")).toThrow(/control characters are not allowed/);
  });

  it("keeps extensions it does not know", () => {
    const text =
      'apiVersion: v1\nclusters:\n- cluster:\n    extensions:\n    - extension:\n        nested:\n          deep: 1\n      name: ext\n    server: https://a\n  name: a\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n';
    expect(toYaml(parseKubeconfig(text, "x"))).toBe(text);
  });
});

describe("merging into a user's kubeconfig", () => {
  it("renames clashing entries, follows them in contexts, and adds nothing the second time", async () => {
    const { mergeConfigs, setCluster, setContext, setCredentials } = await import("../src/index.js");
    const mine = emptyConfig();
    setCluster(mine, "prod", { server: "https://prod" });
    const theirs = emptyConfig();
    setCluster(theirs, "prod", { server: "https://lab" });
    setCredentials(theirs, "admin", { token: "t" });
    setContext(theirs, "admin@prod", { cluster: "prod", user: "admin" });
    theirs["current-context"] = "admin@prod";
    const first = mergeConfigs(mine, theirs);
    expect(first.renamed).toEqual([{ section: "clusters", from: "prod", to: "prod-2" }]);
    expect(first.config.contexts?.[0]?.context.cluster).toBe("prod-2");
    // Mine had no current context: the merged one becomes it (issue 21), as kind and k3d leave you ready.
    expect(first.config["current-context"]).toBe("admin@prod");
    const second = mergeConfigs({ ...first.config, "current-context": "mine" }, theirs);
    expect(second.added).toEqual([]);
    expect(second.config["current-context"]).toBe("mine");
    const third = mergeConfigs(second.config, theirs, { setCurrent: true });
    expect(third.config["current-context"]).toBe("admin@prod");
    expect(toYaml(third.config)).toBe(toYaml(first.config));
  });
});
