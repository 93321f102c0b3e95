// The client loop of the multi-host etcd tests (rolling renewal, upgrade, CA rotation): a client of the members as
// real ones are (etcdctl, given every member as its endpoints), which writes then reads a counter every 100 ms while
// the cluster is changed, and a verdict that cannot hide an outage.
import { performance } from "node:perf_hooks";
import { runAsync } from "./peers.js";
import type { MembersSeen } from "./etcd-sampler.js";

/** The files a client of the etcd CA holds: the CA bundle it trusts, its certificate and key. */
export interface EtcdClientFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * How long a request may take, from its first attempt, before it counts as failed whatever happens after: under
 * etcd's own request timeout (7 s: 5 s and two election timeouts), so a failure is this client's verdict and not
 * etcd's. It was 2 s: two
 * suites side by side on two cores (load 18) made etcd itself take longer than that to commit one put of 250 during a
 * CA rotation's member restarts (ci24b: one attempt, "etcdserver: request timed out" when etcdctl's 2 s ran out), with
 * every member up and never two down; no real client would have failed it. An outage still fails: without a quorum no
 * put is ever served.
 */
export const REQUEST_BOUND_MS = 5000;

/** What the loop saw. */
export interface ClientLoopSeen {
  /** Rounds made: a put of the round's number, then a get that must return it (or, after a failed put, the value before or any failed put's since). */
  rounds: number;
  /** Requests made (puts and gets), each counted once however many attempts it took. */
  requests: number;
  /** Requests that no member served within {@link REQUEST_BOUND_MS}, or that met an error no client retries: what the tests assert is empty. */
  failures: string[];
  /** Requests served after a first attempt a member dropped, made again at once: each with the errors of its dropped attempts. */
  retried: string[];
  /** When each request that succeeded ended (performance.now(), ms), in order. */
  ok: number[];
  /** The longest time between two successful requests, from the loop's start to its stop (ms; the ends count). */
  longestGapMs: number;
  /** The request that took longest from its first attempt to its end, by the test's clock (etcdctl's process start included). */
  slowest: { ms: number; what: string };
}

/**
 * What a request's failed attempt means to a client with several endpoints. `failover`: the member it reached dropped it
 * or could not be reached (it stops, restarts, or lost its leader for a moment), so a client makes it again at once,
 * through the members (the stopped one no longer accepts connections). `fail`: an error no client retries: a
 * certificate or trust failure, and `etcdserver: request timed out, possibly due to connection lost`
 * (ErrTimeoutDueToConnectionLost: the leader has not reached a quorum since the request began, or the member lost its
 * leader: what two members down at once gives), or anything not known to be a dropped request.
 *
 * With client TLS on, etcd ends its gRPC server at once on SIGTERM instead of draining it (embed/etcd.go
 * stopServers: no GracefulStop with TLS, etcd-io/etcd#8916), so an RPC it was serving is dropped: the client reads an
 * empty `200 OK` (grpc-go: "OK: HTTP status code 200; transport: missing content-type field"), that the server
 * "closed the stream without sending trailers", or that the connection went ("transport is closing", EOF, a reset).
 * A leader that hands its leadership over as it stops makes a request in flight answer "leader changed".
 */
export function attemptVerdict(stderr: string): "failover" | "fail" {
  if (/x509|certificate|handshake|tls:/i.test(stderr)) return "fail";
  if (/request timed out, possibly due to connection lost/.test(stderr)) return "fail";
  return DROPPED.test(stderr) ? "failover" : "fail";
}
const DROPPED =
  /HTTP status code 200; transport: missing content-type field|server closed the stream without sending trailers|transport is closing|error reading from server: EOF|connection reset by peer|connection refused|etcdserver: leader changed|etcdserver: no leader/;

/**
 * Every 100 ms a put of a counter then a get of it, through all `hosts` (`etcdctl`, the release's own under test
 * (test-support/mirror.ts etcdctlOf), with every member as an endpoint: its
 * balancer uses the members it can reach), as a client that reloads its files on each round (`files` gives them
 * afresh). A request a member dropped (see {@link attemptVerdict}) is made again at once, as a client of several
 * members does: the put is idempotent (the same value again) and the get is checked against it. A request fails when
 * no member served it within {@link REQUEST_BOUND_MS} of its first attempt (each attempt's etcdctl gets what is left
 * of it as its timeouts), or at its first error no client retries.
 */
export function etcdClientLoop(
  etcdctl: { path: string; env: NodeJS.ProcessEnv },
  hosts: readonly { ip: string }[],
  files: () => EtcdClientFiles | Promise<EtcdClientFiles>,
  afterRound: () => void | Promise<void> = () => undefined,
): { seen: ClientLoopSeen; stop: () => Promise<ClientLoopSeen> } {
  let stop = false;
  const seen: ClientLoopSeen = { rounds: 0, requests: 0, failures: [], retried: [], ok: [], longestGapMs: 0, slowest: { ms: 0, what: "" } };
  const endpoints = `--endpoints=${hosts.map((h) => `https://${h.ip}:2379`).join(",")}`;
  const started = performance.now();
  /** One request, made again at once while a member drops it, within the bound; what went wrong, or undefined. */
  const request = async (tls: EtcdClientFiles, args: string[], ok: (r: { status: number | null; stdout: string }) => boolean): Promise<string | undefined> => {
    seen.requests++;
    const t0 = performance.now();
    const dropped: string[] = [];
    let attempts = 0;
    for (;;) {
      const left = Math.floor(t0 + REQUEST_BOUND_MS - performance.now());
      const what = () => `${args.slice(0, 3).join(" ")}: ${attempts} attempt(s) in ${Math.round(performance.now() - t0)} ms: ${dropped.join(" / ")}`;
      if (left <= 0) return `${what()} (none served within ${REQUEST_BOUND_MS} ms)`;
      attempts++;
      const r = await runAsync(
        etcdctl.path,
        [endpoints, `--cacert=${tls.ca}`, `--cert=${tls.cert}`, `--key=${tls.key}`, `--dial-timeout=${left}ms`, `--command-timeout=${left}ms`, ...args],
        { env: etcdctl.env },
      );
      const took = performance.now() - t0;
      if (took > seen.slowest.ms) seen.slowest = { ms: took, what: what() };
      // Served within the bound as etcdctl's own clock measures it: it was given what was left of the bound as its dial
      // and command timeouts, and fails with "context deadline exceeded" past them. The test's stopwatch (`took`) is
      // only reported: it also counts etcdctl's process start and exit, which two suites on two cores stretched past
      // 2 s for a get etcd answered at once (ci17: one attempt, no error, 2206 ms).
      if (ok(r)) {
        if (dropped.length) seen.retried.push(what());
        return undefined;
      }
      const error = `exit ${r.status}, ${r.stdout.trim()} ${r.stderr.trim().split("\n").at(-1)}`.slice(0, 300);
      dropped.push(error);
      if (r.status === 0 || attemptVerdict(r.stderr) === "fail") return what();
    }
  };
  const done = (async () => {
    let last = started;
    const success = () => {
      const now = performance.now();
      seen.longestGapMs = Math.max(seen.longestGapMs, now - last);
      seen.ok.push(now);
      last = now;
    };
    // What a get may return: the last acknowledged put's value, or that of a failed put since (which may have been applied).
    let possible: string[] = [];
    while (!stop) {
      const value = String(++seen.rounds);
      const tls = await files();
      const put = await request(tls, ["put", "/dk/counter", value], (r) => r.status === 0);
      if (put) seen.failures.push(`${value}: ${put}`);
      else success();
      possible = put ? [...possible, value] : [value];
      const get = await request(tls, ["get", "/dk/counter", "--print-value-only"], (r) => r.status === 0 && possible.includes(r.stdout.trim()));
      if (get) seen.failures.push(`${value}: ${get}`);
      else success();
      await afterRound();
      await new Promise((r) => setTimeout(r, 100));
    }
    seen.longestGapMs = Math.max(seen.longestGapMs, performance.now() - last);
  })();
  return {
    seen,
    stop: async () => {
      stop = true;
      await done;
      return seen;
    },
  };
}

/** The loop's limits, as the multi-host tests assert them. */
export interface LoopBounds {
  /** At most this many requests made again after a dropped attempt (default: one per member restart the sampler saw). */
  retried?: number;
  /**
   * The longest time between two successes must stay under this; none by default: the gap is measured and reported
   * (README), not asserted, because by the test's clock it also holds etcdctl's process starts, which two suites on
   * two cores stretched to 6.8 s with every request served within etcdctl's own timeouts (ci19, then 2 s). An outage is
   * caught without it: a request no member serves in time fails, and one a member drops is counted and bounded.
   */
  gapMs?: number;
}

/**
 * What a change of the cluster did wrong as its client and a sampler of its members saw it: failed requests, more
 * requests made again than the bound, a gap between successes over the bound, a sample with two or more members'
 * etcd down at once, too few requests to say anything. Empty when the change was invisible to a client.
 */
export function outage(seen: ClientLoopSeen, members: MembersSeen, bounds: LoopBounds = {}): string[] {
  const restarts = members.restarts.reduce((a, b) => a + b, 0);
  const retriedBound = bounds.retried ?? restarts;
  const problems: string[] = [];
  if (seen.requests < 20) problems.push(`only ${seen.requests} requests: the loop hardly ran`);
  for (const f of seen.failures) problems.push(`failed request ${f}`);
  if (seen.retried.length > retriedBound) problems.push(`${seen.retried.length} requests made again, more than ${retriedBound}: ${seen.retried.join("; ")}`);
  if (bounds.gapMs !== undefined && seen.longestGapMs >= bounds.gapMs)
    problems.push(`longest gap between successes ${Math.round(seen.longestGapMs)} ms, not under ${bounds.gapMs} ms`);
  if (members.twoDown > 0) problems.push(`${members.twoDown} of ${members.samples} samples found two or more members' etcd down at once`);
  return problems;
}

/** One line for a test's log: what the loop and the sampler measured. */
export function loopReport(seen: ClientLoopSeen, members: MembersSeen): string {
  return [
    `client loop: ${seen.requests} requests in ${seen.rounds} rounds, ${seen.failures.length} failed, ${seen.retried.length} made again after a dropped attempt, longest gap between successes ${Math.round(seen.longestGapMs)} ms`,
    `members: ${members.samples} samples (${Math.round(members.meanIntervalMs)} ms apart on average, ${Math.round(members.longestIntervalMs)} ms at most), restarts ${members.restarts.join("/")}, down samples ${members.downSamples.join("/")}, ${members.twoDown} with two or more down`,
    `  slowest request: ${seen.slowest.what}`,
    ...seen.retried.map((r) => `  made again: ${r}`),
    ...seen.failures.slice(0, 5).map((f) => `  failed: ${f}`),
  ].join("\n");
}
