import { defineConfig } from "vitest/config";

/**
 * The files whose tests start test hosts (network namespaces with their own sshd, test-support/test-cluster.ts and
 * test-host.ts) and, on them, real etcd members or whole Kubernetes nodes: minutes each, mostly waiting on daemons.
 */
const HOSTS = [
  "packages/cli/test/apply-*.test.ts",
  "packages/cli/test/cluster-live.test.ts",
  "packages/cli/test/etcd-backup.test.ts",
  "packages/cli/test/node-lock.test.ts",
  "packages/cli/test/node.test.ts",
  "packages/cli/test/rotate-ca-etcd.test.ts",
  "packages/cli/test/rotate-ca-node.test.ts",
  "packages/cli/test/status-partial.test.ts",
  "packages/cli/test/trusted-ca.test.ts",
  "packages/cli/test/workshop.test.ts",
  "packages/orchestrator/test/ssh.test.ts",
  "packages/orchestrator/test/test-cluster.test.ts",
];

/**
 * The live cluster's lifecycle (renewal, two CA rotations, snapshot and restore on three controllers): over twenty
 * minutes alone, so a line of its own beside the test hosts' and the others'.
 */
const LIFECYCLE = ["packages/cli/test/cluster-lifecycle.test.ts"];

/**
 * A Kubernetes upgrade by one minor needs the table's second row built too (a cold build of its own, about 25
 * CPU-minutes): it runs with every row, DK_TEST_ALL_RELEASES=1 (README, Tests), in the lifecycle's line.
 */
const ALL_RELEASES_ONLY = ["packages/cli/test/cluster-upgrade.test.ts"];
const ALL_RELEASES = process.env.DK_TEST_ALL_RELEASES === "1";

export default defineConfig({
  test: {
    // Sized for a loaded 2-core machine with another copy of the suite beside it: the slowest tests (npm pack,
    // etcd brought up over SSH and resumed, the guided run in tmux) take about a minute when the machine is idle.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // Three lines of files, each one file at a time, run side by side by scripts/test.sh (one vitest per line: vitest
    // runs one config's projects one after the other): the test hosts' files (mostly waiting on daemons they start),
    // the live cluster's lifecycle, and all the others (mostly CPU: keys, peers' runs, the page's browser). Within a
    // line, files never meet; what the lines, or another run on this machine, could meet is its own per run (ports,
    // hosts, users, tmux servers), or taken in turn (test-support/machine.ts).
    projects: [
      { extends: true, test: { name: "hosts", include: HOSTS, fileParallelism: false } },
      { extends: true, test: { name: "lifecycle", include: ALL_RELEASES ? [...LIFECYCLE, ...ALL_RELEASES_ONLY] : LIFECYCLE, fileParallelism: false } },
      {
        extends: true,
        test: {
          name: "others",
          include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: [...HOSTS, ...LIFECYCLE, ...ALL_RELEASES_ONLY],
          fileParallelism: false,
        },
      },
    ],
  },
});
