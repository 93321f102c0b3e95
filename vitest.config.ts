import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
    // Sized for a loaded 2-core machine with another copy of the suite beside it: the slowest tests (npm pack,
    // etcd brought up over SSH and resumed, the guided run in tmux) take about a minute when the machine is idle.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // One file at a time: many files start real daemons and processes, sized for two cores. What another run on this
    // machine could meet is its own per run (ports, hosts, users, tmux servers), or taken in turn (test-support/machine.ts).
    fileParallelism: false,
  },
});
