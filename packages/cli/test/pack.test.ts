import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { run, tempDir } from "../../../test-support/peers.js";
import { USER_OPTIONS, typecheck } from "../../../test-support/typecheck.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
/** npm install from the registry: up to 5 minutes (peers.ts's run stops a command at 60 s; an install took 50 s on a busy machine). */
const npmInstall = (args: string[], cwd: string) =>
  spawnSync("npm", ["install", "--no-audit", "--no-fund", ...args], { cwd, encoding: "utf8", timeout: 300_000 });
const PACKAGES = ["packages/pki", "packages/kubeconfig", "packages/orchestrator", "packages/cli"];

describe("the published packages", () => {
  it("npm pack of each package installs in an empty folder, and the CLI and the libraries work from there", () => {
    const dir = tempDir("dk-pack-");
    const packs = join(dir, "packs");
    const app = join(dir, "app");
    mkdirSync(packs);
    mkdirSync(app);
    execFileSync("npm", ["pack", ...PACKAGES.flatMap((p) => ["-w", p]), "--pack-destination", packs], { cwd: ROOT, stdio: "ignore" });
    const tarballs = readdirSync(packs).filter((f) => f.endsWith(".tgz"));
    expect(tarballs.sort()).toEqual([
      "dk-bootstrap-0.1.0.tgz",
      "dk-bootstrap-kubeconfig-0.1.0.tgz",
      "dk-bootstrap-orchestrator-0.1.0.tgz",
      "dk-bootstrap-pki-0.1.0.tgz",
    ]);
    for (const t of tarballs) {
      const files = execFileSync("tar", ["-tzf", join(packs, t)])
        .toString()
        .trim()
        .split("\n");
      expect(
        files.filter((f) => /\/(src|test)\//.test(f)),
        t,
      ).toEqual([]);
      const unpacked = join(dir, "unpacked", t);
      mkdirSync(unpacked, { recursive: true });
      execFileSync("tar", ["-xzf", join(packs, t), "-C", unpacked]);
      const pkg = join(unpacked, "package");
      // A README with the package's API and a runnable example, shown by npm.
      expect(readFileSync(join(pkg, "README.md"), "utf8"), t).toMatch(/```(ts|sh)\n/);
      // Dependencies between the packages are version ranges a registry can resolve, not "*".
      const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
      for (const field of ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]) {
        for (const [name, range] of Object.entries<string>(manifest[field] ?? {})) expect(range, `${t} ${field}.${name}`).not.toMatch(/^(\*|latest|)$/);
      }
      // Every source map carries its sources (the files it names are not shipped), or there is none.
      for (const f of files.filter((f) => f.endsWith(".map"))) {
        const map = JSON.parse(readFileSync(join(unpacked, f), "utf8"));
        const missing = (map.sources as string[]).filter(
          (source, i) => typeof map.sourcesContent?.[i] !== "string" && !existsSync(join(unpacked, dirname(f), source)),
        );
        expect(missing, `${t}: ${f}`).toEqual([]);
      }
    }
    writeFileSync(join(app, "package.json"), '{ "name": "app", "private": true, "type": "module" }\n');
    const install = npmInstall(
      tarballs.map((t) => join(packs, t)),
      app,
    );
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);

    const help = run("npx", ["--no-install", "dk-bootstrap", "--help"], { cwd: app });
    expect(help.status, help.stderr).toBe(0);
    for (const command of ["certs", "kubeconfig", "ssh", "gencert"]) expect(help.stdout).toContain(command);
    const certs = run("npx", ["--no-install", "dk-bootstrap", "certs", "--key-algo", "ecdsa"], { cwd: app });
    expect(certs.status, certs.stderr).toBe(0);
    expect(existsSync(join(app, "cluster", "pki", "apiserver.crt"))).toBe(true);

    writeFileSync(
      join(app, "use.mjs"),
      `import { clusterSpec } from "@dk-bootstrap/pki";\nimport { toYaml, emptyConfig } from "@dk-bootstrap/kubeconfig";\nimport { quote } from "@dk-bootstrap/orchestrator";\nconsole.log(clusterSpec().nodeName, toYaml(emptyConfig()).split("\\n")[0], quote("a b"));\n`,
    );
    const lib = run(process.execPath, ["use.mjs"], { cwd: app });
    expect(lib.status, lib.stderr).toBe(0);
    expect(lib.stdout.trim()).toBe("kubernetes apiVersion: v1 'a b'");
    // What the pki README says: importing it adds reflect-metadata's functions to the global Reflect.
    writeFileSync(
      join(app, "reflect.mjs"),
      `const before = typeof Reflect.getMetadata;\nawait import("@dk-bootstrap/pki");\nconsole.log(before, typeof Reflect.getMetadata);\n`,
    );
    expect(run(process.execPath, ["reflect.mjs"], { cwd: app }).stdout.trim()).toBe("undefined function");
    // The packages' README examples compile under strict against the installed tarballs' own .d.ts files.
    const snippets = PACKAGES.filter((p) => p !== "packages/cli").flatMap((p) =>
      [...readFileSync(join(app, "node_modules", "@dk-bootstrap", p.replace("packages/", ""), "README.md"), "utf8").matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map(
        (m, i) => [`${p.replace("packages/", "")}-${i}.ts`, m[1]!],
      ),
    );
    expect(snippets.length).toBeGreaterThan(2);
    expect(typecheck(Object.fromEntries(snippets), app, { ...USER_OPTIONS, typeRoots: [join(ROOT, "node_modules", "@types")] })).toEqual([]);

    // The CLI is one bundle: alone, it brings only ssh2 (loaded as it is, for its native addons).
    const alone = join(dir, "alone");
    mkdirSync(alone);
    writeFileSync(join(alone, "package.json"), '{ "name": "alone", "private": true }\n');
    const cliOnly = npmInstall([join(packs, "dk-bootstrap-0.1.0.tgz")], alone);
    expect(cliOnly.status, cliOnly.stderr).toBe(0);
    expect(existsSync(join(alone, "node_modules", "@dk-bootstrap"))).toBe(false);
    expect(existsSync(join(alone, "node_modules", "ssh2"))).toBe(true);
    // README: "`npx dk-bootstrap` installs 9 packages instead of ~35": every package folder npm installed (`npm ls
    // --all`), the CLI alone against the four packages together (the libraries' dependencies, which the bundle holds).
    const installed = (folder: string) =>
      run("npm", ["ls", "--all", "--parseable"], { cwd: folder })
        .stdout.trim()
        .split("\n")
        .filter((l) => l.includes("node_modules")).length;
    console.log(`installed: the CLI alone ${installed(alone)} packages, the four packages ${installed(app)}`);
    expect(installed(alone)).toBe(9);
    expect(installed(app)).toBeGreaterThanOrEqual(30);
    expect(installed(app)).toBeLessThanOrEqual(40);
    const certsAlone = run("npx", ["--no-install", "dk-bootstrap", "certs", "--key-algo", "ecdsa"], { cwd: alone });
    expect(certsAlone.status, certsAlone.stderr).toBe(0);
    expect(existsSync(join(alone, "cluster", "admin.conf"))).toBe(true);
    // ssh2 is found and loaded: the failure is the closed port's, not a missing module's.
    const ssh = run("npx", ["--no-install", "dk-bootstrap", "ssh", "dk@127.0.0.1", "-p", "1"], { cwd: alone });
    expect(ssh.status).toBe(1);
    expect(ssh.stderr).toMatch(/^error: \[127\.0\.0\.1\]:1: connect ECONNREFUSED/m);
  }, 600_000);

  // Nothing is on the registry yet (issue 21): every install line of the READMEs names a checkout's folder or a
  // tarball made by npm pack, never a registry name that answers 404.
  it("the READMEs install from a checkout or a packed tarball, and `npm install -g ./packages/cli` works as written", () => {
    for (const readme of ["README.md", ...PACKAGES.map((p) => `${p}/README.md`)]) {
      const text = readFileSync(join(ROOT, readme), "utf8");
      // Each command up to its end: a backtick (in prose), `&&`, a comment or the line's end.
      for (const [command, rest] of text.matchAll(/npm install([^`#&\n]*)/g)) {
        const args = rest!.split(/\s+/).filter((a) => a !== "" && !a.startsWith("-"));
        for (const a of args) expect(a, `${readme}: ${command}`).toMatch(/^(\.{0,2}\/|\/)|\.tgz$/);
      }
    }
    const prefix = tempDir("dk-global-");
    const install = run("npm", ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", "./packages/cli"], { cwd: ROOT });
    expect(install.status, install.stderr).toBe(0);
    const cwd = tempDir();
    const certs = run(join(prefix, "bin", "dk-bootstrap"), ["certs", "--key-algo", "ecdsa"], { cwd });
    expect(certs.status, certs.stderr).toBe(0);
    expect(existsSync(join(cwd, "cluster", "pki", "ca.crt"))).toBe(true);
  });
});
