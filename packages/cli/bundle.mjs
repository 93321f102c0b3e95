// The CLI ships as one CommonJS file, bundle/main.cjs (esbuild). One file rather than ~260 modules, most of
// them CommonJS that Node would resolve and lex one by one; CommonJS rather than ESM because only a classic
// script can be compiled with a V8 code cache on Node 20 (bin.cjs keeps one per command; Node's own compile
// cache, module.enableCompileCache(), is 22.1+). Command groups stay lazy: esbuild turns each dynamic
// import() into a call that evaluates the group's modules when the command runs. See `npm run bench:startup`.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { build } from "esbuild";

// @peculiar/x509 and its ASN.1 stack take ~10 ms to initialize (schemas registered through decorators), and a `certs`
// that only issues never uses them: certificates are written as DER by hand (pki's certificate-der.ts), and parsed
// only when read. In the bundle, pki's x509.ts is replaced by this module, which loads the library on first use;
// esbuild turns each require() below into a call that evaluates the bundled module then. pki keeps its own modules
// free of x509 values at load time (packages/cli/test/code-cache.test.ts checks that a `certs` never loads it).
const LAZY_X509 = `
let lib;
function load() {
  if (lib === undefined) {
    require("reflect-metadata");
    lib = require("@peculiar/x509");
    lib.cryptoProvider.set(globalThis.crypto);
  }
  return lib;
}
export const crypto = globalThis.crypto;
export const x509 = new Proxy({}, { get: (_, name) => load()[name], has: (_, name) => name in load() });
`;
const lazyX509 = {
  name: "lazy-x509",
  setup(b) {
    b.onLoad({ filter: /[\\/]pki[\\/]dist[\\/]x509\.js$/ }, (args) => ({ contents: LAZY_X509, loader: "js", resolveDir: dirname(args.path) }));
  },
};

const { outputFiles } = await build({
  entryPoints: ["dist/main.js"],
  outfile: "bundle/main.cjs",
  write: false,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  // ssh2 loads its optional native addons with require() at run time.
  external: ["ssh2"],
  // The ES builds of packages that ship both (@peculiar/*, asn1js, tsyringe...): hoisted into one scope instead of
  // CommonJS wrappers, and what nothing imports is dropped (-170 KB; certs --key-algo ecdsa -25 ms of CPU).
  mainFields: ["module", "main"],
  // import() of a bundled module becomes a lazy call, not a module load (vm.Script has no module loader).
  supported: { "dynamic-import": false },
  // main.ts finds package.json from its own URL.
  define: { "import.meta.url": "__dkModuleUrl" },
  banner: { js: 'var __dkModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // The map carries its sources: the files it names are not in the package.
  sourcemap: "linked",
  sourcesContent: true,
  logLevel: "warning",
  plugins: [lazyX509],
});
const built = outputFiles.find((f) => f.path.endsWith("main.cjs"));
// ASCII only, so that bin.cjs reads it as latin1 into a one-byte string: with a single other character, V8 holds the
// whole source as two bytes a character and reading it costs twice as long (about 4 ms more at every start).
// esbuild escapes strings and identifiers but leaves comments and regular expressions as written; \uXXXX reads the
// same in both (a regular expression takes it for that character, with or without the u flag).
const ascii = built.text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
const main = { path: built.path, contents: ascii };
// The code cache's key: V8 checks a cache against the source's length only, so a rebuilt bundle of the same
// length would run the old bytecode. bin.cjs names its caches after this hash of the content.
const buildId = { path: join("bundle", "build-id"), contents: `${createHash("sha256").update(main.contents).digest("hex").slice(0, 16)}\n` };

// Others run the CLI while it is rebuilt (tests, benchmarks): each file is replaced by a rename, never missing, and
// main.cjs before build-id, so that a run never names a cache after the new build while compiling the old code.
mkdirSync("bundle", { recursive: true });
const files = [...outputFiles.filter((f) => f !== built), main, buildId];
for (const f of files) {
  const tmp = join("bundle", `.${basename(f.path)}.${process.pid}.tmp`);
  writeFileSync(tmp, f.contents);
  renameSync(tmp, join("bundle", basename(f.path)));
}
// Files of earlier builds (chunks of the ESM bundle) would otherwise be packed and published.
const keep = new Set(files.map((f) => basename(f.path)));
for (const f of readdirSync("bundle")) if (!keep.has(f) && !f.endsWith(".tmp")) rmSync(join("bundle", f), { recursive: true, force: true });
