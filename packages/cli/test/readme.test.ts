// The READMEs as a reader uses them: every TypeScript snippet compiles under `strict` and runs as written,
// and the shell examples run with the tools they name.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { CLI, run, tempDir } from "../../../test-support/peers.js";
import { typecheck } from "../../../test-support/typecheck.js";
import { SEED_ADMIN_CSR, SEED_CA_CONFIG, SEED_CA_CSR } from "./seed.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
/** The root README and each package's (the one its tarball carries). */
const READMES = ["README.md", "packages/pki/README.md", "packages/kubeconfig/README.md", "packages/orchestrator/README.md", "packages/cli/README.md"];

/** The fenced blocks of one language, each named `<readme>#<n>` (n from 1, in the file's order). */
function blocks(readme: string, lang: string): { name: string; code: string }[] {
  if (!existsSync(join(ROOT, readme))) return [];
  const text = readFileSync(join(ROOT, readme), "utf8");
  return [...text.matchAll(new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```$", "gm"))].map((m, i) => ({ name: `${readme}#${i + 1}`, code: m[1]! }));
}

const snippets = READMES.flatMap((r) => blocks(r, "ts"));
/** A snippet as a file of its own: `README.md#2` is `readme-snippets/README.md-2.ts`. */
const fileOf = (name: string, ext: string) => `readme-snippets/${name.replace(/[/#]/g, "-")}.${ext}`;

/** What a `console.log(X); // ...` line of a README snippet announces, as a check of what it printed. */
const ANNOUNCED: Record<string, (out: string) => boolean> = {
  '[{ name: "ca", action: "made" }, ...]': (o) => o.replace(/\s+/g, " ").startsWith("[ { name: 'ca', action: 'made' },"),
  "[] when usable": (o) => o === "[]",
  "what kubectl would write; @kubernetes/client-node: new KubeConfig().loadFromString(...)": (o) => o.startsWith("apiVersion: v1\nclusters:\n"),
  '"600 pki/ca.key", "644 pki/ca.crt", ..., "600 admin.conf"': (o) => {
    const at = ["'600 pki/ca.key'", "'644 pki/ca.crt'", "'600 admin.conf'"].map((x) => o.indexOf(x));
    return at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!));
  },
  true: (o) => o === "true",
  "[] when the chain holds, as Go's crypto/x509 checks it": (o) => o === "[]",
  'SEC1 "EC PRIVATE KEY", as kubeadm and cfssl write it; "pkcs8" on request': (o) => o.startsWith("-----BEGIN EC PRIVATE KEY-----\n"),
  "ci@lab, read back as kubectl's loader reads it": (o) => o === "ci@lab",
  "problems a client would hit (references, files, certificates); [] when none": (o) => o === "[]",
  "etcd kube-apiserver rbac ... coredns web": (o) => o.startsWith("etcd kube-apiserver rbac ") && o.endsWith(" coredns web"),
};
/** Comments on such lines that say what the output means, not what it is. */
const PROSE = ["why etcd is needed, and the exact commands of its step", "a second run skips it"];

describe("the READMEs' TypeScript", () => {
  it("every package README has a TypeScript example, and the root README its library section", () => {
    for (const r of READMES.filter((r) => r !== "packages/cli/README.md"))
      expect(snippets.filter((s) => s.name.startsWith(`${r}#`)).length, r).toBeGreaterThan(0);
  });

  it("every ```ts block compiles under strict against the built packages", () => {
    const errors = typecheck(Object.fromEntries(snippets.map((s) => [fileOf(s.name, "ts"), s.code])));
    expect(errors).toEqual([]);
  });

  it("every ```ts block runs as written, each in an empty folder of its own, and prints what its comments announce", () => {
    const seen: string[] = [];
    for (const s of snippets) {
      const dir = tempDir("dk-readme-");
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
      writeFileSync(join(dir, "package.json"), '{ "private": true, "type": "module" }\n');
      mkdirSync(join(dir, "tmp"));
      // `console.log(X); // what it prints`: the line also records what it printed, beside its comment.
      const announced = join(dir, "announced.jsonl");
      const code = s.code.replace(
        /^(\s*)console\.log\((.*)\);\s*\/\/\s*(.+)$/gm,
        (_, indent: string, args: string, comment: string) => `${indent}__announce(${JSON.stringify(comment)}, ${args});`,
      );
      const prelude = `import { format as __format } from "node:util";\nimport { appendFileSync as __append } from "node:fs";\nconst __announce = (comment, ...args) => { const out = __format(...args); __append(${JSON.stringify(announced)}, JSON.stringify({ comment, out }) + "\\n"); console.log(out); };\n`;
      const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(join(dir, "snippet.mjs"), prelude + js);
      // TMPDIR: a snippet's os.tmpdir() is this test's own.
      const r = run(process.execPath, ["snippet.mjs"], { cwd: dir, env: { ...process.env, TMPDIR: join(dir, "tmp") } });
      expect(r.status, `${s.name}:\n${r.stderr}`).toBe(0);
      const lines = existsSync(announced) ? readFileSync(announced, "utf8").trim().split("\n") : [];
      for (const { comment, out } of lines.map((l) => JSON.parse(l) as { comment: string; out: string })) {
        seen.push(comment);
        const check = ANNOUNCED[comment];
        if (PROSE.includes(comment)) continue;
        expect(check, `${s.name}: no check for the comment "${comment}" (add it to ANNOUNCED, or to PROSE if it announces no output)`).toBeDefined();
        expect(check!(out), `${s.name}: "${comment}", printed:\n${out}`).toBe(true);
      }
    }
    // Every announcement met a line that ran.
    expect([...new Set(seen)].sort()).toEqual([...Object.keys(ANNOUNCED), ...PROSE].sort());
  });
});

describe("the README's shell examples", () => {
  it("the workshop's cfssl commands run with dk-bootstrap alone, in place of cfssl and cfssljson", () => {
    const block = blocks("README.md", "sh").find((b) => b.code.includes("gencert -initca"));
    expect(block).toBeDefined();
    const dir = tempDir();
    writeFileSync(join(dir, "ca-csr.json"), SEED_CA_CSR);
    writeFileSync(join(dir, "admin-csr.json"), SEED_ADMIN_CSR);
    writeFileSync(join(dir, "ca-config.json"), SEED_CA_CONFIG);
    // A PATH with dk-bootstrap and nothing else: neither cfssl nor cfssljson can be reached.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "dk-bootstrap"), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`, { mode: 0o755 });
    const r = run("/bin/bash", ["--norc", "--noprofile", "-e", "-o", "pipefail", "-c", block!.code], { cwd: dir, env: { PATH: bin } });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ["ca.pem", "ca-key.pem", "ca.csr", "admin.pem", "admin-key.pem", "admin.csr"])
      expect(readFileSync(join(dir, f), "utf8"), f).toContain("-----BEGIN");
  });

  it("the workshop's kubeconfig commands run as written in an empty folder, and check-expiration reads that folder", () => {
    const block = blocks("README.md", "sh").find((b) => b.code.includes("kubeconfig set-cluster"));
    expect(block).toBeDefined();
    const dir = tempDir();
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "dk-bootstrap"), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`, { mode: 0o755 });
    const r = run("/bin/bash", ["--norc", "--noprofile", "-e", "-o", "pipefail", "-c", block!.code], { cwd: dir, env: { PATH: bin } });
    expect(r.status, r.stderr).toBe(0);
    const conf = readFileSync(join(dir, "cluster", "admin.conf"), "utf8");
    expect(conf).toContain(`certificate-authority-data: ${readFileSync(join(dir, "cluster", "certs", "ca.pem")).toString("base64")}`);
    expect(conf).toContain("current-context: admin");
    const expiry = run(process.execPath, [CLI, "certs", "check-expiration"], { cwd: dir });
    expect(expiry.status, expiry.stderr).toBe(0);
    expect(expiry.stdout).toMatch(/^admin +\w{3} \d\d, \d{4} .* ca +no/m);
    expect(expiry.stdout).toMatch(/^ca +\w{3} \d\d, \d{4} /m);
  });

  it("the CLI package's example runs offline in an empty folder, as written", () => {
    const block = blocks("packages/cli/README.md", "sh").find((b) => b.code.includes("dk-bootstrap certs"));
    expect(block).toBeDefined();
    const dir = tempDir();
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "dk-bootstrap"), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`, { mode: 0o755 });
    const r = run("/bin/bash", ["--norc", "--noprofile", "-e", "-o", "pipefail", "-c", block!.code], { cwd: dir, env: { PATH: bin } });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "cluster", "admin.conf"), "utf8")).toContain("client-certificate-data:");
    expect(readFileSync(join(dir, "ca.pem"), "utf8")).toContain("-----BEGIN CERTIFICATE-----");
    expect(r.stdout).toMatch(/CERTIFICATE\s+EXPIRES/);
    expect(r.stdout).toContain("etcd");
  });

  // What npx costs is a speed figure: bench/startup.mjs measures it (npx against the linked bin); this checks the text.
  it("the intro says what is there, and what npx costs per call, naming the bench that measures it", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const intro = readme.slice(0, readme.indexOf("## What works today"));
    expect(intro).not.toMatch(/coming/i);
    expect(intro).toContain("node_modules/.bin/dk-bootstrap");
    expect(intro).toMatch(/npx dk-bootstrap[^.]*about a second/);
    expect(intro).toContain("`npm run bench:startup`");
  });
});
