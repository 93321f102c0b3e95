// The portable cores where Node's runner doesn't go: the same spec files (packages/*/test/portable/*.spec.ts) in
// Debian's Chromium, under Bun and under Deno; and what the page makes compared with what Node makes.
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { type ClusterFile, type ClusterSpec, clusterPkiFiles, clusterSpec, makeClusterPki, parseCertificate } from "@dk-bootstrap/pki";
import { type KubeconfigSpec, componentKubeconfigFiles } from "@dk-bootstrap/kubeconfig";
import { comparableCertificate, withoutEmbeddedData } from "../../../test-support/compare-pki.js";
import { run, tempDir } from "../../../test-support/peers.js";
import { PORTABLE_SPECS, bundleSpecs, pageWith, runInChromium, runUnder } from "../../../test-support/portable-runner.js";
import type { ShimResult } from "../../../test-support/vitest-shim.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");

/**
 * The tests the spec files hold, as vitest itself collects them on Node, by file: every packages/NAME/test/portable/*.spec.ts,
 * not only those the runner bundles, so a spec added there and not to the runner is a failure here, not a silence.
 */
function collectedSpecTests(): { file: string; name: string }[] {
  const dir = tempDir("dk-spec-list-");
  writeFileSync(join(dir, "vitest.config.mjs"), `export default { test: { include: ["packages/*/test/portable/*.spec.ts"] } };\n`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST")));
  const vitest = join(ROOT, "node_modules", "vitest", "vitest.mjs");
  const list = run(process.execPath, [vitest, "list", "--config", join(dir, "vitest.config.mjs"), "--root", ROOT, `--json=${join(dir, "list.json")}`], { env });
  expect(list.status, `vitest list: ${list.stdout}${list.stderr}`).toBe(0);
  const tests = JSON.parse(readFileSync(join(dir, "list.json"), "utf8")) as { file: string; name: string }[];
  return tests.map((t) => ({ file: relative(ROOT, t.file), name: t.name }));
}

let expected: string[];

/** Every test passed, and they are the tests the spec files hold, each run once (a spec that failed to load runs none). */
function expectAllPassed(results: ShimResult[]): void {
  expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  expect(results.map((r) => r.name).sort()).toEqual(expected);
}

describe("the portable specs in Chromium, Bun and Deno", () => {
  beforeAll(() => {
    const tests = collectedSpecTests();
    // Each spec file the runner bundles holds tests, and it bundles every spec file there is.
    expect([...new Set(tests.map((t) => t.file))].sort(), "the spec files with tests vs PORTABLE_SPECS (test-support/portable-runner.ts)").toEqual(
      [...PORTABLE_SPECS].sort(),
    );
    expected = tests.map((t) => t.name).sort();
  });

  it("Chromium (Debian's, driven by playwright-core)", async () => {
    expectAllPassed(await runInChromium(await bundleSpecs("iife")));
  });

  it("Bun (the npm package's binary)", async () => {
    expectAllPassed(runUnder("bun", await bundleSpecs("esm")));
  });

  it("Deno (the npm package's binary)", async () => {
    expectAllPassed(runUnder("deno", await bundleSpecs("esm")));
  });
});

describe("the page's PKI and Node's, for one spec", () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    ({ browser, page } = await pageWith(await bundleSpecs("iife", [])));
  });
  afterAll(() => browser?.close());

  const cases: [string, Partial<ClusterSpec>][] = [
    ["ECDSA P-256, IPv4 and IPv6 node IPs", { nodeName: "node-1", nodeIPs: ["192.168.1.10", "fd00::10"], key: { algo: "ecdsa" } }],
    [
      "RSA-2048, PKCS#8 keys, a custom domain and an IPv6 Service CIDR",
      { key: { algo: "rsa" }, keyFormat: "pkcs8", clusterDomain: "lab.example", serviceCidr: "fd00:10::/108" },
    ],
  ];
  for (const [name, partial] of cases) {
    it(`${name}: the same files, certificates that differ only in keys, serials and times`, async () => {
      const kc: KubeconfigSpec = { clusterName: "lab", server: "https://10.0.0.5:6443" };
      const inPage: ClusterFile[] = await page.evaluate(
        async ([partial, kc]) => {
          const { pki, kubeconfig } = (globalThis as any).dkCore;
          const made = await pki.makeClusterPki(pki.clusterSpec(partial));
          return [...pki.clusterPkiFiles(made), ...kubeconfig.componentKubeconfigFiles(made, kc)];
        },
        [partial, kc] as const,
      );
      const made = await makeClusterPki(clusterSpec(partial));
      const onNode = [...clusterPkiFiles(made), ...componentKubeconfigFiles(made, kc)];
      expect(inPage.map((f) => [f.path, f.mode])).toEqual(onNode.map((f) => [f.path, f.mode]));
      for (const [i, f] of onNode.entries()) {
        const theirs = inPage[i]!.content;
        if (f.path.endsWith(".crt")) {
          expect(await comparableCertificate(theirs, f.path)).toEqual(await comparableCertificate(f.content, f.path));
          expect(parseCertificate(theirs).serialNumber, f.path).not.toBe(parseCertificate(f.content).serialNumber);
        } else if (f.path.endsWith(".conf")) {
          expect(withoutEmbeddedData(theirs), f.path).toBe(withoutEmbeddedData(f.content));
        } else {
          // Keys: the same kind of PEM block, and never the same key.
          expect(theirs.split("\n")[0], f.path).toBe(f.content.split("\n")[0]);
          expect(theirs, f.path).not.toBe(f.content);
        }
      }
    });
  }
});
