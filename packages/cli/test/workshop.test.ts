// The seed's whole workshop on a real node: Kubernetes, etcd, containerd, runc and the CNI plugins built from their
// Go modules (scripts/build-peers.sh), served by a test mirror in their upstream layout with their checksum files,
// installed by `dk-bootstrap ssh` on a network-namespace host with a real sshd, one step at a time in the seed's
// order. After each step the test looks at the live cluster for what the seed shows at that point.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { DEFAULT_VERSIONS, RELEASES, corednsVersion, webDeployment } from "@dk-bootstrap/orchestrator";
import { TEST_WEB_IMAGE, corednsImage, pauseImage, traefikImage, webImage } from "../../../test-support/images.js";
import { builtPeer, releaseMirrorFiles } from "../../../test-support/built-peers.js";
import { type Mirror, startMirror } from "../../../test-support/mirror.js";
import { CLI, dkAsync, peer, runAsync, tempDir } from "../../../test-support/peers.js";
import { type ClusterHost, type TestCluster, startTestCluster } from "../../../test-support/test-cluster.js";

/** The newest row of the release table in every run; every row with DK_TEST_ALL_RELEASES=1 (a cold build each). */
const ROWS = process.env.DK_TEST_ALL_RELEASES === "1" ? RELEASES : RELEASES.slice(0, 1);

/** How long one `ssh` run may take: each starts components and waits for their checks. */
const RUN_MS = 600_000;

for (const release of ROWS) {
  const versions = { kubernetes: release.knownPatch, etcd: release.etcd, containerd: release.containerd, runc: release.runc, cni: release.cni };
  describe(`the workshop on one real node (Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, containerd ${versions.containerd})`, () => {
    const work = tempDir("dk-workshop-");
    let cluster: TestCluster;
    let host: ClusterHost;
    let mirror: Mirror;
    let kubectlBin: string;
    let checksums: string;
    const dir = join(work, "cluster");
    const images = join(work, "images");

    const sshArgs = (...extra: string[]) => [
      "ssh",
      `root@${host.ip}`,
      "-i",
      host.keyFile,
      "--known-hosts",
      cluster.knownHosts,
      "--remote-root",
      host.remoteRoot,
      "--dir",
      dir,
      "--mirror",
      mirror.url,
      "--k8s-version",
      versions.kubernetes,
      "--etcd-version",
      versions.etcd,
      "--containerd-version",
      versions.containerd,
      "--runc-version",
      versions.runc,
      "--cni-version",
      versions.cni,
      // The test plays the upstream: the checksums of what it built, as an operator's --checksums table.
      "--checksums",
      checksums,
      "--allow-http-mirror",
      "--images",
      images,
      "--web-image",
      TEST_WEB_IMAGE,
      "--ingress",
      "traefik",
      ...extra,
    ];
    const ssh = (...extra: string[]) => dkAsync(sshArgs(...extra), { cwd: work, timeoutMs: RUN_MS });
    /**
     * The guided run (`ssh ... --step`) in a terminal of its own (a tmux server of this test's, its socket in the test's
     * folder): Enter at each step's question, as a learner would; everything it wrote, once it has exited.
     */
    let sessions = 0;
    const guided = async (...extra: string[]) => {
      const tmux = (args: string[]) => runAsync(peer("tmux"), ["-S", join(work, "tmux.sock"), ...args]);
      const session = `step${++sessions}`;
      const log = join(work, `${session}.out`);
      const q = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
      const command = [process.execPath, CLI, ...sshArgs(...extra), "--step"].map(q).join(" ");
      const started = await tmux([
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "50",
        "-c",
        work,
        `sleep 0.5; NO_COLOR=1 ${command}; echo EXITED $?; sleep 600`,
      ]);
      expect(started.status, started.stderr).toBe(0);
      await tmux(["pipe-pane", "-o", "-t", session, `cat > ${q(log)}`]);
      const text = () => (existsSync(log) ? readFileSync(log, "utf8").replaceAll("\r", "") : "");
      let answered = 0;
      try {
        for (let i = 0; i < RUN_MS / 500; i++) {
          const seen = text();
          const exited = /EXITED (\d+)/.exec(seen);
          if (exited) return { status: Number(exited[1]), out: seen };
          const asked = seen.match(/Enter to run \S+, q to stop:/g)?.length ?? 0;
          if (asked > answered) {
            answered = asked;
            await tmux(["send-keys", "-t", session, "Enter"]);
          }
          await new Promise((r) => setTimeout(r, 500));
        }
        throw new Error(`the guided run did not end:\n${text()}`);
      } finally {
        await tmux(["kill-session", "-t", session]);
      }
    };
    /** The built kubectl of the same release, as the cluster's admin (the kubeconfig `ssh` writes for this node). */
    const kubectl = (...args: string[]) => runAsync(kubectlBin, [`--kubeconfig=${join(dir, `admin-${host.ip}.conf`)}`, ...args]);
    /** Runs a command on the node (its network namespace). */
    const onNode = (...cmd: string[]) => runAsync("ip", ["netns", "exec", host.netns, ...cmd]);
    const until = async (what: string, probe: () => Promise<boolean>, seconds = 180) => {
      for (let i = 0; i < seconds * 2; i++) {
        if (await probe()) return;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`not seen within ${seconds} s: ${what}`);
    };

    /** kube-proxy's chains for a ClusterIP, as `iptables -t nat -S` on the node lists them. */
    const serviceChains = async (clusterIP: string) => {
      const rules = (await onNode("iptables", "-t", "nat", "-S")).stdout;
      const svc = new RegExp(`^-A KUBE-SERVICES -d ${clusterIP.replaceAll(".", "\\.")}/32 .* -j (KUBE-SVC-\\w+)$`, "m").exec(rules)?.[1];
      if (!svc) return { endpoints: [], probabilities: [] };
      const jumps = rules.split("\n").filter((l) => l.startsWith(`-A ${svc} `) && / -j KUBE-SEP-/.test(l));
      return {
        endpoints: jumps.map((l) => / -j (KUBE-SEP-\w+)/.exec(l)![1]!),
        probabilities: jumps
          .map((l) => / --probability ([\d.]+)/.exec(l)?.[1])
          .filter((p) => p !== undefined)
          .map((p) => Number(Number(p).toFixed(5))),
      };
    };

    beforeAll(async () => {
      kubectlBin = join(builtPeer("kubernetes", versions.kubernetes), "kubectl");
      const files = releaseMirrorFiles(versions);
      // The images a node with no registry needs (pause, CoreDNS, the web app; Traefik's later), made from built peers.
      mkdirSync(images);
      for (const image of [await pauseImage(versions.kubernetes), await corednsImage(corednsVersion(versions.kubernetes)), await webImage()])
        symlinkSync(image.path, join(images, basename(image.path)));
      cluster = await startTestCluster(work, 1, { nodes: true });
      host = cluster.hosts[0]!;
      mirror = await startMirror(cluster.hostIp, files);
      checksums = mirror.checksums();
    }, 3_600_000);
    afterAll(async () => {
      await mirror?.close();
      await cluster?.stop();
    });

    it(
      "etcd, then the apiserver (and RBAC): a Deployment is stored, and no Pod is made",
      async () => {
        // With RBAC's binding too: admin.conf's group is an admin only once bound (the workshop's admin was system:masters).
        const r = await ssh("--accept-new-host-key", "--until", "rbac");
        expect(r.status, r.stderr + r.stdout).toBe(0);
        const version = await kubectl("version", "-o", "json");
        expect(version.status, version.stderr).toBe(0);
        expect(JSON.parse(version.stdout).serverVersion.gitVersion).toBe(`v${versions.kubernetes}`);
        // The seed's deploy.yaml (the web step applies the same Deployment later, with its Service).
        writeFileSync(join(work, "deploy.yaml"), webDeployment(TEST_WEB_IMAGE));
        const created = await kubectl("apply", "-f", join(work, "deploy.yaml"));
        expect(created.stdout, created.stderr).toMatch(/deployment.apps\/web created/);
        // Nothing acts on it: no ReplicaSet, no Pod (the workshop's "nothing happens").
        await new Promise((r) => setTimeout(r, 3000));
        expect((await kubectl("get", "replicasets,pods", "-o", "name")).stdout.trim()).toBe("");
      },
      RUN_MS,
    );

    it(
      "the controller-manager, in the guided run: the ReplicaSet and its Pods, all Pending, shown as the seed shows them",
      async () => {
        // From here on, each step as a learner runs it: `--step` in a terminal, Enter at each question.
        const r = await guided("--from", "kube-controller-manager", "--until", "kube-controller-manager");
        expect(r.status, r.out).toBe(0);
        expect(r.out).toMatch(/== kube-controller-manager: /);
        expect(r.out).toMatch(/replicaset\.apps\/web-\S+\s+2\s+2\s+0/);
        expect(r.out).toMatch(/pod\/web-\S+\s+0\/1\s+Pending/);
        await until("two web Pods", async () => (await kubectl("get", "pods", "-l", "app=web", "-o", "name")).stdout.trim().split("\n").length === 2);
        const phases = (await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.phase}")).stdout.split(" ");
        expect(phases).toEqual(["Pending", "Pending"]);
      },
      RUN_MS,
    );

    it(
      "the scheduler, in the guided run: FailedScheduling, no node to run them",
      async () => {
        const r = await guided("--from", "kube-scheduler", "--until", "kube-scheduler");
        expect(r.status, r.out).toBe(0);
        expect(r.out).toMatch(/FailedScheduling\s+pod\/web-\S+\s+0\/0 nodes are available|FailedScheduling.*no nodes available/);
        await until("a FailedScheduling event", async () =>
          /no nodes available|0\/0 nodes/.test(
            (await kubectl("get", "events", "--field-selector", "reason=FailedScheduling", "-o", "jsonpath={.items[*].message}")).stdout,
          ),
        );
      },
      RUN_MS,
    );

    it(
      "containerd and the kubelet: the node registers, NotReady (no CNI yet)",
      async () => {
        const r = await guided("--from", "containerd", "--until", "kubelet");
        expect(r.status, r.out).toBe(0);
        const name = (await kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")).stdout;
        expect(r.out).toMatch(new RegExp(`\\| ${name}\\s+NotReady\\s`));
        const nodes = await kubectl("get", "nodes", "-o", "json");
        const node = JSON.parse(nodes.stdout).items[0];
        expect(node.status.nodeInfo.kubeletVersion).toBe(`v${versions.kubernetes}`);
        expect(node.status.nodeInfo.containerRuntimeVersion).toBe(`containerd://${versions.containerd}`);
        const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
        expect(ready.status).toBe("False");
        expect(ready.message).toMatch(/network plugin|cni|NetworkReady=false/i);
      },
      RUN_MS,
    );

    it(
      "the CNI: the node turns Ready",
      async () => {
        const r = await guided("--from", "cni", "--until", "cni");
        expect(r.status, r.out).toBe(0);
        const name = (await kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")).stdout;
        expect(r.out).toMatch(new RegExp(`\\| ${name}\\s+Ready\\s`));
        const ready = await kubectl("get", "nodes", "-o", 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}');
        expect(ready.stdout).toBe("True");
        const podCidr = (await kubectl("get", "nodes", "-o", "jsonpath={.items[0].spec.podCIDR}")).stdout;
        expect(podCidr).toMatch(/^10\.244\.\d+\.0\/24$/);
        // The bridge takes its gateway address with the first Pod it attaches (the web Pods, scheduled now).
        await until("cni0 with the pod subnet's gateway", async () => /inet 10\.244\./.test((await onNode("ip", "-o", "addr", "show", "dev", "cni0")).stdout));
      },
      RUN_MS,
    );

    it(
      "kube-proxy: the Service's KUBE-SVC chain sends its ClusterIP to one KUBE-SEP per Pod; the node reaches the app through it",
      async () => {
        const r = await ssh("--from", "kube-proxy", "--until", "kube-proxy");
        expect(r.status, r.stderr + r.stdout).toBe(0);
        await until("the web Pods Running", async () => {
          const phases = (await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.phase}")).stdout.split(" ");
          return phases.length === 2 && phases.every((p) => p === "Running");
        });
        const podIPs = (await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.podIP}")).stdout.split(" ");
        for (const ip of podIPs) expect(ip).toMatch(/^10\.244\./);
        const exposed = await kubectl("expose", "deployment", "web", "--port=3000", "--target-port=80");
        expect(exposed.status, exposed.stderr).toBe(0);
        const clusterIP = (await kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).stdout;
        expect(clusterIP).toMatch(/^10\.0\.0\.\d+$/);
        const chains = () => serviceChains(clusterIP);
        await until("a KUBE-SEP for each web Pod", async () => (await chains()).endpoints.length === 2);
        const answered = await onNode("curl", "-fsS", "--max-time", "5", `http://${clusterIP}:3000/`);
        expect(answered.status, answered.stderr).toBe(0);
        expect(answered.stdout).toMatch(/Hello World/);
        // Scaled to 4, as the workshop does: four endpoints, picked with probabilities 1/4, 1/3, 1/2 and the rest.
        expect((await kubectl("scale", "deployment", "web", "--replicas=4")).status).toBe(0);
        await until("a KUBE-SEP for each of four Pods", async () => (await chains()).endpoints.length === 4);
        expect((await chains()).probabilities).toEqual([0.25, 0.33333, 0.5]);
      },
      RUN_MS,
    );

    it(
      "CoreDNS, the web Service and Traefik: names resolve from a Pod, the app answers through its Service and the dk Ingress",
      async () => {
        // Traefik's image joins the node's images now, as a user adds one to a bundle: containerd's step runs again to import it.
        const traefik = await traefikImage(DEFAULT_VERSIONS.traefik);
        symlinkSync(traefik.path, join(images, basename(traefik.path)));
        const r = await ssh("--from", "containerd");
        expect(r.status, r.stderr + r.stdout).toBe(0);
        const pod = (await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")).stdout;
        const inPod = (...args: string[]) => kubectl("exec", pod, "--", "/webapp", ...args);
        // The kubelet gave the Pod the DNS Service's address; CoreDNS answers for the API's Service and the app's.
        expect((await inPod("resolve", "kubernetes.default.svc.cluster.local")).stdout.trim()).toBe("10.0.0.1");
        const clusterIP = (await kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).stdout;
        expect((await inPod("resolve", "web")).stdout.trim()).toBe(clusterIP);
        const fromPod = await inPod("get", "http://web:3000/");
        expect(fromPod.status, fromPod.stderr).toBe(0);
        expect(fromPod.stdout).toMatch(/Hello World/);
        // Traefik on the node port, routing dk.domain.tld to the web Service, from this machine as a browser would.
        await until("Traefik answering for dk.domain.tld", async () => {
          const viaIngress = await runAsync("curl", ["-fsS", "--max-time", "5", "-H", "Host: dk.domain.tld", `http://${host.ip}:30080/`]);
          return viaIngress.status === 0 && /Hello World/.test(viaIngress.stdout);
        });
      },
      RUN_MS,
    );

    it(
      "a re-run with only the connection is a no-op (the rest from the saved settings): every step skipped, nothing downloaded, no component restarted; status and logs read the live node",
      async () => {
        const pids = () => onNode("sh", "-c", `cat ${join(host.remoteRoot, "run/dk-bootstrap")}/*.pid | sort`);
        const before = (await pids()).stdout;
        const asked = mirror.requests.length;
        // As a user re-runs it: the connection and the images' folder, everything else from the folder's saved settings
        // (versions, mirror and checksums, the web app's image, the ingress, the remote root).
        const r = await dkAsync(["ssh", `root@${host.ip}`, "-i", host.keyFile, "--known-hosts", cluster.knownHosts, "--dir", dir, "--images", images], {
          cwd: work,
          timeoutMs: RUN_MS,
        });
        expect(r.status, r.stderr + r.stdout).toBe(0);
        expect(r.stdout).toMatch(/done in [\d.]+s: 0 step\(s\) run, \d+ already done/);
        expect(mirror.requests.length).toBe(asked);
        expect((await pids()).stdout).toBe(before);
        expect(before.trim().split("\n").length).toBe(8);
        const connection = ["-i", host.keyFile, "--known-hosts", cluster.knownHosts, "--remote-root", host.remoteRoot, "--dir", dir];
        const status = await dkAsync(["status", `root@${host.ip}`, ...connection], { cwd: work });
        expect(status.status, status.stderr).toBe(0);
        for (const step of ["etcd", "kube-apiserver", "kubelet", "cni", "kube-proxy", "coredns", "traefik"])
          expect(status.stdout).toMatch(new RegExp(`\\n${step}\\s+yes\\s+yes\\s+yes\\n`));
        const logs = await dkAsync(["logs", `root@${host.ip}`, "kubelet", ...connection, "--tail", "50"], { cwd: work });
        expect(logs.status, logs.stderr).toBe(0);
        expect(logs.stdout.trim().split("\n").length).toBeGreaterThan(10);
      },
      RUN_MS,
    );

    it(
      "reset leaves nothing of the node's: no process, mount, bridge, iptables chain or cgroup of it",
      async () => {
        const r = await dkAsync(
          ["reset", `root@${host.ip}`, "-i", host.keyFile, "--known-hosts", cluster.knownHosts, "--remote-root", host.remoteRoot, "--dir", dir, "--yes"],
          { cwd: work, timeoutMs: RUN_MS },
        );
        expect(r.status, r.stderr + r.stdout).toBe(0);
        // Only the host's own init and sshd are left in its network namespace.
        const left = (await runAsync("ip", ["netns", "pids", host.netns])).stdout.trim().split("\n").filter(Boolean);
        const names = await Promise.all(left.map(async (pid) => (await runAsync("cat", [`/proc/${pid}/comm`])).stdout.trim()));
        expect(names.filter((n) => !["bash", "sshd", "unshare"].includes(n) && !n.startsWith("sshd"))).toEqual([]);
        // The host's mount namespace (its sshd's) holds no mount under the node's root.
        const sshd = left.find((_, i) => names[i] === "sshd")!;
        const mounts = (await runAsync("cat", [`/proc/${sshd}/mounts`])).stdout;
        expect(mounts.split("\n").filter((l) => l.includes(host.remoteRoot))).toEqual([]);
        expect((await onNode("ip", "link", "show", "cni0")).status).not.toBe(0);
        const nat = (await onNode("iptables", "-t", "nat", "-S")).stdout;
        expect(nat.split("\n").filter((l) => /KUBE-|CNI-/.test(l))).toEqual([]);
        const cgroups = (await runAsync("sh", ["-c", "ls -d /sys/fs/cgroup/*/dk-bootstrap/* /sys/fs/cgroup/dk-bootstrap/* 2>/dev/null || true"])).stdout;
        // The node's own cgroup (steps/cgroups.ts): named for its root's hash.
        const mine = `-${createHash("sha256").update(host.remoteRoot).digest("hex").slice(0, 8)}`;
        expect(cgroups.split("\n").filter((l) => l.endsWith(mine))).toEqual([]);
        const leftOver = (await runAsync("find", [host.remoteRoot, "-mindepth", "1"])).stdout.trim();
        expect(leftOver, r.stdout).toBe("");
      },
      RUN_MS,
    );
  });
}
