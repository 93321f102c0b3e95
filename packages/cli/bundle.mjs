// The CLI ships as one ESM bundle: Node then reads a dozen files instead of ~260 modules, most of them
// CommonJS (@peculiar/x509's ASN.1 stack, tsyringe) that it would lex one by one. That is ~100 ms off
// every command (`npm run bench:startup`). The libraries ship as they are, for those who import them.
import { build } from "esbuild";

await build({
  entryPoints: ["dist/main.js"],
  outdir: "bundle",
  bundle: true,
  splitting: true, // command groups stay loaded on demand
  format: "esm",
  platform: "node",
  target: "node20",
  // ssh2 loads its optional native addons with require() at run time.
  external: ["ssh2"],
  // Bundled CommonJS asks for Node's built-ins with require(), which ESM doesn't have.
  banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
  sourcemap: "linked",
  sourcesContent: false,
  logLevel: "warning",
});
