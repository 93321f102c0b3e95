// The live-cluster tests' API client loop (test-support/api-client-loop.ts): how its summary judges reads. A read is
// stale when its resourceVersion is older than that of a write acknowledged before it (versions compared as integers,
// Kubernetes 1.35's KEP-5504), not when its counter is lower: an earlier write's attempt that timed out on one
// apiserver and was applied by it later stores an older number under a newer version (the loop saw one while a
// controller was cut off). That the loop runs against real apiservers is the cluster-live and lifecycle tests'.
import { describe, expect, it } from "vitest";
import { type LoopRequest, summarize, summaryLine } from "../../../test-support/api-client-loop.js";

const A = "https://10.0.0.2:6443";
const B = "https://10.0.0.3:6443";
let clock = 1_000;
const write = (value: number, rv: string | undefined, server = A): LoopRequest => ({
  kind: "write",
  start: (clock += 100),
  end: (clock += 10),
  ok: rv !== undefined,
  retries: rv === undefined ? [`${A}: no answer within 1000 ms`, `${B}: no answer within 1000 ms`] : [],
  value,
  ...(rv !== undefined ? { rv, server } : {}),
});
const read = (value: number, rv: string, server = B): LoopRequest => ({
  kind: "read",
  start: (clock += 5),
  end: (clock += 5),
  ok: true,
  retries: [],
  value,
  rv,
  server,
});

describe("summarize", () => {
  it("an older number under a newer resourceVersion (a timed-out attempt applied late) is not a stale read, and is counted apart", () => {
    const s = summarize([
      write(1, "900"),
      read(1, "900"),
      write(2, undefined),
      write(2, "905"),
      read(2, "905"),
      write(3, "910"),
      read(2, "912"),
      write(4, "915"),
      read(4, "915"),
    ]);
    expect(s.staleReads).toBe(0);
    expect(s.lateWritesSeen).toBe(1);
    expect(s.failed).toBe(1);
    expect(s.lastWritten).toBe(4);
    expect(summaryLine("x", s)).toContain("1 reads of an older number written again by a timed-out attempt applied late");
  });

  it("a read older than an acknowledged write's resourceVersion is stale, said with the write it missed", () => {
    const s = summarize([write(1, "900"), write(2, "905", A), read(1, "900", B), write(3, "910"), read(3, "910")]);
    expect(s.staleReads).toBe(1);
    expect(s.firstStaleReads).toHaveLength(1);
    expect(s.firstStaleReads[0]).toMatch(new RegExp(`from ${B}: 1 at resourceVersion 900, after 2 was written at resourceVersion 905 through ${A}`));
    expect(summaryLine("x", s)).toContain("1 stale reads");
  });

  it("compares resourceVersions as integers of any length, not as strings", () => {
    // As strings "99" > "100"; as integers 100 is the newer one. And beyond 2^53, where a Number would round.
    expect(summarize([write(1, "99"), write(2, "100"), read(2, "100")]).staleReads).toBe(0);
    expect(summarize([write(1, "100"), read(1, "99")]).staleReads).toBe(1);
    expect(summarize([write(1, "9007199254740993"), read(1, "9007199254740992")]).staleReads).toBe(1);
  });
});
