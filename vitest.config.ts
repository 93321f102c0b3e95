import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The interop tests start real daemons on fixed loopback ports: one file at a time is simpler than port juggling.
    fileParallelism: false,
  },
});
