// The rooms of the repository stay apart (issue #21): no circle of imports inside any package, packages importing only
// downward, and in the CLI no command leaning on another command's file. Read from the sources themselves, so a new
// import that closes a circle fails here, naming it, before anyone has to untangle it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, findCycles, formatCycle, packageGraph, specifiers } from "../../../test-support/import-graph.js";

const PACKAGES = ["pki", "kubeconfig", "orchestrator", "web", "cli"] as const;

/**
 * Which workspace packages each may import: pki ← kubeconfig ← orchestrator ← cli, and the page (web) beside the CLI
 * on pki and kubeconfig alone (it runs in a browser: nothing of SSH or of the node's plan).
 */
const MAY_IMPORT: Record<(typeof PACKAGES)[number], readonly string[]> = {
  pki: [],
  kubeconfig: ["pki"],
  orchestrator: ["pki", "kubeconfig"],
  web: ["pki", "kubeconfig"],
  cli: ["pki", "kubeconfig", "orchestrator"],
};

/**
 * What a package's manifest may name beyond what its sources import: the CLI ships the page web builds (bundle/web.html,
 * copied by web's ship.mjs at build time), so it lists web as a build-time dependency without importing it.
 */
const BUILD_ONLY: Partial<Record<(typeof PACKAGES)[number], readonly string[]>> = { cli: ["web"] };

/**
 * The only files of another package a package reaches by path: the page checks its form with the CLI's own rules and
 * messages and formats the folder's cluster.yaml as the CLI does (packages/web/src/settings.ts). Everything these
 * files import in the CLI is checked below to stay on pki and kubeconfig and out of the commands.
 */
const REACHED_BY_PATH: Partial<Record<(typeof PACKAGES)[number], readonly string[]>> = {
  web: ["cli/src/spec-flags.ts", "cli/src/saved-settings.ts"],
};

const edgesOf = (graph: ReturnType<typeof packageGraph>) => new Map([...graph].map(([file, i]) => [file, i.local]));

describe("the cycle finder", () => {
  it("names a circle as the path that closes it", () => {
    const g = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
    ]);
    expect(findCycles(g).map(formatCycle)).toEqual(["a.ts → b.ts → c.ts → a.ts"]);
  });

  it("finds each separate circle once, a module importing itself too, and none in a tree with shared leaves", () => {
    const g = new Map([
      ["x.ts", ["y.ts", "leaf.ts"]],
      ["y.ts", ["x.ts", "leaf.ts"]],
      ["self.ts", ["self.ts"]],
      ["p.ts", ["q.ts"]],
      ["q.ts", ["r.ts"]],
      ["r.ts", ["p.ts"]],
      ["leaf.ts", []],
    ]);
    expect(findCycles(g).map(formatCycle)).toEqual(["p.ts → q.ts → r.ts → p.ts", "self.ts → self.ts", "x.ts → y.ts → x.ts"]);
    const tree = new Map([
      ["main.ts", ["a.ts", "b.ts"]],
      ["a.ts", ["shared.ts"]],
      ["b.ts", ["shared.ts", "a.ts"]],
      ["shared.ts", []],
    ]);
    expect(findCycles(tree)).toEqual([]);
  });

  it("gives the shortest circle through a tangle's first module, not a walk of the whole tangle", () => {
    const g = new Map([
      ["a.ts", ["b.ts", "c.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["d.ts", "a.ts"]],
      ["d.ts", ["b.ts"]],
    ]);
    expect(findCycles(g).map(formatCycle)).toEqual(["a.ts → c.ts → a.ts"]);
  });

  it("reads every form of import: static, re-export, type-only, side effect, dynamic", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "./b.js";',
      'export { c } from "./c.js";',
      'export * from "./d.js";',
      'import "./e.js";',
      'const f = async () => (await import("./f.js")).f;',
      'import { readFile } from "node:fs/promises";',
      '// import { g } from "./not-an-import.js";',
    ].join("\n");
    expect(specifiers(text).sort()).toEqual(["./a.js", "./b.js", "./c.js", "./d.js", "./e.js", "./f.js", "node:fs/promises"]);
  });
});

describe.each(PACKAGES)("packages/%s", (name) => {
  const graph = packageGraph(name);

  it("has no circle of imports", () => {
    expect(graph.size).toBeGreaterThan(0);
    expect(findCycles(edgesOf(graph)).map(formatCycle)).toEqual([]);
  });

  it("imports only the packages below it", () => {
    const imported = new Set([...graph.values()].flatMap((i) => i.packages));
    const upward = [...imported].filter((p) => !MAY_IMPORT[name].includes(p));
    expect(upward.map((p) => `${name} imports @dk-bootstrap/${p}`)).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(ROOT, "packages", name, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    const listed = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"].flatMap((k) =>
      Object.keys(manifest[k] ?? {}).filter((d) => d.startsWith("@dk-bootstrap/")),
    );
    const allowed = [...MAY_IMPORT[name], ...(BUILD_ONLY[name] ?? [])];
    expect(listed.filter((d) => !allowed.includes(d.split("/")[1]!)).map((d) => `${name}'s package.json lists ${d}`)).toEqual([]);
  });

  it("reaches no other package's files by path, beyond the ones named", () => {
    const reached = [...graph].flatMap(([file, i]) => i.outside.map((o) => `${file} → ${o}`));
    const allowed = REACHED_BY_PATH[name] ?? [];
    expect(reached.filter((r) => !allowed.some((a) => r.endsWith(` → ${a}`)))).toEqual([]);
  });
});

describe("the CLI's rooms", () => {
  const graph = packageGraph("cli");
  const registrars = [...graph.keys()].filter((f) => /^export function register\w*\(/m.test(readFileSync(join(ROOT, "packages/cli/src", f), "utf8")));

  it("a command group (a file that registers commands) is loaded by main.ts alone, never by another command", () => {
    expect(registrars).toEqual(expect.arrayContaining(["commands/certs.ts", "commands/node.ts", "commands/cluster.ts", "commands/inspect.ts"]));
    const leaning = [...graph].flatMap(([file, i]) => (file === "main.ts" ? [] : i.local.filter((t) => registrars.includes(t)).map((t) => `${file} → ${t}`)));
    expect(leaning).toEqual([]);
  });

  it("the shared modules import no command: what commands share sits below them", () => {
    const upward = [...graph].flatMap(([file, i]) =>
      file === "main.ts" || file.startsWith("commands/") ? [] : i.local.filter((t) => t.startsWith("commands/")).map((t) => `${file} → ${t}`),
    );
    expect(upward).toEqual([]);
  });

  it("the files the page reaches by path stay on pki and kubeconfig, away from the commands", () => {
    // Everything reachable from them inside the CLI goes into the page's bundle.
    const seen = new Set<string>();
    const walk = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const t of graph.get(f)?.local ?? []) walk(t);
    };
    for (const f of REACHED_BY_PATH.web!) walk(f.replace(/^cli\/src\//, ""));
    expect([...seen].filter((f) => f.startsWith("commands/"))).toEqual([]);
    expect([...seen].flatMap((f) => graph.get(f)!.packages.filter((p) => !MAY_IMPORT.web.includes(p)))).toEqual([]);
  });
});
