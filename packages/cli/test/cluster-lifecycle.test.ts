// Lifecycle on a live cluster: three controllers that are nodes too (Kubernetes and etcd built from their Go modules,
// test-support/live-cluster.ts), each operation run while a client of the API writes and reads every 100 ms through
// all three apiservers (test-support/api-client-loop.ts) and the nodes' Ready condition is polled. In order, on one
// cluster: a rolling renewal of every certificate, the cluster CA's rotation, the front-proxy CA's rotation, an etcd
// snapshot then a restore. What the loop saw is printed (failed requests, the longest gap between writes); the
// assertions are on what each operation promises: no failed request, no stale read, nodes Ready, a token and the
// front proxy authenticated through every phase, every served certificate the folder's, and data as of the snapshot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:tls";
import { X509Certificate } from "node:crypto";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { type ClusterHost } from "../../../test-support/test-cluster.js";
import { type LiveCluster, APPLY_MS, LIVE_VERSIONS, startLiveCluster, until } from "../../../test-support/live-cluster.js";
import { CLI, tempDir } from "../../../test-support/peers.js";
import { type LoopSummary, apiClientLoop, credentialsFrom, summarize, summaryLine } from "../../../test-support/api-client-loop.js";

const versions = LIVE_VERSIONS;
const RUN_MS = APPLY_MS * 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The certificates of a PEM bundle, in order. */
const bundle = (pem: string): X509Certificate[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
const fp = (c: X509Certificate) => c.fingerprint256.toUpperCase();

/** The certificate a TLS server presents (its fingerprint), with a client certificate for those that require one. */
function served(host: string, port: number, client?: { cert: Buffer; key: Buffer }): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, rejectUnauthorized: false, ...(client ?? {}) }, () => {
      const raw = s.getPeerCertificate().raw;
      s.destroy();
      resolve(new X509Certificate(raw));
    });
    s.setTimeout(5000, () => s.destroy(new Error(`${host}:${port}: no TLS answer within 5 s`)));
    s.on("error", reject);
  });
}

/** One HTTPS request to an apiserver, verified against `ca`: its status and body, or why there was none. */
function call(
  url: string,
  o: { ca: Buffer | string; method?: string; headers?: Record<string, string>; cert?: Buffer; key?: Buffer; body?: string },
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: o.method ?? "GET", ca: o.ca, agent: false, timeout: 5000, headers: o.headers ?? {}, ...(o.cert ? { cert: o.cert, key: o.key } : {}) },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", (e) => resolve({ error: e.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.on("error", (e) => resolve({ error: e.message }));
    req.end(o.body);
  });
}

describe(`lifecycle on a live cluster of three controllers (Kubernetes ${versions.kubernetes}, etcd ${versions.etcd})`, () => {
  const work = tempDir("dk-cluster-lifecycle-");
  let live: LiveCluster;
  let dir: string;
  let controllers: ClusterHost[];
  const reports: string[] = [];
  const servers = () => controllers.map((h) => `https://${h.ip}:6443`);
  /** The folder's admin credentials of the moment: a rotation's phases change them. */
  const admin = () => credentialsFrom(join(dir, "admin.conf"));
  const nodePki = (h: ClusterHost, f: string) => join(dir, "nodes", h.name, "pki", f);
  const file = (p: string) => readFileSync(p);

  type Condition = { type: string; status: string; reason?: string; message?: string; lastHeartbeatTime?: string };
  /**
   * Every node's Ready condition, asked of one apiserver (in turn): its status, then for a node not Ready the
   * condition's reason, message and last heartbeat (who set it and why: the kubelet, or the node controller when the
   * kubelet stopped renewing); undefined when that apiserver did not answer.
   */
  let turn = 0;
  const readiness = async (): Promise<Record<string, string> | undefined> => {
    const h = controllers[turn++ % controllers.length]!;
    const r = await live.kubectlAt(h, "get", "nodes", "-o", "json");
    if (r.status !== 0) return undefined;
    const items = (JSON.parse(r.stdout) as { items: { metadata: { name: string }; status: { conditions: Condition[] } }[] }).items;
    const said = (c: Condition | undefined) =>
      c === undefined
        ? "none"
        : c.status === "True"
          ? "True"
          : `${c.status} (${c.reason ?? ""}: ${c.message ?? ""}; last heartbeat ${c.lastHeartbeatTime ?? "none"}, asked of ${h.name})`;
    return Object.fromEntries(items.map((n) => [n.metadata.name, said(n.status.conditions.find((c) => c.type === "Ready"))]));
  };
  const allReady = (r: Record<string, string> | undefined) =>
    r !== undefined && controllers.every((h) => r[h.name] === "True") && Object.keys(r).length === controllers.length;

  /**
   * Runs `work` while a background poll asks, every second or so, `probe` (any checks of the moment) and the nodes'
   * Ready condition; returns what the probes saw, and every observation where a node was not Ready.
   */
  async function polling<T>(probe: () => Promise<T>, work: () => Promise<void>): Promise<{ seen: T[]; notReady: string[]; readyPolls: number }> {
    let done = false;
    const seen: T[] = [];
    const notReady: string[] = [];
    let readyPolls = 0;
    const poll = (async () => {
      while (!done) {
        seen.push(await probe());
        const r = await readiness();
        if (r !== undefined) {
          readyPolls++;
          if (!allReady(r)) notReady.push(`${new Date().toISOString()}: ${JSON.stringify(r)}`);
        }
        await sleep(1000);
      }
    })();
    try {
      await work();
    } finally {
      done = true;
      await poll;
    }
    return { seen, notReady, readyPolls };
  }

  /**
   * Runs `work` under the client loop (3 s before and after), prints the loop's line, returns its summary. The loop's
   * load balancer checks /readyz before it sends to an apiserver that failed, as kubeadm's HA guide sets up haproxy:
   * with passive checks alone, a restarted apiserver got requests before its RBAC cache had synced and answered 403
   * (15 of 18410 requests in the cluster CA's rotation; kubernetes/kubernetes#101422), which no flag of it prevents.
   */
  async function underLoop(what: string, work: () => Promise<void>): Promise<LoopSummary> {
    const loop = apiClientLoop(servers(), admin, { readyz: true });
    await sleep(3000);
    try {
      await work();
      await sleep(3000);
    } finally {
      const s = summarize(await loop.stop());
      reports.push(summaryLine(what, s));
      console.log(summaryLine(what, s));
    }
    return summarize(loop.requests);
  }

  /**
   * No component needed SIGKILL to stop: each one a rollout restarts exits on SIGTERM by itself. (The apiserver used
   * to wait for its open watches until its 60 s request timeout: 30 s of its port closed at each restart, and its
   * node's kubelet, which talks to it, marked Unknown when that came to more than the node controller's 50 s.)
   */
  const stoppedCleanly = (out: string) => expect(out.split("\n").filter((l) => /did not stop within/.test(l))).toEqual([]);
  const apply = async () => {
    const r = await live.apply();
    expect(r.status, r.stderr + r.stdout).toBe(0);
    stoppedCleanly(r.stdout + r.stderr);
    return r;
  };

  /** The rotation's state in the folder, as this test reads it: how many phases of rotation `name` are rolled out. */
  const phasesDone = (name: string): number => {
    const p = join(dir, "pki", "rotation", "state.json");
    if (!existsSync(p)) return 0;
    let s: { name: string; phase: number; rolledOut: boolean };
    try {
      s = JSON.parse(readFileSync(p, "utf8"));
    } catch {
      return -1;
    }
    if (s.name !== name) return 0;
    return s.rolledOut ? s.phase : s.phase - 1;
  };

  /** `certs rotate-ca NAME -f FILE --dir DIR`, its output kept: it writes and rolls out the three phases itself. */
  const rotateCa = (name: string) =>
    new Promise<{ status: number | null; out: string }>((resolve) => {
      const run = spawn(process.execPath, [CLI, "certs", "rotate-ca", name, "-f", live.file, "--dir", dir], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      run.stdout.on("data", (d) => (out += d));
      run.stderr.on("data", (d) => (out += d));
      run.on("close", (status) => resolve({ status, out }));
    });

  /**
   * `certs rotate-ca NAME` through its three phases under the client loop, with `probe` and the nodes' readiness
   * polled meanwhile: the rotation succeeded, all three phases were rolled out, the loop saw no failed request and no
   * stale read, and every node stayed Ready. Returns what the probe saw, the last probe (after phase 3) included, and that last one.
   */
  async function rotateUnderLoop<T extends { phases: number }>(name: string, probe: () => Promise<T>): Promise<{ seen: T[]; last: T; out: string }> {
    let rotation!: { status: number | null; out: string };
    let s!: LoopSummary;
    const polled = await polling(probe, async () => {
      s = await underLoop(`certs rotate-ca ${name}`, async () => {
        rotation = await rotateCa(name);
      });
    });
    console.log(rotation.out);
    expect(rotation.status, rotation.out).toBe(0);
    stoppedCleanly(rotation.out);
    const last = await probe();
    expect(last.phases).toBe(3);
    expect(s.failed, s.firstFailures.join("\n")).toBe(0);
    expect(s.staleReads, s.firstStaleReads.join(" | ")).toBe(0);
    expect(polled.notReady).toEqual([]);
    return { seen: [...polled.seen, last], last, out: rotation.out };
  }

  beforeAll(async () => {
    live = await startLiveCluster(work, { controllers: 3, workers: 0, name: "lifecycle" });
    ({ dir, controllers } = live);
    console.log(`hosts: ${controllers.map((h) => `${h.name} (${h.ip}, netns ${h.netns}, root ${h.remoteRoot})`).join("; ")}`);
    await apply();
    await live.allBack();
    await until("three nodes Ready", async () => allReady(await readiness()));
  }, APPLY_MS * 2);
  afterAll(async () => {
    if (reports.length > 0) console.log(`the client loop, per operation:\n${reports.join("\n")}`);
    // The components' logs outlive the hosts when asked (DK_TEST_KEEP_LOGS=DIR): a failure here is found in them.
    const keep = process.env.DK_TEST_KEEP_LOGS;
    if (keep && live) for (const h of live.all) cpSync(join(h.remoteRoot, "var/log/dk-bootstrap"), join(keep, h.name), { recursive: true });
    await live?.stop();
  });

  it(
    "certs renew all, then apply: every served certificate is the renewed one, with no failed request and the nodes Ready",
    async () => {
      // The serving certificates dk-bootstrap issues on each controller: the apiserver, etcd's client and peer ports,
      // the kubelet. etcd asks for a client certificate: its health-check client's of the moment.
      const etcdClient = (h: ClusterHost) => ({ cert: file(nodePki(h, "etcd/healthcheck-client.crt")), key: file(nodePki(h, "etcd/healthcheck-client.key")) });
      const endpoints = (h: ClusterHost) =>
        [
          { port: 6443, local: "apiserver.crt" },
          { port: 2379, local: "etcd/server.crt", client: true },
          { port: 2380, local: "etcd/peer.crt", client: true },
          { port: 10250, local: "kubelet.crt" },
        ].map((e) => ({ ...e, name: `${h.name}:${e.port}`, host: h }));
      const all = controllers.flatMap(endpoints);
      const servedNow = async () =>
        Object.fromEntries(
          await Promise.all(all.map(async (e) => [e.name, fp(await served(e.host.ip, e.port, e.client ? etcdClient(e.host) : undefined))] as const)),
        );
      const before = await servedNow();
      // Before: each served certificate is the folder's file (so "changed" below means "renewed", not "another one").
      for (const e of all) expect(before[e.name], e.name).toBe(fp(new X509Certificate(file(nodePki(e.host, e.local)))));

      let s!: LoopSummary;
      const seen = await polling(
        async () => undefined,
        async () => {
          s = await underLoop("certs renew all + apply", async () => {
            const renew = await live.dk(["certs", "renew", "all", "--dir", dir]);
            expect(renew.status, renew.stderr + renew.stdout).toBe(0);
            // Every node's folder is renewed, not only the top one.
            for (const h of controllers) expect(renew.stdout).toContain(`${h.name}: apiserver: renewed`);
            await apply();
            await live.allBack();
          });
        },
      );
      expect(s.failed, s.firstFailures.join("\n")).toBe(0);
      expect(s.staleReads, s.firstStaleReads.join(" | ")).toBe(0);
      expect(s.requests).toBeGreaterThan(20);
      expect(seen.readyPolls).toBeGreaterThan(0);
      expect(seen.notReady).toEqual([]);

      const after = await servedNow();
      for (const e of all) {
        expect(after[e.name], `${e.name} still serves the certificate of before`).not.toBe(before[e.name]);
        expect(after[e.name], `${e.name} serves the folder's renewed ${e.local}`).toBe(fp(new X509Certificate(file(nodePki(e.host, e.local)))));
      }
    },
    RUN_MS,
  );

  it(
    "a kubelet the API does not hear stops the roll there: the nodes after it keep their kubelet; heard again, apply finishes",
    async () => {
      const [first, ...rest] = controllers as [ClusterHost, ...ClusterHost[]];
      const kubeletServes = async (h: ClusterHost) => fp(await served(h.ip, 10250));
      const folderKubelet = (h: ClusterHost) => fp(new X509Certificate(file(nodePki(h, "kubelet.crt"))));
      const before = new Map(await Promise.all(controllers.map(async (h) => [h.name, await kubeletServes(h)] as const)));
      // An admission policy refuses the first node's Lease renewals: its kubelet runs and its health endpoint answers,
      // but the API does not hear it (as a kubelet with a certificate the apiserver refuses, or no route to it).
      const policy = join(work, "deny-lease.yaml");
      writeFileSync(
        policy,
        `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: dk-test-deny-lease }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - { apiGroups: [coordination.k8s.io], apiVersions: [v1], operations: [UPDATE], resources: [leases] }
  validations:
  - { expression: "object.metadata.name != '${first.name}'", message: "the test refuses this node's Lease" }
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: dk-test-deny-lease }
spec:
  policyName: dk-test-deny-lease
  validationActions: [Deny]
  matchResources:
    namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-node-lease } }
`,
      );
      const made = await live.kubectl("apply", "-f", policy);
      expect(made.status, made.stderr).toBe(0);
      try {
        const renew = await live.dk(["certs", "renew", "kubelet", "--dir", dir]);
        expect(renew.status, renew.stderr + renew.stdout).toBe(0);
        const r = await live.apply();
        const out = r.stdout + r.stderr;
        expect(r.status, out).not.toBe(0);
        expect(out).toContain(`workers: failed on ${first.name}`);
        expect(out).toContain(`stopped there: ${rest.map((h) => h.name).join(", ")} not touched`);
        // The first kubelet was restarted (it serves its renewed certificate); the others were not.
        expect(await kubeletServes(first)).toBe(folderKubelet(first));
        for (const h of rest) {
          expect(await kubeletServes(h), `${h.name} kept its kubelet`).toBe(before.get(h.name));
          expect(folderKubelet(h), `${h.name}'s certificate was renewed in the folder`).not.toBe(before.get(h.name));
        }
      } finally {
        await live.kubectl("delete", "-f", policy, "--ignore-not-found");
      }
      // Heard again: the next apply restarts the first kubelet again (its step did not pass) and goes on to the others.
      await apply();
      for (const h of controllers) expect(await kubeletServes(h), h.name).toBe(folderKubelet(h));
      await until("three nodes Ready", async () => allReady(await readiness()), 120);
    },
    RUN_MS,
  );

  it(
    "certs rotate-ca cluster: no failed request, nodes Ready, a service-account token valid through every phase; then the new CA alone",
    async () => {
      const token = await live.kubectl("create", "token", "default", "--duration=2h");
      expect(token.status, token.stderr).toBe(0);
      const bearer = { Authorization: `Bearer ${token.stdout.trim()}` };
      const oldCa = bundle(readFileSync(join(dir, "pki", "ca.crt"), "utf8"));
      expect(oldCa).toHaveLength(1);
      const oldAdmin = admin();

      /** The token at every apiserver, verified against the folder's CA bundle of the moment. */
      const probe = async () => {
        const phases = phasesDone("cluster");
        const ca = admin().ca;
        const answers = await Promise.all(servers().map((u) => call(`${u}/api`, { ca, headers: bearer })));
        return { phases, answers };
      };
      const { seen, out } = await rotateUnderLoop("cluster", probe);
      // The token is never refused: no 401 (an apiserver restarting does not answer, or answers 5xx, or 403 before its
      // RBAC informers have synced, kubernetes/kubernetes#101422: none of these is the token refused), and after each
      // phase is rolled out every apiserver answered it 200 at least once.
      const refused = seen.flatMap((p) =>
        p.answers.filter((a) => "status" in a && a.status === 401).map((a) => `after ${p.phases} phase(s): ${JSON.stringify(a)}`),
      );
      expect(refused).toEqual([]);
      for (const phase of [1, 2, 3])
        expect(
          seen.some((p) => p.phases === phase && p.answers.every((a) => "status" in a && a.status === 200)),
          `the token at every apiserver once phase ${phase} was rolled out`,
        ).toBe(true);

      // CoreDNS, a client of the API from inside the cluster, was restarted after phase 1 (it read the old CA alone at
      // its start): it still follows the API, a Service made now resolves.
      expect(out).toMatch(/restarted kube-system\/coredns, traefik\/traefik: their Pods now trust the old and the new CA/);
      const dns = (await live.kubectl("get", "service", "-n", "kube-system", "kube-dns", "-o", "jsonpath={.spec.clusterIP}")).stdout;
      expect((await live.kubectl("create", "service", "clusterip", "dk-after-rotation", "--tcp=80:80")).status).toBe(0);
      const resolved = () => live.onHost(controllers[0]!, "dig", "+short", "+time=2", "+tries=1", `@${dns}`, "dk-after-rotation.default.svc.cluster.local");
      await until("CoreDNS resolving a Service made after the rotation", async () => /^\d+\.\d+\.\d+\.\d+$/m.test((await resolved()).stdout), 90);

      // At the end: one CA, the new one, in the folder, on every node, in admin.conf; every apiserver's certificate
      // was signed by it and not by the old one; the admin certificate of before is refused.
      const newCa = bundle(readFileSync(join(dir, "pki", "ca.crt"), "utf8"));
      expect(newCa).toHaveLength(1);
      expect(fp(newCa[0]!)).not.toBe(fp(oldCa[0]!));
      expect(bundle(admin().ca.toString()).map(fp)).toEqual([fp(newCa[0]!)]);
      for (const h of controllers) {
        expect(bundle(readFileSync(join(h.remoteRoot, "etc/kubernetes/pki/ca.crt"), "utf8")).map(fp), h.name).toEqual([fp(newCa[0]!)]);
        const cert = await served(h.ip, 6443);
        expect(cert.verify(newCa[0]!.publicKey), `${h.name}'s apiserver certificate signed by the new CA`).toBe(true);
        expect(cert.verify(oldCa[0]!.publicKey), `${h.name}'s apiserver certificate signed by the old CA`).toBe(false);
        const before = await call(`https://${h.ip}:6443/api`, { ca: newCa[0]!.toString(), cert: oldAdmin.cert, key: oldAdmin.key });
        expect("status" in before && before.status, `${h.name}: the admin certificate of the old CA`).toBe(401);
      }
    },
    RUN_MS,
  );

  it(
    "certs rotate-ca front-proxy: the front proxy's requests authenticated at every apiserver through every phase; the old CA's client until phase 3",
    async () => {
      const fpClient = (h: ClusterHost) => ({ cert: file(nodePki(h, "front-proxy-client.crt")), key: file(nodePki(h, "front-proxy-client.key")) });
      // The front proxy's client certificate of before the rotation, signed by the old front-proxy CA.
      const old = fpClient(controllers[0]!);
      const user = "dk-front-proxy-test";
      /** As the aggregation layer asks: the front proxy's certificate, and the user it vouches for in headers. */
      const asProxy = async (
        u: string,
        client: { cert: Buffer; key: Buffer },
      ): Promise<{ error: string } | { status: number; username: string | undefined }> => {
        const a = await call(`${u}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
          ca: admin().ca,
          method: "POST",
          ...client,
          headers: { "content-type": "application/json", "X-Remote-User": user, "X-Remote-Group": "system:masters" },
          body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
        });
        if ("error" in a) return a;
        let username: string | undefined;
        try {
          const body = JSON.parse(a.body) as { status?: { userInfo?: { username?: string } } | string; message?: string };
          // 201: the review's user; 403 (an apiserver just started, its RBAC informers not synced): the denial names
          // the user it authenticated.
          username = typeof body.status === "object" ? body.status.userInfo?.username : /^\S+ is forbidden: User "([^"]+)"/.exec(body.message ?? "")?.[1];
        } catch {
          // Not JSON: the status says what it was.
        }
        return { status: a.status, username };
      };
      const oldCa = fp(bundle(readFileSync(join(dir, "pki", "front-proxy-ca.crt"), "utf8"))[0]!);
      /**
       * What the node's requestheader CA file (the apiserver's --requestheader-client-ca-file) holds, in the phases'
       * terms: `old` (before), `old+new` (phase 1), `new+old` (phase 2), `new` (phase 3).
       */
      const trustFile = (h: ClusterHost) =>
        bundle(readFileSync(join(h.remoteRoot, "etc/kubernetes/pki/front-proxy-ca.crt"), "utf8"))
          .map((c) => (fp(c) === oldCa ? "old" : "new"))
          .join("+");
      /**
       * At every apiserver, the folder's front-proxy client of the moment and the old CA's; with how many phases were
       * rolled out when the probe began, and what the node's trust file held (the same before and after the
       * requests, else `moving`).
       */
      const probe = async () => {
        const phases = phasesDone("front-proxy");
        const current = fpClient(controllers[0]!);
        const each = await Promise.all(
          controllers.map(async (h, i) => {
            const before = trustFile(h);
            const [cur, was] = await Promise.all([asProxy(servers()[i]!, current), asProxy(servers()[i]!, old)]);
            return { host: h.name, current: cur, old: was, trust: trustFile(h) === before ? before : "moving" };
          }),
        );
        return { phases, each };
      };
      type Answer = Awaited<ReturnType<typeof asProxy>>;
      const authenticated = (a: Answer) => "status" in a && (a.status === 201 || a.status === 403) && a.username === user;
      const answered = (a: Answer) => "status" in a && a.status < 500 && a.status !== 429;

      const { seen, last } = await rotateUnderLoop("front-proxy", probe);

      // The folder's front-proxy client of the moment: authenticated by every apiserver that answered, always; and by
      // all three at once after each phase was rolled out.
      const refused = seen.flatMap((p) =>
        p.each.filter((e) => answered(e.current) && !authenticated(e.current)).map((e) => `${p.phases} phase(s) done, ${e.host}: ${JSON.stringify(e.current)}`),
      );
      expect(refused).toEqual([]);
      // Each apiserver, with its trust file in each phase's form: the front proxy of the moment authenticated, and the
      // old CA's client too while the file holds the old CA (phases 1 and 2: old + new, then new + old).
      for (const h of controllers)
        for (const trust of ["old+new", "new+old", "new"]) {
          const at = seen.flatMap((p) => p.each.filter((e) => e.host === h.name && e.trust === trust));
          expect(
            at.some((e) => authenticated(e.current)),
            `${h.name}, trust file ${trust}: the front proxy authenticated (${at.length} probes)`,
          ).toBe(true);
          if (trust !== "new")
            expect(
              at.some((e) => authenticated(e.old)),
              `${h.name}, trust file ${trust}: the old CA's front proxy authenticated (${at.length} probes)`,
            ).toBe(true);
        }
      // And never refused while the file held it, by an apiserver that answered; phase 3 (the new CA alone) retires
      // it, everywhere.
      const oldRefused = seen.flatMap((p) =>
        p.each
          .filter((e) => ["old", "old+new", "new+old"].includes(e.trust) && answered(e.old) && !authenticated(e.old))
          .map((e) => `${p.phases} phase(s) done, ${e.host} (${e.trust}): ${JSON.stringify(e.old)}`),
      );
      expect(oldRefused).toEqual([]);
      for (const e of last.each) {
        expect(e.trust, e.host).toBe("new");
        expect(answered(e.old), JSON.stringify(e.old)).toBe(true);
        expect(authenticated(e.old), `${e.host}: the old CA's front proxy after phase 3: ${JSON.stringify(e.old)}`).toBe(false);
      }
      // The new client was signed by the new CA: the re-issue of phase 2 reached the folder.
      expect(fp(new X509Certificate(fpClient(controllers[0]!).cert))).not.toBe(fp(new X509Certificate(old.cert)));
    },
    RUN_MS,
  );

  it(
    "etcd snapshot, then restore: what was written before the snapshot is there, what came after is not; API, nodes and etcd back",
    async () => {
      const configMap = (name: string) => live.kubectl("create", "configmap", name, "--from-literal=written=yes");
      const snap = join(work, "backups", "lifecycle.db");
      expect((await configMap("dk-restore-a")).status).toBe(0);
      const taken = await live.dk(["etcd", "snapshot", "-f", live.file, "--dir", dir, "--out", snap]);
      expect(taken.status, taken.stderr + taken.stdout).toBe(0);
      expect((await configMap("dk-restore-b")).status).toBe(0);

      // The API is stopped during a restore (every apiserver before etcd): the loop's failures are printed, not asserted.
      await underLoop("etcd restore (the API is stopped meanwhile)", async () => {
        const r = await live.dk(["etcd", "restore", snap, "-f", live.file, "--dir", dir, "--yes"]);
        expect(r.status, r.stderr + r.stdout).toBe(0);
        console.log(r.stdout);
        await live.allBack();
      });

      for (const h of controllers) {
        const a = await live.kubectlAt(h, "get", "configmap", "dk-restore-a", "-o", "jsonpath={.data.written}");
        expect(a.stdout, `${h.name}: ${a.stderr}`).toBe("yes");
        const b = await live.kubectlAt(h, "get", "configmap", "dk-restore-b");
        expect(b.status, `${h.name}: ${b.stdout}`).not.toBe(0);
        expect(b.stderr, h.name).toMatch(/NotFound|not found/);
      }
      await until("three nodes Ready after the restore", async () => allReady(await readiness()), 240);
      const members = await live.etcdctl("member", "list", "-w", "json");
      expect(members.status, members.stderr).toBe(0);
      const list = (JSON.parse(members.stdout) as { members: { name: string; isLearner?: boolean }[] }).members;
      expect(list.map((m) => m.name).sort()).toEqual(controllers.map((h) => h.name).sort());
      const health = await live.etcdctl("endpoint", "health");
      expect((`${health.stdout}${health.stderr}`.match(/is healthy/g) ?? []).length).toBe(3);
    },
    RUN_MS,
  );
});
