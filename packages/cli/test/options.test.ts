// Every option reaches the command that owns it, wherever it stands on the line, or is refused.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";

const HOUR = 3_600_000;

/** A usage error: exit 1 or 2, one `error:` line, maybe hints, no stack, nothing on stdout. */
function expectRefused(r: { status: number | null; stderr: string; stdout: string }, pattern: RegExp) {
  expect(r.status === 1 || r.status === 2, r.stderr).toBe(true);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.slice(1).every((l) => l.startsWith("hint: "))).toBe(true);
  expect(r.stdout).toBe("");
}

describe("certs subcommands: options before and after the arguments, or on `certs`", () => {
  const cwd = tempDir();
  const pki = join(cwd, "elsewhere", "pki");
  const cert = (name: string) => new X509Certificate(readFileSync(join(pki, `${name}.crt`)));
  beforeAll(() => {
    const r = dk(["certs", "--dir", "elsewhere", "--key-algo", "ecdsa"], { cwd });
    expect(r.status, r.stderr).toBe(0);
  });

  // `certs renew NAME` with --dir and --validity in every place a user may put them.
  const placements: [string, string[]][] = [
    ["after the argument", ["certs", "renew", "apiserver", "--dir", "elsewhere", "--validity", "48h"]],
    ["before the argument", ["certs", "renew", "--dir", "elsewhere", "--validity", "48h", "apiserver"]],
    ["on certs", ["certs", "--dir", "elsewhere", "--validity", "48h", "renew", "apiserver"]],
    ["split", ["certs", "--dir", "elsewhere", "renew", "apiserver", "--validity", "48h"]],
  ];
  it.each(placements)("renew takes --dir and --validity %s", (_, args) => {
    const before = cert("apiserver");
    const r = dk(args, { cwd });
    expect(r.status, r.stderr).toBe(0);
    const after = cert("apiserver");
    expect(after.serialNumber).not.toBe(before.serialNumber);
    const lifetime = Date.parse(after.validTo) - Date.now();
    expect(lifetime).toBeGreaterThan(47 * HOUR);
    expect(lifetime).toBeLessThan(49 * HOUR);
    expect(existsSync(join(cwd, "cluster")), "the default folder was touched").toBe(false);
  });

  it.each([
    ["after", ["certs", "check-expiration", "--dir", "elsewhere", "-o", "json"]],
    ["on certs", ["certs", "--dir", "elsewhere", "check-expiration", "-o", "json"]],
  ])("check-expiration reads the folder given %s", (_, args) => {
    const r = dk(args, { cwd });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { certificates: { name: string; missing?: boolean }[] };
    expect(report.certificates.find((c) => c.name === "apiserver")?.missing).toBeFalsy();
  });

  it("refuses an option of `certs` that its subcommand does not take", () => {
    expectRefused(
      dk(["certs", "--key-algo", "ecdsa", "renew", "all", "--dir", "elsewhere"], { cwd }),
      /--key-algo: is an option of `certs`, not of `certs renew`/,
    );
    expectRefused(dk(["certs", "renew", "all", "--dir", "elsewhere", "--key-algo", "ecdsa"], { cwd }), /unknown option '--key-algo'/);
  });

  it("refuses one option given twice with two values", () => {
    expectRefused(dk(["certs", "--dir", "elsewhere", "renew", "all", "--dir", "other"], { cwd }), /--dir: is given twice with different values/);
  });

  it("renew in a folder with no PKI fails and names it", () => {
    expectRefused(dk(["certs", "renew", "all", "--dir", "empty"], { cwd }), new RegExp(`${join(cwd, "empty")}(/pki)?: no `));
  });
});

describe("each command shows and takes only the flags it honours", () => {
  const flagsOf = (args: string[]) => {
    const r = dk([...args, "--help"]);
    expect(r.status, r.stderr).toBe(0);
    return new Set([...r.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!));
  };
  const PKI = ["--key-algo", "--key-size", "--key-format", "--validity", "--server", "--context-name", "--force"];
  const RUN = ["--from", "--until", "--step", "--merge-kubeconfig", "--dry-run"];
  it.each<[string[], string[], string[]]>([
    // explain reads the folder's saved settings (issue 21): it takes --dir.
    [["explain"], ["--node-name", "--k8s-version", "--remote-root", "--dir"], [...PKI, ...RUN, "--json", "--verbose", "--port"]],
    [
      ["status", "h"],
      ["--dir", "--port", "--remote-root", "--node-name"],
      [...PKI, ...RUN, "--json"],
    ],
    [
      ["logs", "h", "etcd"],
      ["--remote-root", "--port", "--follow", "--tail", "--file", "--dir"],
      [...PKI, ...RUN, "--json", "--node-name", "--k8s-version"],
    ],
    [
      ["reset", "h"],
      ["--remote-root", "--port", "--json", "--dir"],
      [...PKI, ...RUN],
    ],
    [
      ["bundle", "--out", "b"],
      ["--out", "--arches", "--k8s-version", "--mirror", "--from", "--until"],
      [...PKI, "--node-name", "--remote-root", "--upload", "--step", "--json"],
    ],
    [
      ["certs", "renew", "x"],
      ["--dir", "--validity"],
      ["--key-algo", "--node-name", "--force"],
    ],
    [["ssh", "h"], [...PKI, ...RUN, "--json", "--port"], []],
  ])("%j", (cmd, shown, hidden) => {
    const flags = flagsOf(cmd);
    for (const f of shown) expect(flags, f).toContain(f);
    for (const f of hidden) expect(flags, f).not.toContain(f);
    for (const f of hidden) {
      const r = dk([...cmd, f, "x"]);
      expect(r.status, `${cmd.join(" ")} ${f}`).not.toBe(0);
      expect(r.stderr, `${cmd.join(" ")} ${f}`).toMatch(/^error: (unknown option|too many arguments|--)/);
    }
  });

  it("refuses --dry-run with --json (the script is the output)", () => {
    expectRefused(dk(["ssh", "root@h", "--dry-run", "--json"]), /'--dry-run' cannot be used with option '--json'/);
  });
});

describe("the cfssl drop-ins' flags and arguments", () => {
  const cwd = tempDir();
  beforeAll(() => writeFileSync(join(cwd, "ca.json"), '{"CN":"ca","key":{"algo":"ecdsa","size":256}}'));
  const gencert = () => dk(["gencert", "-initca", "ca.json"], { cwd }).stdout;

  it("json -bare NAME -force, in the usage line's order, replaces the key", () => {
    expect(dk(["json", "-bare", "ca"], { cwd, input: gencert() }).status).toBe(0);
    const first = readFileSync(join(cwd, "ca-key.pem"), "utf8");
    expectRefused(dk(["json", "-bare", "ca"], { cwd, input: gencert() }), /ca-key.pem: private key exists/);
    const r = dk(["json", "-bare", "ca", "-force"], { cwd, input: gencert() });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(cwd, "ca-key.pem"), "utf8")).not.toBe(first);
  });

  it.each([
    [["json", "-bare", "ca", "extra"], /json: takes at most 1 argument \(got "extra"\)/],
    [["gencert", "-initca", "ca.json", "other.json"], /gencert: takes at most 1 argument \(got "other.json"\)/],
    [["certinfo", "-cert", "ca.pem", "x"], /certinfo: takes no arguments \(got "x"\)/],
    [["print-defaults", "csr", "config"], /print-defaults: takes at most 1 argument/],
  ])("refuses extra arguments: %j", (args, pattern) => {
    expectRefused(dk(args, { cwd, input: "{}" }), pattern);
  });
});
