import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../test-support/peers.js";

const here = import.meta.dirname;
const example = (name: string, args: string[] = []) => run(process.execPath, [join(here, name), ...args], { cwd: here });

describe("the examples run as documented", () => {
  it("issue-certificate.mjs issues a certificate whose chain verifies", () => {
    const r = example("issue-certificate.mjs");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("issued web for web.example.com, 10.0.0.5 by my-ca");
    expect(r.stdout).toContain("chain problems: 0");
  });

  it("cluster-pki.mjs writes the PKI and the kubeconfigs, then keeps them", () => {
    const dir = tempDir();
    const first = example("cluster-pki.mjs", [dir]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^18 made, 0 kept/);
    expect(readdirSync(dir)).toContain("kubelet.conf");
    expect(readFileSync(join(dir, "admin.conf"), "utf8")).toContain("server: https://192.168.1.10:6443");
    expect(example("cluster-pki.mjs", [dir]).stdout).toMatch(/^0 made, 18 kept/);
  });

  it("kubeconfig.mjs prints a kubeconfig kubectl would write", () => {
    const r = example("kubeconfig.mjs");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("current-context: ci@lab\n");
    expect(r.stdout).toContain("    insecure-skip-tls-verify: true\n");
    // The same four edits made by kubectl on a file of its own: what it writes, byte for byte.
    const file = join(tempDir(), "config");
    const kubectl = (...args: string[]) => {
      const k = run(peer("kubectl"), ["config", ...args, "--kubeconfig", file]);
      expect(k.status, k.stderr).toBe(0);
    };
    kubectl("set-cluster", "lab", "--server=https://192.168.1.10:6443", "--insecure-skip-tls-verify=true");
    kubectl("set-credentials", "ci", "--token=not-a-real-token");
    kubectl("set-context", "ci@lab", "--cluster=lab", "--user=ci", "--namespace=default");
    kubectl("use-context", "ci@lab");
    expect(r.stdout).toBe(readFileSync(file, "utf8"));
  });
});

describe("the examples leave no trace", () => {
  it("run from examples/ with no arguments, as a reader would, they leave the working tree as it was", () => {
    const status = () => run("git", ["status", "--porcelain", "--untracked-files=all", "--", "."], { cwd: here }).stdout;
    const before = status();
    // TMPDIR: their temporary folders are this test's own.
    const env = { ...process.env, TMPDIR: tempDir() };
    const made = join(here, "cluster");
    const existed = existsSync(made);
    try {
      for (const name of ["issue-certificate.mjs", "cluster-pki.mjs", "kubeconfig.mjs", "custom-step.mjs"]) {
        const r = run(process.execPath, [join(here, name)], { cwd: here, env });
        expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      }
      expect(status()).toBe(before);
    } finally {
      if (!existed) rmSync(made, { recursive: true, force: true });
    }
  });
});

describe("the orchestrator example", () => {
  it("custom-step.mjs runs a step of its own, then skips it on a re-run", () => {
    const root = join(tempDir(), "node");
    const first = example("custom-step.mjs", ["--remote-root", root]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`written under ${root}`);
    expect(first.stdout).toMatch(/motd: done\nran 1, skipped 0/);
    expect(readFileSync(join(root, "etc", "dk-motd"), "utf8")).toBe("hello from dk-bootstrap\n");
    expect(example("custom-step.mjs", ["--remote-root", root]).stdout).toMatch(/motd: skipped\nran 0, skipped 1/);
  });
});
