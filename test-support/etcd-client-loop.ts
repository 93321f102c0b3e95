// The client loop of the multi-host etcd tests (rolling renewal, upgrade, CA rotation): a client of the members as
// real ones are, which writes then reads a counter through all of them every 100 ms while the cluster is changed.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { peer, runAsync } from "./peers.js";
import { type ClusterHost, ETCDCTL_ENV } from "./test-cluster.js";

/** The files a client of the etcd CA holds: the CA bundle it trusts, its certificate and key. */
export interface EtcdClientFiles {
  ca: string;
  cert: string;
  key: string;
}

/** What the loop saw. */
export interface ClientLoopSeen {
  /** Rounds made: a put of the round's number, then a get that must return it. */
  requests: number;
  /** Requests that did not succeed: what the tests assert is empty. */
  failures: string[];
  /** Requests cut by a member's shutdown while in flight, each proved by that member's log, and made again. */
  cut: string[];
  /** When each round whose put and get both succeeded ended (performance.now(), ms): the benches' longest gap between successes. */
  ok: number[];
}

/**
 * What etcd answers a request in flight on a member that is stopping. With client TLS on, etcd ends its gRPC server
 * at once on SIGTERM instead of draining it (embed/etcd.go stopServers: no GracefulStop with TLS, etcd-io/etcd#8916),
 * so an RPC it was serving is dropped: served through etcd's HTTP/2 handler, the stopped gRPC server writes nothing
 * and the client reads an empty `200 OK` (grpc-go: "OK: HTTP status code 200; transport: missing content-type
 * field"), or, when the stream had begun, that its server "closed the stream without sending trailers"; or the
 * connection goes ("transport is closing", EOF, a reset). A member that forwarded a put to a leader that stops answers
 * it, once its proposal's time is up, "request timed out, possibly due to connection lost" (etcdserver's
 * ErrTimeoutDueToConnectionLost). None of these is a TLS or trust failure.
 */
const CUT_BY_SHUTDOWN =
  /HTTP status code 200; transport: missing content-type field|server closed the stream without sending trailers|transport is closing|error reading from server: EOF|connection reset by peer|etcdserver: request timed out, possibly due to connection lost/;

/** The line etcd logs when it receives its stop signal: 3.4's capnslog, and 3.5+'s zap. */
const STOP_SIGNAL = /received terminated signal, shutting down|"msg":"received signal; shutting down"/;

/**
 * Whether a failed request was cut by a member's shutdown: its error is one etcd gives for a request it drops as it
 * stops, and a member logged its stop signal while the request was made (`logged`: what each member's log gained
 * meanwhile). A certificate or trust failure, or any failure while no member was stopping, is a failure.
 */
export function cutByShutdown(stderr: string, logged: readonly string[]): boolean {
  return CUT_BY_SHUTDOWN.test(stderr) && !/x509|certificate|handshake|tls:/i.test(stderr) && logged.some((text) => STOP_SIGNAL.test(text));
}

/** A member's log, as the test hosts keep it (dk_start's log file under the remote root). */
const logOf = (h: ClusterHost) => join(h.remoteRoot, "var", "log", "dk-bootstrap", "etcd.log");

const sizeOf = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** What `file` holds past `from` bytes. */
function readFrom(file: string, from: number): string {
  const size = sizeOf(file);
  if (size <= from) return "";
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * Every 100 ms a put of a counter then a get of it, through all `hosts`, as a client that reloads its files on each
 * call (`files` gives them afresh). A request cut by a member's shutdown is made again, as a client of a cluster
 * whose members restart in turn must, and counted apart: etcd drops what a stopping member was serving (see
 * {@link cutByShutdown}), which no order of restarts can avoid, while the put is idempotent (the same value again)
 * and the get is checked against it. Only that case is retried, a few times at most; everything else is a failure.
 * `afterRound` runs after each round, and is awaited (a test's or a bench's own sampling).
 */
export function etcdClientLoop(
  hosts: readonly ClusterHost[],
  files: () => EtcdClientFiles | Promise<EtcdClientFiles>,
  afterRound: () => void | Promise<void> = () => undefined,
): { stop: () => Promise<ClientLoopSeen> } {
  let stop = false;
  const seen: ClientLoopSeen = { requests: 0, failures: [], cut: [], ok: [] };
  const etcdctl = async (...args: string[]) => {
    const tls = await files();
    return runAsync(
      peer("etcdctl"),
      [
        `--endpoints=${hosts.map((h) => `https://${h.ip}:2379`).join(",")}`,
        `--cacert=${tls.ca}`,
        `--cert=${tls.cert}`,
        `--key=${tls.key}`,
        // A failed request is one that does not succeed, not a slow one: on a loaded machine (another suite beside
        // this one) a request made while a member restarts and leadership moves can take longer than 5 s.
        "--command-timeout=30s",
        ...args,
      ],
      { env: ETCDCTL_ENV },
    );
  };
  /** One request, made again while it is cut by a member's shutdown; what went wrong, or undefined. */
  const request = async (args: string[], ok: (r: { status: number | null; stdout: string }) => boolean): Promise<string | undefined> => {
    for (let attempt = 1; ; attempt++) {
      const at = hosts.map((h) => sizeOf(logOf(h)));
      const r = await etcdctl(...args);
      if (ok(r)) return undefined;
      const what = `${args.slice(0, 3).join(" ")}: exit ${r.status}, ${r.stdout.trim()} ${r.stderr.trim()}`.slice(0, 400);
      if (
        attempt > 3 ||
        !cutByShutdown(
          r.stderr,
          hosts.map((h, i) => readFrom(logOf(h), at[i]!)),
        )
      )
        return what;
      seen.cut.push(what);
    }
  };
  const done = (async () => {
    while (!stop) {
      const value = String(++seen.requests);
      const put = await request(["put", "/dk/counter", value], (r) => r.status === 0);
      const get = await request(["get", "/dk/counter", "--print-value-only"], (r) => r.status === 0 && r.stdout.trim() === value);
      if (put || get) seen.failures.push(`${value}: ${[put, get].filter(Boolean).join(" | ")}`);
      else seen.ok.push(performance.now());
      await afterRound();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await done;
      return seen;
    },
  };
}
