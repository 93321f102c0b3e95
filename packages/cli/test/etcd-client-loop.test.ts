// The multi-host etcd tests' client loop makes a request again only when etcd dropped it as a member stopped: what it
// takes for that, from a run of rotate-ca-etcd.test.ts where a put in flight on member 3 was cut by its SIGTERM.
import { describe, expect, it } from "vitest";
import { cutByShutdown } from "../../../test-support/etcd-client-loop.js";

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
// What member 3's log gained meanwhile (3.4's capnslog), and 3.5+'s zap line for the same signal.
const STOPPING_34 = [
  "2026-12-01 16:28:15.048217 N | pkg/osutil: received terminated signal, shutting down...",
  `WARNING: 2026/12/01 16:28:15 [core] grpc: Server.processUnaryRPC failed to write status: connection error: desc = "transport is closing"`,
].join("\n");
const STOPPING_35 = `{"level":"info","ts":"2026-12-01T16:28:15.048Z","caller":"osutil/interrupt_unix.go:64","msg":"received signal; shutting down","signal":"terminated"}`;
const RUNNING = '2026-12-01 16:28:13.988733 I | embed: rejected connection from "10.215.43.1:46636" (error "EOF", ServerName "")';

describe("cutByShutdown", () => {
  it("is a request etcd dropped while a member logged its stop signal", () => {
    expect(cutByShutdown(EMPTY_200, ["", RUNNING, STOPPING_34])).toBe(true);
    expect(cutByShutdown(EMPTY_200, [STOPPING_35])).toBe(true);
    expect(cutByShutdown("Error: rpc error: code = Unavailable desc = transport is closing", ["", STOPPING_34])).toBe(true);
    // A get of apply-etcd.test.ts's renewal loop, cut as its member stopped (CI, two suites side by side).
    expect(cutByShutdown(NO_TRAILERS, ["", STOPPING_34])).toBe(true);
    expect(cutByShutdown(NO_TRAILERS, ["", RUNNING])).toBe(false);
    expect(cutByShutdown(LEADER_LOST, ["", STOPPING_34, ""])).toBe(true);
    expect(cutByShutdown(LEADER_LOST, [RUNNING, ""])).toBe(false);
  });

  it("is not the same error while no member was stopping: that is a failure", () => {
    expect(cutByShutdown(EMPTY_200, ["", RUNNING, ""])).toBe(false);
    expect(cutByShutdown(EMPTY_200, [])).toBe(false);
  });

  it("is never a certificate or trust failure, even while a member stops", () => {
    for (const stderr of [
      "Error: context deadline exceeded",
      'Error: rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: x509: certificate signed by unknown authority"',
      "Error: remote error: tls: bad certificate; connection reset by peer",
      "Error: etcdserver: request timed out",
    ])
      expect(cutByShutdown(stderr, [STOPPING_34]), stderr).toBe(false);
  });
});
