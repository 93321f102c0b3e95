// The import graph of the packages' sources, read from the files themselves: which module imports which (relative
// specifiers within a package) and which `@dk-bootstrap/*` package each package imports. The test beside the CLI
// (packages/cli/test/import-graph.test.ts) holds it to two rules: no circle of imports inside a package, and packages
// importing only downward (pki ← kubeconfig ← orchestrator ← cli; web beside the CLI, on pki and kubeconfig). A
// circle means two modules that can only be understood, tested and loaded together; they are one room, split badly.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

export const ROOT = resolve(import.meta.dirname, "..");

/**
 * A module's imports: `local` the src-relative paths of its relative imports inside its own package, `outside` the
 * relative imports that leave it (as `PACKAGE/src/PATH.ts`), `packages` the `@dk-bootstrap/*` packages it names.
 */
export interface ModuleImports {
  local: string[];
  outside: string[];
  packages: string[];
}

/**
 * The specifiers one source file imports: `import … from`, `export … from`, bare `import "x"`, `import("x")` and
 * `import type` alike. A type-only import ties two modules together for a reader as much as a value import does,
 * so it counts.
 */
export function specifiers(text: string): string[] {
  // preProcessFile is the compiler's own scanner for exactly this (no type-check, no resolution).
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** Every `.ts` file under `dir`, as paths relative to `dir` with forward slashes. */
function sources(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...sources(dir, rel));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(rel);
  }
  return out.sort();
}

/**
 * The graph of `packages/<name>/src`: each module (a path relative to src, e.g. `commands/node.ts`) to what it
 * imports. A relative specifier is written as the emitted `.js`; it maps back to the `.ts` beside it.
 */
export function packageGraph(name: string, root: string = ROOT): Map<string, ModuleImports> {
  const src = join(root, "packages", name, "src");
  const graph = new Map<string, ModuleImports>();
  for (const file of sources(src)) {
    const imports: ModuleImports = { local: [], outside: [], packages: [] };
    for (const spec of specifiers(readFileSync(join(src, file), "utf8"))) {
      if (spec.startsWith(".")) {
        const target = resolve(src, dirname(file), spec).replace(/\.js$/, ".ts");
        const inside = relative(src, target).replaceAll("\\", "/");
        // A path that leaves src is another package's file, reached around its package.json: named from packages/.
        const [list, name] = inside.startsWith("../")
          ? [imports.outside, relative(join(root, "packages"), target).replaceAll("\\", "/")]
          : [imports.local, inside];
        if (!list.includes(name)) list.push(name);
      } else if (spec.startsWith("@dk-bootstrap/")) {
        const pkg = spec.split("/")[1]!;
        if (!imports.packages.includes(pkg)) imports.packages.push(pkg);
      }
    }
    graph.set(file, imports);
  }
  return graph;
}

/**
 * The circles of a directed graph, each as the path that closes it (`a → b → a`), one per strongly connected group
 * of nodes (Tarjan's algorithm finds the groups; a breadth-first search inside each gives its shortest circle through
 * the group's first node, so the message names a short, readable loop). Self-imports count as circles too.
 */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      const selfLoop = group.length === 1 && (edges.get(v) ?? []).includes(v);
      if (group.length > 1 || selfLoop) groups.push(group.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return groups.sort((a, b) => a[0]!.localeCompare(b[0]!)).map((group) => shortestLoop(edges, group));
}

/** The shortest path from the group's first node back to itself, staying inside the group. */
function shortestLoop(edges: ReadonlyMap<string, readonly string[]>, group: string[]): string[] {
  const inGroup = new Set(group);
  const start = group[0]!;
  const came = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!inGroup.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = came.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!came.has(w)) {
        came.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...group, start]; // unreachable for a strongly connected group; kept so the message still names it
}

/** A circle as the test prints it: `a.ts → b.ts → a.ts`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(" → ");
}
