// Builds the page to one self-contained file, dist/dk-bootstrap.html: the script and the style inline, allowed
// by their hashes in a Content-Security-Policy that allows no connection, no frame and nothing from elsewhere, so
// the page works from file:// and can send nothing anywhere. esbuild bundles with the "browser" conditions: the
// packages' portable entries, no node: module (one would fail the build).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const { outputFiles } = await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  write: false,
  format: "iife",
  platform: "browser",
  conditions: ["browser"],
  target: ["chrome111", "firefox111", "safari16.4"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [settingsFileReader()],
});
// An inline script may not contain "</script": esbuild escapes it in strings; check rather than trust.
const script = outputFiles[0].text.trim();
if (/<\/script/i.test(script)) throw new Error("the bundle contains </script");
const style = readFileSync("src/style.css", "utf8").trim();
const hash = (text) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
const csp = [
  "default-src 'none'",
  `script-src ${hash(script)}`,
  `style-src ${hash(style)}`,
  "connect-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join("; ");
// The template's placeholders are replaced as they stand, the script and style exactly as hashed.
const html = readFileSync("src/page.html", "utf8")
  .replace("{{CSP}}", csp)
  .replace(/<style>\s*\/\* STYLE \*\/\s*<\/style>/, () => `<style>${style}</style>`)
  .replace(/<script>\s*\/\* SCRIPT \*\/\s*<\/script>/, () => `<script>${script}</script>`)
  .replace("{{FOLDER}}", '<script type="application/json" id="dk-folder"></script>');
if (/\/\* (STYLE|SCRIPT) \*\//.test(html)) throw new Error("src/page.html: a placeholder was not replaced");
mkdirSync("dist", { recursive: true });
writeFileSync("dist/.dk-bootstrap.html.tmp", html);
renameSync("dist/.dk-bootstrap.html.tmp", "dist/dk-bootstrap.html");

/**
 * The CLI's saved-settings.ts formats cluster.yaml (which the page uses) and reads it from disk (which the page
 * never calls): its node: imports resolve to an empty module, and only there; a node: import anywhere else
 * fails the build.
 */
function settingsFileReader() {
  return {
    name: "settings-file-reader",
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) =>
        args.importer.endsWith("/cli/src/saved-settings.ts") ? { path: args.path, namespace: "never-called" } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "never-called" }, () => ({ contents: "module.exports = {};", loader: "js" }));
    },
  };
}
