// The CLI ships as one CommonJS file, bundle/main.cjs (esbuild). One file rather than ~260 modules, most of
// them CommonJS that Node would resolve and lex one by one; CommonJS rather than ESM because only a classic
// script can be compiled with a V8 code cache on Node 20 (bin.js keeps one per command; Node's own compile
// cache, module.enableCompileCache(), is 22.1+). Command groups stay lazy: esbuild turns each dynamic
// import() into a call that evaluates the group's modules when the command runs. See `npm run bench:startup`.
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

// Stale chunks of earlier builds would otherwise be packed and published.
rmSync("bundle", { recursive: true, force: true });
await build({
  entryPoints: ["dist/main.js"],
  outfile: "bundle/main.cjs",
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
});
// The code cache's key: V8 checks a cache against the source's length only, so a rebuilt bundle of the same
// length would run the old bytecode. bin.js names its caches after this hash of the content.
const hash = createHash("sha256").update(readFileSync("bundle/main.cjs")).digest("hex").slice(0, 16);
writeFileSync("bundle/build-id", `${hash}\n`);
