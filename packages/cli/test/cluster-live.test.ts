// The workshop as a cluster, for real: `apply -f` on four network-namespace hosts with real sshd (three controllers that
// are nodes too, as kubeadm's are, and one worker), with the components built from their Go modules (the newest row
// of the release table) and fetched from a test mirror in their upstream layout. Then faults while a client of the
// API reads and writes every 100 ms through all three apiservers (test-support/api-client-loop.ts): a controller's
// host cut off and back, an apiserver killed, the etcd leader killed. What the loop saw is printed (failed requests,
// the longest gap between writes); nothing acknowledged before is lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { type ClusterHost } from "../../../test-support/test-cluster.js";
import { type LiveCluster, APPLY_MS, LIVE_VERSIONS, startLiveCluster, until } from "../../../test-support/live-cluster.js";
import { runAsync, tempDir } from "../../../test-support/peers.js";
import { type ApiLoop, apiClientLoop, credentialsFrom, LOOP_CONFIGMAP, summarize, summaryLine } from "../../../test-support/api-client-loop.js";

const versions = LIVE_VERSIONS;
const RUN_MS = APPLY_MS;

/** The etcd the cluster starts with (the 1.35/1.36 rows'), upgraded to the newest row's by the last test. */
const FIRST_ETCD = RELEASES[1]!.etcd;

describe(`a cluster of three controllers and a worker (Kubernetes ${versions.kubernetes}, etcd ${FIRST_ETCD} then ${versions.etcd})`, () => {
  const work = tempDir("dk-cluster-live-");
  let live: LiveCluster;
  let dir: string;
  let controllers: ClusterHost[];
  let worker: ClusterHost;
  let all: ClusterHost[];
  const apply = () => live.apply();
  const kubectl = (...args: string[]) => live.kubectl(...args);
  const etcdctl = (_via: ClusterHost, ...args: string[]) => live.etcdctl(...args);
  const onHost = (h: ClusterHost, ...cmd: string[]) => live.onHost(h, ...cmd);
  const asRoot = (h: ClusterHost, command: string) => live.asRoot(h, command);
  const pidFile = (h: ClusterHost, component: string) => live.pidFile(h, component);
  const ready = (h: ClusterHost) => live.ready(h);
  const jsonOf = async (...args: string[]) => {
    const r = await kubectl(...args, "-o", "json");
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    live = await startLiveCluster(work, { controllers: 3, workers: 1, etcd: FIRST_ETCD });
    ({ dir, controllers, all } = live);
    worker = live.workers[0]!;
  }, 3_600_000);
  afterAll(async () => {
    await live?.stop();
  });

  it(
    "apply -f: etcd on the controllers, three apiservers, leaders elected, four nodes Ready, the worker through the first controller",
    async () => {
      const r = await apply();
      expect(r.status, r.stderr + r.stdout).toBe(0);
      // etcd: three voting members, one per controller, healthy.
      const members = await etcdctl(controllers[0]!, "member", "list", "-w", "json");
      expect(members.status, members.stderr).toBe(0);
      const list = (JSON.parse(members.stdout) as { members: { name: string; isLearner?: boolean }[] }).members;
      expect(list.map((m) => m.name).sort()).toEqual(controllers.map((h) => h.name).sort());
      expect(list.filter((m) => m.isLearner)).toEqual([]);
      // Every apiserver answers, and each has its identity lease; the kubernetes Service's endpoints are the three.
      for (const h of controllers) expect(await ready(h), h.name).toBe(true);
      const identities = await jsonOf("get", "leases", "-n", "kube-system", "-l", "apiserver.kubernetes.io/identity=kube-apiserver");
      expect(identities.items).toHaveLength(3);
      await until("the kubernetes Service's three endpoints", async () => {
        const ep = JSON.parse((await kubectl("get", "endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=kubernetes", "-o", "json")).stdout);
        const ips = ep.items.flatMap((s: { endpoints: { addresses: string[] }[] }) => s.endpoints.flatMap((e) => e.addresses));
        return JSON.stringify(ips.sort()) === JSON.stringify(controllers.map((h) => h.ip).sort());
      });
      // One leader each for the controller-manager and the scheduler, held by a controller.
      for (const lease of ["kube-controller-manager", "kube-scheduler"]) {
        const holder = (await jsonOf("get", "lease", lease, "-n", "kube-system")).spec.holderIdentity as string;
        expect(
          controllers.some((h) => holder.startsWith(`${h.name}_`)),
          `${lease}: ${holder}`,
        ).toBe(true);
      }
      // Four nodes Ready, each with its own pod subnet; the worker's kubelet speaks to the first controller.
      const nodes = await jsonOf("get", "nodes");
      expect(nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name).sort()).toEqual(all.map((h) => h.name).sort());
      for (const n of nodes.items) {
        expect(n.status.conditions.find((c: { type: string }) => c.type === "Ready").status, n.metadata.name).toBe("True");
        expect(n.spec.podCIDR, n.metadata.name).toMatch(/^10\.244\.\d+\.0\/24$/);
      }
      expect(new Set(nodes.items.map((n: { spec: { podCIDR: string } }) => n.spec.podCIDR)).size).toBe(4);
      const kubeletConf = load(readFileSync(join(dir, "nodes", worker.name, "kubelet.conf"), "utf8")) as { clusters: { cluster: { server: string } }[] };
      expect(kubeletConf.clusters[0]!.cluster.server).toBe(`https://${controllers[0]!.ip}:6443`);
    },
    RUN_MS,
  );

  it(
    "the web app spread over the nodes answers through its Service from every node, and through Traefik on every node's port",
    async () => {
      expect((await kubectl("scale", "deployment", "web", "--replicas=6")).status).toBe(0);
      await until("six web Pods Running", async () => {
        const phases = (await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.phase}")).stdout.split(" ");
        return phases.length === 6 && phases.every((p) => p === "Running");
      });
      const pods = (await jsonOf("get", "pods", "-l", "app=web")).items as {
        metadata: { name: string };
        spec: { nodeName: string };
        status: { podIP: string };
      }[];
      const spread = new Set(pods.map((p) => p.spec.nodeName));
      console.log(`web Pods on ${spread.size} nodes: ${pods.map((p) => `${p.metadata.name}@${p.spec.nodeName}`).join(", ")}`);
      // More than one node: a request from any node reaches Pods on other nodes (the bridge's routes, steps/pod-routes.ts).
      expect(spread.size).toBeGreaterThan(1);
      const clusterIP = (await kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).stdout;
      const names = pods.map((p) => p.metadata.name).sort();
      const servedBy = (body: string) => /Served by ([^<\s]+)/.exec(body)?.[1];
      for (const h of all) {
        // Each node routes to the other nodes' pod subnets, through routes of the loop's own protocol.
        const routes = (await onHost(h, "ip", "route", "show", "proto", "219")).stdout.trim().split("\n");
        expect(routes, h.name).toHaveLength(3);
        // Every Pod, at its own address, from this node.
        for (const p of pods) {
          let last = "";
          await until(
            `${p.metadata.name} (${p.status.podIP}, on ${p.spec.nodeName}) answering ${h.name}`,
            async () => {
              const r = await onHost(h, "curl", "-sS", "--max-time", "3", "-w", "\nHTTP %{http_code}", `http://${p.status.podIP}:80/`);
              last = `exit ${r.status}: ${r.stdout.slice(-300)} ${r.stderr}`;
              return servedBy(r.stdout) === p.metadata.name;
            },
            60,
          ).catch((e: Error) => {
            throw new Error(`${e.message}; last answer: ${last}`);
          });
        }
        // Then through the Service's ClusterIP: kube-proxy on this node picks among all six.
        const served = new Set<string>();
        const failures: string[] = [];
        await until(
          `every web Pod answering the Service from ${h.name}`,
          async () => {
            const r = await onHost(h, "curl", "-fsS", "--max-time", "3", `http://${clusterIP}:3000/`);
            const by = servedBy(r.stdout);
            if (by) served.add(by);
            else failures.push(r.stderr.trim());
            return [...served].sort().join() === names.join();
          },
          120,
        ).catch((e: Error) => {
          throw new Error(`${e.message}: answered by ${[...served].join(", ")}; failures: ${failures.slice(0, 3).join(" | ")}`);
        });
      }
      // The dk Ingress, through Traefik's node port on every node (a node without Traefik's Pod forwards to it).
      for (const h of all)
        await until(
          `Traefik answering for dk.domain.tld on ${h.name}`,
          async () => {
            const r = await runAsync("curl", ["-fsS", "--max-time", "3", "-H", "Host: dk.domain.tld", `http://${h.ip}:30080/`]);
            return r.status === 0 && /Hello World/.test(r.stdout);
          },
          60,
        );
    },
    RUN_MS,
  );

  it(
    "faults under a client loop through the three apiservers: a controller cut off and back, an apiserver killed, the etcd leader killed",
    async () => {
      // What was written before the faults: it must all be there after them.
      const before = Array.from(
        { length: 20 },
        (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: dk-before-${i}, namespace: default }\ndata: { i: "${i}" }\n`,
      );
      writeFileSync(join(work, "before.yaml"), before.join("---\n"));
      expect((await kubectl("apply", "-f", join(work, "before.yaml"))).status).toBe(0);
      const servers = controllers.map((h) => `https://${h.ip}:6443`);
      const creds = credentialsFrom(join(dir, "admin.conf"));
      const reports: string[] = [];
      const during = async (what: string, fault: () => Promise<void>) => {
        const loop: ApiLoop = apiClientLoop(servers, creds);
        await new Promise((r) => setTimeout(r, 3000));
        await fault();
        await new Promise((r) => setTimeout(r, 3000));
        const s = summarize(await loop.stop());
        reports.push(summaryLine(what, s));
        console.log(summaryLine(what, s));
        // Linearizable reads: none saw less than an acknowledged write; the loop's ConfigMap holds at least the last one.
        expect(s.staleReads, `${what}: ${s.firstStaleReads.join(" | ")}`).toBe(0);
        expect(s.requests, what).toBeGreaterThan(20);
        const stored = Number((await kubectl("get", "configmap", LOOP_CONFIGMAP, "-o", "jsonpath={.data.n}")).stdout);
        expect(stored, what).toBeGreaterThanOrEqual(s.lastWritten);
        return s;
      };
      const allBack = () => live.allBack();

      // 1. The second controller's host cut off from the network for 20 s, then back.
      await during("controller cut off", async () => {
        live.cluster.cut(controllers[1]!);
        await new Promise((r) => setTimeout(r, 20_000));
        live.cluster.restore(controllers[1]!);
        await allBack();
      });

      // 2. The third controller's apiserver killed; `apply` brings it back (nothing else restarts).
      await during("apiserver killed", async () => {
        const killed = await asRoot(controllers[2]!, `kill -9 "$(cat ${pidFile(controllers[2]!, "kube-apiserver")})"`);
        expect(killed.status, killed.stderr).toBe(0);
        await until("the killed apiserver not answering", async () => !(await ready(controllers[2]!)), 30);
        await new Promise((r) => setTimeout(r, 5000));
        const r = await apply();
        expect(r.status, r.stderr + r.stdout).toBe(0);
        await allBack();
      });

      // 3. The etcd leader killed; `apply` brings it back with its data.
      await during("etcd leader killed", async () => {
        const status = await etcdctl(controllers[0]!, "endpoint", "status", "-w", "json");
        expect(status.status, status.stderr).toBe(0);
        const rows = JSON.parse(status.stdout) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
        const leader = rows.find((s) => BigInt(s.Status.header.member_id) === BigInt(s.Status.leader));
        const host = controllers.find((h) => leader?.Endpoint.includes(`//${h.ip}:`));
        expect(host, status.stdout).toBeDefined();
        const killed = await asRoot(host!, `kill -9 "$(cat ${pidFile(host!, "etcd")})"`);
        expect(killed.status, killed.stderr).toBe(0);
        await new Promise((r) => setTimeout(r, 10_000));
        const r = await apply();
        expect(r.status, r.stderr + r.stdout).toBe(0);
        await allBack();
      });

      // Nothing written before the faults is lost.
      const kept = await jsonOf("get", "configmaps", "-n", "default");
      for (let i = 0; i < 20; i++)
        expect(kept.items.find((c: { metadata: { name: string } }) => c.metadata.name === `dk-before-${i}`)?.data, `dk-before-${i}`).toEqual({ i: String(i) });
      console.log(reports.join("\n"));
    },
    RUN_MS * 2,
  );
  it(
    `an etcd upgrade, ${FIRST_ETCD} -> ${versions.etcd}, one member at a time under the client loop: no request fails, nothing is lost`,
    async () => {
      const file = readFileSync(live.file, "utf8");
      expect(file).toContain(`etcd: "${FIRST_ETCD}"`);
      writeFileSync(live.file, file.replace(`etcd: "${FIRST_ETCD}"`, `etcd: "${versions.etcd}"`));
      const loop = apiClientLoop(
        controllers.map((h) => `https://${h.ip}:6443`),
        credentialsFrom(join(dir, "admin.conf")),
      );
      await new Promise((r) => setTimeout(r, 3000));
      const r = await apply();
      await new Promise((r) => setTimeout(r, 3000));
      const s = summarize(await loop.stop());
      console.log(summaryLine("etcd upgrade", s));
      expect(r.status, r.stderr + r.stdout).toBe(0);
      // A snapshot first, as etcd's upgrade guide and kubeadm do.
      expect(r.stdout + r.stderr).toMatch(new RegExp(`etcd ${FIRST_ETCD} -> ${versions.etcd}: snapshot first`));
      // The followers first, the leader last: one hand-over, to a member that already runs the new release.
      const out = r.stdout + r.stderr;
      const leading = /etcd: (\S+) leads: it goes last/.exec(out)?.[1];
      expect(leading, out).toBeDefined();
      const order = [...out.matchAll(/^\[(\S+)\] ok {2}etcd /gm)].map((m) => m[1]);
      expect(order, out).toHaveLength(controllers.length);
      expect(order.at(-1)).toBe(leading);
      const status = await etcdctl(controllers[0]!, "endpoint", "status", "-w", "json");
      expect(status.status, status.stderr).toBe(0);
      const found = (JSON.parse(status.stdout) as { Status: { version: string } }[]).map((m) => m.Status.version);
      expect(found).toEqual(controllers.map(() => versions.etcd));
      // The apiservers kept their etcd through the roll (each lists every member): no request failed or went stale.
      expect(s.failed, s.firstFailures.join("\n")).toBe(0);
      expect(s.staleReads, s.firstStaleReads.join(" | ")).toBe(0);
      expect(Number((await kubectl("get", "configmap", LOOP_CONFIGMAP, "-o", "jsonpath={.data.n}")).stdout)).toBeGreaterThanOrEqual(s.lastWritten);
      const kept = await jsonOf("get", "configmaps", "-n", "default");
      for (let i = 0; i < 20; i++)
        expect(kept.items.find((c: { metadata: { name: string } }) => c.metadata.name === `dk-before-${i}`)?.data, `dk-before-${i}`).toEqual({ i: String(i) });
    },
    RUN_MS,
  );
});
