// Habits from kubectl, helm, kind and git (issue 21): `version`, `completion bash|zsh|fish` (checked with the real
// shells), `certs help renew`, and `kubeconfig merge` setting the current context when the target has none.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";

describe("commands users expect", () => {
  it("version prints the version, as --version", () => {
    const r = dk(["version"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(dk(["--version"]).stdout);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("certs help renew shows renew's help", () => {
    const r = dk(["certs", "help", "renew"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: dk-bootstrap certs renew \[options\] <name>/);
  });
});

describe("completion", () => {
  const dir = tempDir();
  const script = (shell: string) => {
    const r = dk(["completion", shell]);
    expect(r.status, r.stderr).toBe(0);
    const file = join(dir, `c.${shell}`);
    writeFileSync(file, r.stdout);
    return file;
  };

  it("bash completes commands, subcommands and a subcommand's own options", () => {
    const file = script("bash");
    const complete = (words: string[]) =>
      run(peer("bash"), [
        "-c",
        `source ${file}; COMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _dk_bootstrap; echo "\${COMPREPLY[@]}"`,
      ]).stdout.trim();
    expect(complete(["dk-bootstrap", "ce"]).split(" ")).toEqual(["certs", "certinfo"]);
    expect(complete(["dk-bootstrap", "certs", "re"])).toBe("renew");
    expect(complete(["dk-bootstrap", "certs", "renew", "--v"])).toBe("--validity");
  });

  it("zsh reads the script and lists the same words", () => {
    const file = script("zsh");
    expect(run(peer("zsh"), ["-n", file]).status).toBe(0);
    const words = run(peer("zsh"), ["-c", `autoload -U compinit; compinit -u; source ${file}; _dk_bootstrap_words certs renew`])
      .stdout.trim()
      .split(" ");
    expect(words).toContain("--validity");
    expect(words).not.toContain("--key-algo");
  });

  it("fish completes with it", () => {
    const file = script("fish");
    expect(run(peer("fish"), ["-c", `source ${file}; complete -C "dk-bootstrap certs renew --v"`]).stdout.trim()).toBe("--validity");
  });

  it("refuses another shell in one line", () => {
    const r = dk(["completion", "tcsh"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('error: SHELL: must be bash, zsh or fish (got "tcsh")\n');
  });
});

describe("kubeconfig merge and the current context", () => {
  const cwd = tempDir();
  const kubectl = (file: string, args: string[]) => run(peer("kubectl"), ["--kubeconfig", file, "config", ...args]).stdout.trim();

  it("sets it when the target has none, and keeps one that is set, saying how to switch", () => {
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const mine = join(cwd, "mine.conf");
    run(peer("kubectl"), ["--kubeconfig", mine, "config", "set-cluster", "other", "--server=https://192.0.2.9:6443"]);
    const first = dk(["kubeconfig", "merge", "cluster/admin.conf", "--into", mine], { cwd });
    expect(first.status, first.stderr).toBe(0);
    expect(kubectl(mine, ["current-context"])).toBe("kubernetes-admin@demystifions-kubernetes");

    const theirs = join(cwd, "theirs.conf");
    run(peer("kubectl"), ["--kubeconfig", theirs, "config", "set-context", "mine", "--cluster=other", "--user=u"]);
    run(peer("kubectl"), ["--kubeconfig", theirs, "config", "use-context", "mine"]);
    const second = dk(["kubeconfig", "merge", "cluster/admin.conf", "--into", theirs], { cwd });
    expect(second.status, second.stderr).toBe(0);
    expect(kubectl(theirs, ["current-context"])).toBe("mine");
    expect(second.stdout).toContain("Switch to the merged cluster with: kubectl config use-context kubernetes-admin@demystifions-kubernetes");
  });
});
