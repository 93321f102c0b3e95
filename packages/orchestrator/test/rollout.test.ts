// The rollout policies as data, and the one function that follows them: a running cluster's controllers one at a
// time and its workers in batches, each roll stopping at the first failure; a new cluster's hosts together.
import { describe, expect, it } from "vitest";
import { ROLLOUT_POLICIES, rollOut, rolloutPolicy } from "@dk-bootstrap/orchestrator";

const limits = { concurrency: 10, maxUnavailableWorkers: 1 };

/** Runs a roll over `hosts` where the hosts in `failing` throw; returns what started, in order, and the result. */
async function roll(hosts: string[], failing: string[], policy = rolloutPolicy("control plane", true, limits)) {
  const started: string[] = [];
  let running = 0;
  let most = 0;
  const result = await rollOut(hosts, policy, async (h) => {
    started.push(h);
    most = Math.max(most, ++running);
    // Let the others of a batch start before this one ends: what runs at once is what the policy allows.
    await new Promise((r) => setImmediate(r));
    running--;
    if (failing.includes(h)) throw new Error(`${h} is broken`);
  });
  return { started, most, result };
}

describe("rollout policies", () => {
  it("are data: a new cluster together, a running one one at a time and workers in batches, each stopping at a failure", () => {
    for (const phase of ["etcd", "control plane", "workers", "cluster-wide objects"] as const) {
      expect(ROLLOUT_POLICIES.new[phase](limits)).toEqual({ name: "together", batch: 10, stopAtFailure: false });
      expect(ROLLOUT_POLICIES.running[phase](limits)).toEqual({ name: "one at a time", batch: 1, stopAtFailure: true });
    }
    expect(rolloutPolicy("workers", true, { concurrency: 10, maxUnavailableWorkers: 3 })).toEqual({
      name: "in batches of 3",
      batch: 3,
      stopAtFailure: true,
    });
  });

  it("a running cluster's controllers: the first failure stops the roll, the controllers after it are not touched", async () => {
    const { started, most, result } = await roll(["cp1", "cp2", "cp3"], ["cp1"]);
    expect(started).toEqual(["cp1"]);
    expect(most).toBe(1);
    expect(result.failed.map((f) => [f.host, f.error.message])).toEqual([["cp1", "cp1 is broken"]]);
    expect(result.notTouched).toEqual(["cp2", "cp3"]);
    expect(result.done).toEqual([]);
  });

  it("a failure in the middle: those before it are done, those after it not touched", async () => {
    const { result } = await roll(["cp1", "cp2", "cp3"], ["cp2"]);
    expect(result.done).toEqual(["cp1"]);
    expect(result.failed.map((f) => f.host)).toEqual(["cp2"]);
    expect(result.notTouched).toEqual(["cp3"]);
  });

  it("workers in batches of 1: the roll stops after the failed worker", async () => {
    const { started, result } = await roll(["w1", "w2", "w3"], ["w1"], rolloutPolicy("workers", true, limits));
    expect(started).toEqual(["w1"]);
    expect(result.notTouched).toEqual(["w2", "w3"]);
  });

  it("workers in batches of 2: the failed batch finishes, the batches after it are not touched", async () => {
    const policy = rolloutPolicy("workers", true, { concurrency: 10, maxUnavailableWorkers: 2 });
    const { started, most, result } = await roll(["w1", "w2", "w3", "w4", "w5"], ["w3"], policy);
    expect(started).toEqual(["w1", "w2", "w3", "w4"]);
    expect(most).toBe(2);
    expect(result.done).toEqual(["w1", "w2", "w4"]);
    expect(result.failed.map((f) => f.host)).toEqual(["w3"]);
    expect(result.notTouched).toEqual(["w5"]);
  });

  it("a new cluster brings every host up together: a failed host stops only its own work", async () => {
    const { started, most, result } = await roll(["cp1", "cp2", "cp3"], ["cp1"], rolloutPolicy("etcd", false, limits));
    expect(started).toEqual(["cp1", "cp2", "cp3"]);
    expect(most).toBe(3);
    expect(result.done).toEqual(["cp2", "cp3"]);
    expect(result.notTouched).toEqual([]);
  });
});
