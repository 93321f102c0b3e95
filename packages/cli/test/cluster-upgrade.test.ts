// A Kubernetes upgrade by one minor on a live cluster: three controllers that are nodes too and a worker start on the
// second row of the release table (its components built from their Go modules, test-support/live-cluster.ts), then
// `apply` with the newest row's Kubernetes, while a client of the API writes and reads every 100 ms through all three
// apiservers (test-support/api-client-loop.ts, with /readyz as a load balancer checks it). The skew policy's order:
// every control plane, one at a time, before any kubelet or kube-proxy; then the nodes. What the loop saw is printed;
// the assertions are on what the upgrade promises: no failed request, no stale read, every component on the new
// release, the nodes Ready, data kept.
//
// Its first release's components are a cold build of their own (about 25 CPU-minutes): it runs in the slower run that
// builds every row of the table (DK_TEST_ALL_RELEASES=1, vitest.config.ts), not in every CI run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RELEASES, corednsVersion } from "@dk-bootstrap/orchestrator";
import { type ClusterHost } from "../../../test-support/test-cluster.js";
import { type LiveCluster, APPLY_MS, startLiveCluster, until } from "../../../test-support/live-cluster.js";
import { tempDir } from "../../../test-support/peers.js";
import { LOOP_CONFIGMAP, apiClientLoop, credentialsFrom, summarize, summaryLine } from "../../../test-support/api-client-loop.js";

const FROM = RELEASES[1]!;
const TO = RELEASES[0]!;

describe(`a Kubernetes upgrade, ${FROM.knownPatch} -> ${TO.knownPatch}, on three controllers and a worker`, () => {
  const work = tempDir("dk-cluster-upgrade-");
  let live: LiveCluster;
  let controllers: ClusterHost[];
  const jsonOf = async (...args: string[]) => {
    const r = await live.kubectl(...args, "-o", "json");
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  /** Each node's kubelet version, as the node reports it. */
  const nodeVersions = async () =>
    Object.fromEntries(
      ((await jsonOf("get", "nodes")).items as { metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string } } }[]).map((n) => [
        n.metadata.name,
        n.status.nodeInfo.kubeletVersion,
      ]),
    );

  beforeAll(async () => {
    live = await startLiveCluster(work, { controllers: 3, workers: 1, name: "upgrade", release: FROM });
    controllers = live.controllers;
    const r = await live.apply();
    expect(r.status, r.stderr + r.stdout).toBe(0);
    await until("four nodes Ready", async () => {
      const r = await live.kubectl("get", "nodes", "--no-headers");
      return r.status === 0 && (r.stdout.match(/ Ready /g) ?? []).length === 4;
    });
    for (let i = 0; i < 10; i++) expect((await live.kubectl("create", "configmap", `dk-before-${i}`, `--from-literal=i=${i}`)).status).toBe(0);
  }, 3_600_000);
  afterAll(async () => {
    await live?.stop();
  });

  it(
    "apply with the next minor: control planes one at a time, then the nodes; no request fails, every component on the new release",
    async () => {
      expect(Object.values(await nodeVersions())).toEqual(live.all.map(() => `v${FROM.knownPatch}`));
      const file = readFileSync(live.file, "utf8");
      expect(file).toContain(`kubernetes: "${FROM.knownPatch}"`);
      writeFileSync(live.file, file.replace(`kubernetes: "${FROM.knownPatch}"`, `kubernetes: "${TO.knownPatch}"`));
      const loop = apiClientLoop(
        controllers.map((h) => `https://${h.ip}:6443`),
        credentialsFrom(join(live.dir, "admin.conf")),
        { readyz: true },
      );
      await new Promise((r) => setTimeout(r, 3000));
      const r = await live.apply();
      await new Promise((r) => setTimeout(r, 3000));
      const s = summarize(await loop.stop());
      console.log(summaryLine(`Kubernetes ${FROM.knownPatch} -> ${TO.knownPatch}`, s));
      const out = r.stdout + r.stderr;
      expect(r.status, out).toBe(0);
      // The skew policy's order: every apiserver (and its controller-manager and scheduler) before any kubelet.
      const done = [...out.matchAll(/^\[(\S+)\] ok {2}(\S+) /gm)].map((m) => ({ host: m[1]!, step: m[2]! }));
      const apiservers = done.filter((d) => d.step === "kube-apiserver").map((d) => d.host);
      expect(apiservers.sort()).toEqual(controllers.map((h) => h.name).sort());
      const lastControlPlane = Math.max(...done.map((d, i) => (["kube-apiserver", "kube-controller-manager", "kube-scheduler"].includes(d.step) ? i : -1)));
      const firstKubelet = done.findIndex((d) => d.step === "kubelet");
      expect(firstKubelet, out).toBeGreaterThan(lastControlPlane);
      expect(
        done
          .filter((d) => d.step === "kubelet")
          .map((d) => d.host)
          .sort(),
      ).toEqual(live.all.map((h) => h.name).sort());
      // Every apiserver says the new version; every node's kubelet too, and the nodes are Ready.
      for (const h of controllers) {
        const v = await live.kubectlAt(h, "version", "-o", "json");
        expect(v.status, v.stderr).toBe(0);
        expect(JSON.parse(v.stdout).serverVersion.gitVersion, h.name).toBe(`v${TO.knownPatch}`);
      }
      await until("every kubelet on the new release", async () => Object.values(await nodeVersions()).every((v) => v === `v${TO.knownPatch}`));
      await until("four nodes Ready", async () => ((await live.kubectl("get", "nodes", "--no-headers")).stdout.match(/ Ready /g) ?? []).length === 4);
      // The controller-manager and the scheduler on every controller run the new binary (their --version).
      for (const h of controllers)
        for (const bin of ["kube-controller-manager", "kube-scheduler", "kube-proxy"]) {
          const v = await live.asRoot(h, `${h.remoteRoot}/usr/local/bin/${bin} --version`);
          expect(v.stdout.trim(), `${h.name} ${bin}`).toBe(`Kubernetes v${TO.knownPatch}`);
        }
      // CoreDNS follows the release's pairing.
      const dns = await jsonOf("get", "deployment", "coredns", "-n", "kube-system");
      expect(dns.spec.template.spec.containers[0].image).toMatch(new RegExp(`:v?${corednsVersion(TO.knownPatch).replaceAll(".", "\\.")}$`));
      // No request failed or went stale; nothing written before is lost.
      expect(s.failed, s.firstFailures.join("\n")).toBe(0);
      expect(s.staleReads, s.firstStaleReads.join(" | ")).toBe(0);
      expect(Number((await live.kubectl("get", "configmap", LOOP_CONFIGMAP, "-o", "jsonpath={.data.n}")).stdout)).toBeGreaterThanOrEqual(s.lastWritten);
      const kept = await jsonOf("get", "configmaps", "-n", "default");
      for (let i = 0; i < 10; i++)
        expect(kept.items.find((c: { metadata: { name: string } }) => c.metadata.name === `dk-before-${i}`)?.data, `dk-before-${i}`).toEqual({ i: String(i) });
    },
    APPLY_MS * 2,
  );
});
