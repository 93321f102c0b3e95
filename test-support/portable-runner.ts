// Runs the portable spec files (packages/*/test/portable/*.spec.ts) outside vitest's Node runner: bundled with
// esbuild against the packages' portable entries (no `node:` module can get in: the bundle is for a browser) and
// with test-support/vitest-shim.ts for `vitest`, then run in Debian's Chromium (driven by playwright-core, no browser
// download) or under Bun or Deno (their npm packages' binaries). The results come back as JSON, one per test.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, type Page, chromium } from "playwright-core";
import { peer, run, tempDir } from "./peers.js";
import type { ShimResult } from "./vitest-shim.js";

const ROOT = join(import.meta.dirname, "..");

/** The portable spec files, one source for Node (vitest), Chromium, Bun and Deno. */
export const PORTABLE_SPECS = ["packages/pki/test/portable/pki.spec.ts", "packages/kubeconfig/test/portable/kubeconfig.spec.ts"];

/**
 * One script holding the specs, the shim and the two portable cores: it sets `globalThis.dkCore` ({ pki, kubeconfig },
 * the packages as their browser condition gives them) and `globalThis.dkRun()` (runs the specs, resolves to the results).
 * `format` "iife" for a page (file:// pages can't load module scripts), "esm" for Bun and Deno (top-level await).
 */
export async function bundleSpecs(format: "iife" | "esm", specs = PORTABLE_SPECS): Promise<string> {
  const contents = [
    `import { runRegistered } from "./test-support/vitest-shim.ts";`,
    ...specs.map((s) => `import "./${s}";`),
    `import * as pki from "@dk-bootstrap/pki";`,
    `import * as kubeconfig from "@dk-bootstrap/kubeconfig";`,
    `globalThis.dkCore = { pki, kubeconfig };`,
    `globalThis.dkRun = runRegistered;`,
  ].join("\n");
  const out = await build({
    stdin: { contents, resolveDir: ROOT, loader: "ts", sourcefile: "portable-entry.ts" },
    bundle: true,
    write: false,
    platform: "browser",
    format,
    target: "es2022",
    alias: { vitest: join(ROOT, "test-support", "vitest-shim.ts") },
    // The spec files are imported for their side effects alone, in a package that says it has none (kubeconfig).
    ignoreAnnotations: true,
    logLevel: "silent",
  });
  return out.outputFiles[0]!.text;
}

/** Chromium's flags for tests: headless, no sandbox (root in a container), nothing fetched in the background. */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];

/** A page in Debian's Chromium running `script` from a file:// URL; fails (never skips) when chromium is missing. */
export async function pageWith(script: string): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await chromium.launch({ executablePath: peer("chromium"), args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const file = join(tempDir("dk-page-"), "index.html");
  writeFileSync(file, `<!doctype html><meta charset="utf-8"><title>portable tests</title><script>${script.replace(/<\/script/gi, "<\\/script")}</script>`);
  await page.goto(`file://${file}`);
  return { browser, page, errors };
}

/** Runs the bundled specs in a Chromium page. */
export async function runInChromium(script: string): Promise<ShimResult[]> {
  const { browser, page, errors } = await pageWith(script);
  try {
    const results = await page.evaluate(() => (globalThis as unknown as { dkRun: () => Promise<ShimResult[]> }).dkRun());
    if (errors.length > 0) throw new Error(`the page threw: ${errors.join("; ")}`);
    return results;
  } finally {
    await browser.close();
  }
}

/** The npm-installed binary of a runtime (root devDependencies `bun` and `deno`). */
export function runtimeBinary(name: "bun" | "deno"): string {
  return join(ROOT, "node_modules", ".bin", name);
}

/** Runs the bundled specs (format "esm") under Bun or Deno, Deno with no permission but reading the environment (the assertion library asks for FORCE_TTY). */
export function runUnder(runtime: "bun" | "deno", script: string): ShimResult[] {
  const file = join(tempDir(`dk-${runtime}-`), "portable.mjs");
  writeFileSync(file, `${script}\nconsole.log("DK-RESULTS " + JSON.stringify(await globalThis.dkRun()));\n`);
  const args = runtime === "deno" ? ["run", "--no-prompt", "--no-config", "--allow-env", file] : ["run", file];
  const r = run(runtimeBinary(runtime), args, { env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
  const line = r.stdout.split("\n").find((l) => l.startsWith("DK-RESULTS "));
  if (!line) throw new Error(`${runtime} ran no tests (exit ${r.status}): ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(line.slice("DK-RESULTS ".length)) as ShimResult[];
}
