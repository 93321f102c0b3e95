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
 * A Kubernetes upgrade by one minor needs the table's second row built too (a cold build of its own, about 25
 * CPU-minutes): it runs with every row, DK_TEST_ALL_RELEASES=1 (README, Tests), never in the others' line.
 */
const ALL_RELEASES_ONLY = ["packages/cli/test/cluster-upgrade.test.ts"];
const ALL_RELEASES = process.env.DK_TEST_ALL_RELEASES === "1";

export default defineConfig({
  test: {
    // Sized for a loaded 2-core machine with another copy of the suite beside it: the slowest tests (npm pack,
    // etcd brought up over SSH and resumed, the guided run in tmux) take about a minute when the machine is idle.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // Two lines of files, each one file at a time, run side by side by scripts/test.sh (one vitest per line: vitest runs
    // one config's projects one after the other): the test hosts' files (mostly waiting on daemons they start) and all
    // the others (mostly CPU: keys, peers' runs, the page's browser). Within a line, files never meet;
    // what the two lines, or another run on this machine, could meet is its own per run (ports, hosts, users, tmux
    // servers), or taken in turn (test-support/machine.ts).
    projects: [
      { extends: true, test: { name: "hosts", include: ALL_RELEASES ? [...HOSTS, ...ALL_RELEASES_ONLY] : HOSTS, fileParallelism: false } },
      {
        extends: true,
        test: {
          name: "others",
          include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: [...HOSTS, ...ALL_RELEASES_ONLY],
          fileParallelism: false,
        },
      },
    ],
  },
});
