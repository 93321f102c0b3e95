// The part of vitest's API that the portable spec files use (describe, it, beforeAll, expect), for running the same
// files where vitest's Node runner doesn't go: a page in Chromium, Bun, Deno. `expect` is vitest's own (@vitest/expect
// on chai), so an assertion means the same everywhere. Bundled by test-support/portable-runner.ts, never run by vitest.
import { JestAsymmetricMatchers, JestChaiExpect, JestExtend, chai } from "@vitest/expect";

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type Body = () => unknown;

interface Scope {
  names: string[];
  beforeAll: Body[];
  ran: boolean;
  /** What a hook of this scope threw: every test of the scope fails with it, not only the first. */
  failed?: unknown;
  parent?: Scope;
}

interface Registered {
  name: string;
  body: Body;
  scope: Scope;
}

/** One test's outcome, as the runner reports it back to the Node side. */
export interface ShimResult {
  name: string;
  ok: boolean;
  error?: string;
}

const tests: Registered[] = [];
let current: Scope = { names: [], beforeAll: [], ran: false };

export const expect = ((value: unknown, message?: string) => chai.expect(value, message)) as unknown as typeof import("vitest").expect;

export function describe(name: string, body: () => void): void {
  const outer = current;
  current = { names: [...outer.names, name], beforeAll: [], ran: false, parent: outer };
  try {
    body();
  } finally {
    current = outer;
  }
}

export function it(name: string, body: Body): void {
  tests.push({ name: [...current.names, name].join(" > "), body, scope: current });
}
export const test = it;

export function beforeAll(body: Body): void {
  current.beforeAll.push(body);
}

async function enter(scope: Scope | undefined): Promise<void> {
  if (!scope) return;
  if (!scope.ran) {
    scope.ran = true;
    try {
      await enter(scope.parent);
      for (const hook of scope.beforeAll) await hook();
    } catch (e) {
      scope.failed = e;
    }
  }
  if (scope.ran && "failed" in scope) throw scope.failed;
}

/** Runs every registered test in order, one at a time, and says how each went (a failed hook fails its tests). */
export async function runRegistered(): Promise<ShimResult[]> {
  const results: ShimResult[] = [];
  for (const t of tests) {
    try {
      await enter(t.scope);
      await t.body();
      results.push({ name: t.name, ok: true });
    } catch (e) {
      results.push({ name: t.name, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e) });
    }
  }
  return results;
}
