// A client of the Kubernetes API as real ones are, for the live-cluster fault and lifecycle tests: every 100 ms a write
// (a ConfigMap's counter, the next number) then a read of it, over HTTPS with the admin's client certificate, read
// from the cluster folder's kubeconfig. It stands behind a load balancer of its own making: requests go to the
// apiservers in turn; one that fails (refused, reset, 5xx, no answer within a second) is tried again at once on the
// next apiserver and the failed one is left out for a few seconds, as a load balancer's passive health check would.
// A request fails only when every apiserver failed it. The loop records each request, so a test can report the failed
// ones, the longest gap between two successful writes, and check that every acknowledged write is still there.
//
// Stale reads are judged by resourceVersion, not by the counter: since Kubernetes 1.35 an object's resourceVersions
// are comparable integers (KEP-5504), and a read that is linearizable returns a version at least as new as that of
// every write acknowledged before it began. The counter alone cannot say so: a write that timed out on one apiserver
// (retried on the next, as a load balancer does) may still be applied by the first one later, an unconditional PUT
// that stores an older number again under a newer version. That is the API working as specified (a timed-out write
// is not undone), not a lost write; the loop counts those reads apart and the tests print them.
import { Agent, request } from "node:https";
import { readFileSync } from "node:fs";
import { load } from "js-yaml";

/** The admin's credentials and the cluster's CA from a kubeconfig `kubectl config` wrote (data fields). */
export interface ApiCredentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Reads the first cluster's CA and the first user's certificate and key from a kubeconfig with embedded data. */
export function credentialsFrom(kubeconfig: string): ApiCredentials {
  const doc = load(readFileSync(kubeconfig, "utf8")) as {
    clusters: { cluster: Record<string, string> }[];
    users: { user: Record<string, string> }[];
  };
  const b64 = (v: string | undefined, what: string) => {
    if (!v) throw new Error(`${kubeconfig}: no ${what}`);
    return Buffer.from(v, "base64");
  };
  return {
    ca: b64(doc.clusters[0]?.cluster["certificate-authority-data"], "certificate-authority-data"),
    cert: b64(doc.users[0]?.user["client-certificate-data"], "client-certificate-data"),
    key: b64(doc.users[0]?.user["client-key-data"], "client-key-data"),
  };
}

/** One answer, or the error that stood for it. */
interface Answer {
  status: number;
  body: string;
}

/** What one request of the loop came to. */
export interface LoopRequest {
  kind: "write" | "read";
  /** When it was started and ended (ms since the epoch). */
  start: number;
  end: number;
  ok: boolean;
  /** The apiservers that failed it before one answered (or all did), with why. */
  retries: string[];
  /** The counter written (a write) or read (a read). */
  value?: number;
  /** The object's resourceVersion the answer carried (a write's new one, a read's). */
  rv?: string;
  /** The apiserver that answered. */
  server?: string;
}

export interface ApiLoop {
  /** Requests so far. */
  readonly requests: LoopRequest[];
  /** Stops the loop after the request in flight. */
  stop(): Promise<LoopRequest[]>;
}

const NAMESPACE = "default";
/** The loop's ConfigMap. */
export const LOOP_CONFIGMAP = "dk-client-loop";

/**
 * Starts the loop against `servers` (`https://IP:6443`), a write and a read every `periodMs`. Each request (one
 * attempt per apiserver at most) times out after `attemptMs` on one apiserver, then goes to the next.
 */
export function apiClientLoop(
  servers: string[],
  creds: ApiCredentials | (() => ApiCredentials),
  o: { periodMs?: number; attemptMs?: number; benchMs?: number; readyz?: boolean } = {},
): ApiLoop {
  const periodMs = o.periodMs ?? 100;
  const attemptMs = o.attemptMs ?? 1000;
  const benchMs = o.benchMs ?? 5000;
  const agentsFor = (c: ApiCredentials) => new Map(servers.map((s) => [s, new Agent({ keepAlive: true, ca: c.ca, cert: c.cert, key: c.key, maxSockets: 4 })]));
  // Given a function (a kubeconfig read afresh, as an operator's client after a CA rotation's phase hands it the
  // new bundle and certificate), the credentials are read before each request and new connections made when they
  // change; the old agents are closed at the end, not under a request in flight. A file caught half-written is skipped.
  let held = typeof creds === "function" ? creds() : creds;
  let agents = agentsFor(held);
  const retired: Agent[] = [];
  const refresh = () => {
    if (typeof creds !== "function") return;
    let c: ApiCredentials;
    try {
      c = creds();
    } catch {
      return;
    }
    if (c.ca.equals(held.ca) && c.cert.equals(held.cert) && c.key.equals(held.key)) return;
    retired.push(...agents.values());
    held = c;
    agents = agentsFor(c);
  };
  /** Until when an apiserver that failed is left out (its passive health check). */
  const benched = new Map<string, number>();
  let next = 0;
  const requests: LoopRequest[] = [];
  let stopping = false;

  const once = (server: string, method: string, path: string, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        new URL(path, server),
        { method, agent: agents.get(server)!, headers: body ? { "content-type": "application/json" } : {}, timeout: attemptMs },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${attemptMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });

  // With `readyz`, the load balancer also checks actively, as kubeadm's HA guide sets up haproxy (`httpchk GET
  // /readyz`): an apiserver that failed comes back once its /readyz answers ok, not when its bench time is over. A
  // kube-apiserver takes requests before it is ready, and until its RBAC informers have synced it answers 403 to
  // what RBAC allows (kubernetes/kubernetes#101422): only a check of /readyz keeps a client away from that window.
  const checking = new Set<string>();
  const checkReady = (server: string) => {
    if (checking.has(server)) return;
    checking.add(server);
    void once(server, "GET", "/readyz")
      .then(
        (a) => a.status === 200 && a.body.trim() === "ok",
        () => false,
      )
      .then((ok) => (ok ? benched.delete(server) : benched.set(server, Date.now() + 500)))
      .finally(() => checking.delete(server));
  };
  const out = (server: string, now: number) => {
    const until = benched.get(server);
    if (until === undefined) return false;
    if (until > now) return true;
    if (!o.readyz) return false;
    checkReady(server);
    return true;
  };

  /** One request through the "load balancer": apiservers in turn, the benched ones last; 5xx and 429 count as failures. */
  const send = async (method: string, path: string, body: string | undefined, accept: (a: Answer) => boolean) => {
    refresh();
    const now = Date.now();
    const order = servers.map((_, i) => servers[(next + i) % servers.length]!);
    next = (next + 1) % servers.length;
    order.sort((a, b) => Number(out(a, now)) - Number(out(b, now)));
    const retries: string[] = [];
    for (const server of order) {
      try {
        const a = await once(server, method, path, body);
        if (a.status >= 500 || a.status === 429) throw new Error(`HTTP ${a.status}: ${a.body.slice(0, 200)}`);
        if (accept(a)) return { answer: a, retries, server };
        return { answer: a, retries, server, refused: `HTTP ${a.status}: ${a.body.slice(0, 200)}` };
      } catch (e) {
        benched.set(server, Date.now() + benchMs);
        retries.push(`${server}: ${(e as Error).message}`);
      }
    }
    return { retries };
  };

  const path = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
  const configMap = (n: number) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: LOOP_CONFIGMAP }, data: { n: String(n) } });
  /** The counter and resourceVersion of the loop's ConfigMap as an answer carries it. */
  const parsed = (body: string) => {
    const o = JSON.parse(body) as { metadata: { resourceVersion: string }; data: { n: string } };
    return { value: Number(o.data.n), rv: o.metadata.resourceVersion };
  };

  const loop = (async () => {
    // The ConfigMap, made once (or found): the loop's first write.
    let n = 0;
    const made = await send("POST", path, configMap(0), (a) => a.status === 201 || a.status === 409);
    if (!made.answer) throw new Error(`the client loop could not make its ConfigMap: ${made.retries.join("; ")}`);
    while (!stopping) {
      const tick = Date.now();
      const value = n + 1;
      const w = await send("PUT", `${path}/${LOOP_CONFIGMAP}`, configMap(value), (a) => a.status === 200);
      const wrote = Boolean(w.answer) && !("refused" in w && w.refused);
      requests.push({
        kind: "write",
        start: tick,
        end: Date.now(),
        ok: wrote,
        retries: w.refused ? [...w.retries, w.refused] : w.retries,
        value,
        ...(wrote ? { rv: parsed(w.answer!.body).rv, server: w.server! } : {}),
      });
      if (wrote) n = value;
      const readStart = Date.now();
      const r = await send("GET", `${path}/${LOOP_CONFIGMAP}`, undefined, (a) => a.status === 200);
      const read = r.answer && !("refused" in r && r.refused) ? parsed(r.answer.body) : undefined;
      requests.push({
        kind: "read",
        start: readStart,
        end: Date.now(),
        ok: read !== undefined,
        retries: r.retries,
        ...(read !== undefined ? { value: read.value, rv: read.rv, server: r.server! } : {}),
      });
      const wait = periodMs - (Date.now() - tick);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  })();

  return {
    requests,
    async stop() {
      stopping = true;
      await loop;
      for (const a of [...agents.values(), ...retired]) a.destroy();
      return requests;
    },
  };
}

/** What a test reports and checks of a loop's requests. */
export interface LoopSummary {
  requests: number;
  failed: number;
  /** Requests that one apiserver or more failed before another answered. */
  retried: number;
  /** The longest time between the ends of two successful writes (or from the start to the first), ms. */
  longestWriteGapMs: number;
  /** The highest counter acknowledged as written. */
  lastWritten: number;
  /** Reads that returned a resourceVersion older than that of a write acknowledged before they started (a lost write, or a stale read). */
  staleReads: number;
  /** The first stale reads, said: what was read, from which apiserver, and the write it missed. */
  firstStaleReads: string[];
  /**
   * Reads, not stale, whose counter was below the last acknowledged one: a timed-out attempt of an earlier write,
   * applied by its apiserver after a later write (a newer resourceVersion holding an older number).
   */
  lateWritesSeen: number;
  /** The first few failures' reasons. */
  firstFailures: string[];
}

export function summarize(requests: LoopRequest[]): LoopSummary {
  let lastWritten = 0;
  let lastWriteEnd = requests[0]?.start ?? 0;
  let longest = 0;
  let staleReads = 0;
  let lateWritesSeen = 0;
  const firstStaleReads: string[] = [];
  // The newest write acknowledged so far (the loop is sequential: each read begins after the write before it ended).
  let newest: LoopRequest | undefined;
  for (const r of requests) {
    if (r.kind === "write" && r.ok) {
      longest = Math.max(longest, r.end - lastWriteEnd);
      lastWriteEnd = r.end;
      lastWritten = Math.max(lastWritten, r.value!);
      if (!newest || BigInt(r.rv!) > BigInt(newest.rv!)) newest = r;
    }
    // Reads go through any apiserver: the API's reads are linearizable (quorum reads through etcd, or a watch cache
    // that has caught up with etcd's revision first), so none returns a version older than an acknowledged write's.
    if (r.kind === "read" && r.ok && newest) {
      if (BigInt(r.rv!) < BigInt(newest.rv!)) {
        staleReads++;
        if (firstStaleReads.length < 3)
          firstStaleReads.push(
            `read at ${new Date(r.start).toISOString()} from ${r.server}: ${r.value} at resourceVersion ${r.rv}, after ${newest.value} was written at resourceVersion ${newest.rv} through ${newest.server}`,
          );
      } else if (r.value! < lastWritten) lateWritesSeen++;
    }
  }
  const failures = requests.filter((r) => !r.ok);
  return {
    requests: requests.length,
    failed: failures.length,
    retried: requests.filter((r) => r.ok && r.retries.length > 0).length,
    longestWriteGapMs: longest,
    lastWritten,
    staleReads,
    firstStaleReads,
    lateWritesSeen,
    firstFailures: failures.slice(0, 3).map((r) => `${r.kind} at ${new Date(r.start).toISOString()}: ${r.retries.join("; ")}`),
  };
}

/** One line for the test's log. */
export const summaryLine = (what: string, s: LoopSummary) =>
  `${what}: ${s.requests} requests, ${s.failed} failed, ${s.retried} answered after a retry on another apiserver, longest gap between writes ${s.longestWriteGapMs} ms, ${s.staleReads} stale reads, last write ${s.lastWritten}` +
  (s.lateWritesSeen ? `, ${s.lateWritesSeen} reads of an older number written again by a timed-out attempt applied late` : "") +
  (s.firstStaleReads.length ? `; first stale reads: ${s.firstStaleReads.join(" | ")}` : "") +
  (s.firstFailures.length ? `; first failures: ${s.firstFailures.join(" | ")}` : "");
