import { defineConfig } from "vitest/config";

// Benchmarks that need the SSH test host run under vitest for its TypeScript loading; they print tables and
// assert only that the work was done, never how fast.
export default defineConfig({
  test: { include: ["bench/**/*.bench-run.ts"], testTimeout: 600_000, hookTimeout: 120_000, fileParallelism: false },
});
