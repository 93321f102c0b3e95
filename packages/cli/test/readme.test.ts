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

describe("the READMEs' TypeScript", () => {
  it("every package README has a TypeScript example, and the root README its library section", () => {
    for (const r of READMES.filter((r) => r !== "packages/cli/README.md"))
      expect(snippets.filter((s) => s.name.startsWith(`${r}#`)).length, r).toBeGreaterThan(0);
  });

  it("every ```ts block compiles under strict against the built packages", () => {
    const errors = typecheck(Object.fromEntries(snippets.map((s) => [fileOf(s.name, "ts"), s.code])));
    expect(errors).toEqual([]);
  });

  it("every ```ts block runs as written, each in an empty folder of its own", () => {
    for (const s of snippets) {
      const dir = tempDir("dk-readme-");
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
      writeFileSync(join(dir, "package.json"), '{ "private": true, "type": "module" }\n');
      mkdirSync(join(dir, "tmp"));
      const js = ts.transpileModule(s.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(join(dir, "snippet.mjs"), js);
      // TMPDIR: a snippet's os.tmpdir() is this test's own.
      const r = run(process.execPath, ["snippet.mjs"], { cwd: dir, env: { ...process.env, TMPDIR: join(dir, "tmp") } });
      expect(r.status, `${s.name}:\n${r.stderr}`).toBe(0);
    }
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

  it("the intro says what is there, and what npx costs per call", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const intro = readme.slice(0, readme.indexOf("## What works today"));
    expect(intro).not.toMatch(/coming/i);
    expect(intro).toContain("node_modules/.bin/dk-bootstrap");
    expect(intro).toMatch(/npx dk-bootstrap[^.]*about a second/);
  });
});
