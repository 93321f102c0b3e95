// The multi-host etcd tests' client loop (test-support/etcd-client-loop.ts): which failed attempts a client of several
// members makes again at once (those a member dropped as it stopped, from runs of the multi-host tests), which it never
// forgives (trust failures, and quorum loss), and the verdict it gives with the member sampler. That the loop and the
// sampler fail a roll that stops two members at once, on real members, is apply-etcd.test.ts's "deliberately broken
// rollout" test.
import { describe, expect, it } from "vitest";
import { type ClientLoopSeen, attemptVerdict, outage } from "../../../test-support/etcd-client-loop.js";
import type { MembersSeen } from "../../../test-support/etcd-sampler.js";

// etcdctl 3.4.23's stderr for the put, 8 ms after member 3 logged its stop signal (etcd 3.4.23, client TLS on).
const EMPTY_200 = [
  `{"level":"warn","ts":"2026-12-01T16:28:15.056Z","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-68b5d54e/10.215.43.2:2379","attempt":0,"error":"rpc error: code = Unknown desc = OK: HTTP status code 200; transport: missing content-type field"}`,
  "Error: rpc error: code = Unknown desc = OK: HTTP status code 200; transport: missing content-type field",
].join("\n");
// etcdctl 3.4.23's stderr for a get whose stream the stopping member ended.
const NO_TRAILERS = [
  `{"level":"warn","ts":"2026-12-01T17:09:24.983Z","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-27175150-3045-4452-88c9-e9584b3d725e/10.215.241.2:2379","attempt":0,"error":"rpc error: code = Internal desc = server closed the stream without sending trailers"}`,
  "Error: rpc error: code = Internal desc = server closed the stream without sending trailers",
].join("\n");
// etcdctl 3.4.23's stderr for a put whose proposal timed out while the leader stopped (apply-etcd.test.ts, an upgrade).
const LEADER_LOST = [
  `{"level":"warn","ts":"2026-12-01T20:09:08.684Z","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-184b0abd-3424-4465-bd84-5cb3da78581a/10.215.228.2:2379","attempt":0,"error":"rpc error: code = Unavailable desc = etcdserver: request timed out, possibly due to connection lost"}`,
  "Error: etcdserver: request timed out, possibly due to connection lost",
].join("\n");
const LEADER_CHANGED = "Error: etcdserver: leader changed";

describe("attemptVerdict", () => {
  it("makes again at once what a stopping member dropped", () => {
    for (const stderr of [EMPTY_200, NO_TRAILERS, "Error: rpc error: code = Unavailable desc = transport is closing", LEADER_CHANGED])
      expect(attemptVerdict(stderr), stderr).toBe("failover");
  });

  it("never forgives quorum loss: the leader reached no quorum since the request began", () => {
    expect(attemptVerdict(LEADER_LOST)).toBe("fail");
  });

  it("never forgives a certificate or trust failure, a timeout, or an error it does not know", () => {
    for (const stderr of [
      "Error: context deadline exceeded",
      'Error: rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: x509: certificate signed by unknown authority"',
      "Error: remote error: tls: bad certificate; connection reset by peer",
      "Error: etcdserver: request timed out",
      "Error: etcdserver: mvcc: database space exceeded",
    ])
      expect(attemptVerdict(stderr), stderr).toBe("fail");
  });
});

describe("outage", () => {
  const seen = (o: Partial<ClientLoopSeen> = {}): ClientLoopSeen => ({
    rounds: 40,
    requests: 80,
    failures: [],
    retried: [],
    ok: [],
    longestGapMs: 300,
    slowest: { ms: 40, what: "get" },
    ...o,
  });
  const members = (o: Partial<MembersSeen> = {}): MembersSeen => ({
    samples: 400,
    twoDown: 0,
    restarts: [1, 1, 1],
    downSamples: [3, 4, 3],
    down: [[], [], []],
    meanIntervalMs: 27,
    longestIntervalMs: 60,
    ...o,
  });

  it("is empty for a roll a client could not see", () => {
    expect(outage(seen(), members())).toEqual([]);
    expect(outage(seen({ retried: ["put", "get", "put"] }), members())).toEqual([]);
  });

  it("names each failed request, too many requests made again, a long gap, two members down at once, a loop that hardly ran", () => {
    expect(outage(seen({ failures: ["7: put /dk/counter 7: none served"] }), members())).toEqual(["failed request 7: put /dk/counter 7: none served"]);
    // At most one request made again per member restart the sampler saw, unless told otherwise.
    expect(outage(seen({ retried: ["a", "b", "c", "d"] }), members())).toEqual(["4 requests made again, more than 3: a; b; c; d"]);
    expect(outage(seen({ retried: ["a"] }), members({ restarts: [0, 0, 0] }))).toEqual(["1 requests made again, more than 0: a"]);
    expect(outage(seen({ retried: ["a", "b"] }), members({ restarts: [0, 0, 0] }), { retried: 2 })).toEqual([]);
    // A long gap is a measurement unless a bound is given (the tests' clock holds etcdctl's process starts too).
    expect(outage(seen({ longestGapMs: 7000 }), members())).toEqual([]);
    expect(outage(seen({ longestGapMs: 5000 }), members(), { gapMs: 5000 })).toEqual(["longest gap between successes 5000 ms, not under 5000 ms"]);
    expect(outage(seen(), members({ twoDown: 2 }))).toEqual(["2 of 400 samples found two or more members' etcd down at once"]);
    expect(outage(seen({ requests: 19 }), members())).toEqual(["only 19 requests: the loop hardly ran"]);
  });
});
