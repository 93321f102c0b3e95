import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
    // Sized for a loaded 2-core machine with another copy of the suite beside it: the slowest tests (npm pack,
    // etcd brought up over SSH and resumed, the guided run in tmux) take about a minute when the machine is idle.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // The interop tests start real daemons on fixed loopback ports: one file at a time is simpler than port juggling.
    fileParallelism: false,
  },
});
