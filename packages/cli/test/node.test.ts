import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load, loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mirror, etcdMirrorFiles, startMirror } from "../../../test-support/mirror.js";
import { CLI, dk, dkAsync, peer, run, tempDir } from "../../../test-support/peers.js";
import { type TestHost, loopbackRelay, startNodeTestHost, waitForSsh } from "../../../test-support/test-host.js";

const ORDER = [
  "preflight",
  "etcd",
  "kube-apiserver",
  "rbac",
  "kube-controller-manager",
  "kube-scheduler",
  "containerd",
  "kubelet",
  "cni",
  "kube-proxy",
  "coredns",
  "web",
];

/** The body of the heredoc that writes `path` in a dry-run script. */
function heredoc(script: string, path: string): string {
  const start = script.indexOf(`cat > ${path} <<'DK_EOF'\n`);
  expect(start, path).toBeGreaterThan(-1);
  const body = script.slice(script.indexOf("\n", start) + 1);
  return body.slice(0, body.indexOf("\nDK_EOF\n"));
}

/** The lines of one step's section. */
function section(script: string, id: string): string {
  const start = script.indexOf(`# step: ${id}\n`);
  const next = script.indexOf("\n# step: ", start + 1);
  return script.slice(start, next < 0 ? undefined : next);
}

describe("dk-bootstrap explain", () => {
  it("says why each step is needed, offline, and a step's exact commands", () => {
    const all = dk(["explain"]);
    expect(all.status).toBe(0);
    expect([...all.stdout.matchAll(/^([a-z-]+): /gm)].map((m) => m[1])).toEqual(ORDER.slice(1));
    const kubelet = dk(["explain", "kubelet"]);
    expect(kubelet.stdout).toMatch(/^kubelet: kubelet, the node agent\n/);
    expect(kubelet.stdout).toMatch(/Afterwards:\n {2}the node is listed NotReady/);
    expect(kubelet.stdout).toMatch(/dk_start kubelet \/usr\/local\/bin\/kubelet --config=/);
    const bad = dk(["explain", "kublet"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown step; steps: preflight, etcd/);
  });
});

describe("dk-bootstrap ssh --dry-run", () => {
  const dir = tempDir();
  let script = "";
  beforeAll(() => {
    const r = dk(["ssh", "root@192.0.2.10", "--dry-run", "--dir", join(dir, "cluster")], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    script = r.stdout;
  });

  it("is every step, in the workshop's order, as valid shell", () => {
    expect([...script.matchAll(/^# step: (\S+)$/gm)].map((m) => m[1])).toEqual(ORDER);
    const file = join(dir, "plan.sh");
    writeFileSync(file, script);
    const bash = run("bash", ["-n", file]);
    expect(bash.status, bash.stderr).toBe(0);
    expect(run("sh", ["-n", file]).status).toBe(0);
  });

  it("uses no flag that Kubernetes 1.34 removed, and the kubelet's settings come from its config file", () => {
    expect(script).not.toMatch(/--container-runtime[= ]/);
    expect(script).not.toMatch(/--short/);
    const kubelet = section(script, "kubelet");
    expect(kubelet).toMatch(/--config=\/var\/lib\/kubelet\/config.yaml/);
    expect(kubelet).not.toMatch(/--fail-swap-on|--container-runtime-endpoint|--register-node/);
  });

  it("gives each component its own certificate and kubeconfig, none the admin's", () => {
    expect(section(script, "etcd")).toMatch(/--cert-file=\/etc\/kubernetes\/pki\/etcd\/server.crt/);
    expect(section(script, "kube-apiserver")).toMatch(/--tls-cert-file=\/etc\/kubernetes\/pki\/apiserver.crt/);
    expect(section(script, "kube-apiserver")).toMatch(/--etcd-certfile=\/etc\/kubernetes\/pki\/apiserver-etcd-client.crt/);
    expect(section(script, "kube-apiserver")).toMatch(/--kubelet-client-certificate=\/etc\/kubernetes\/pki\/apiserver-kubelet-client.crt/);
    expect(section(script, "kube-controller-manager")).toMatch(/--kubeconfig=\/etc\/kubernetes\/controller-manager.conf/);
    expect(section(script, "kube-scheduler")).toMatch(/--kubeconfig=\/etc\/kubernetes\/scheduler.conf/);
    expect(section(script, "kubelet")).toMatch(/--kubeconfig=\/etc\/kubernetes\/kubelet.conf/);
    expect(heredoc(script, "/var/lib/kube-proxy/config.yaml")).toMatch(/kubeconfig: \/etc\/kubernetes\/kube-proxy.conf/);
    for (const id of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]) {
      expect(section(script, id).match(/dk_start .*/)?.[0] ?? "", id).not.toMatch(/admin\.conf/);
    }
  });

  it("keeps the pod CIDR the same everywhere, apart from the Service CIDR", () => {
    expect(section(script, "kube-controller-manager")).toMatch(/--cluster-cidr=10.244.0.0\/16 --service-cluster-ip-range=10.0.0.0\/24/);
    expect(section(script, "kube-apiserver")).toMatch(/--service-cluster-ip-range=10.0.0.0\/24/);
    expect((load(heredoc(script, "/var/lib/kube-proxy/config.yaml")) as { clusterCIDR: string }).clusterCIDR).toBe("10.244.0.0/16");
    // Each node's bridge takes the range the controller-manager allocated to it (--allocate-node-cidrs), read as the node.
    expect(section(script, "kube-controller-manager")).toMatch(/--allocate-node-cidrs=true/);
    const conflist = JSON.parse(heredoc(script, "/etc/kubernetes/cni/10-bridge.conflist.template"));
    expect(conflist.plugins[0].ipam.ranges[0][0].subnet).toBe("DK_POD_SUBNET");
    expect(section(script, "cni")).toMatch(/--kubeconfig=\/etc\/kubernetes\/kubelet.conf get node kubernetes -o 'jsonpath=\{.spec.podCIDR\}'/);
  });

  it("writes configs that parse: KubeletConfiguration, KubeProxyConfiguration, RBAC and the web manifests", () => {
    const kubelet = load(heredoc(script, "/var/lib/kubelet/config.yaml")) as Record<string, any>;
    expect(kubelet.kind).toBe("KubeletConfiguration");
    expect(kubelet.authentication).toEqual({ anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } });
    expect(kubelet.authorization.mode).toBe("Webhook");
    expect(kubelet.containerRuntimeEndpoint).toBe("unix:///run/containerd/containerd.sock");
    expect(kubelet.failSwapOn).toBe(false);
    expect((load(heredoc(script, "/var/lib/kube-proxy/config.yaml")) as Record<string, unknown>).kind).toBe("KubeProxyConfiguration");
    expect(heredoc(script, "/etc/containerd/config.toml")).toMatch(/^version = 3\n/);
    const rbac = heredoc(script, "/etc/kubernetes/manifests/dk-rbac.yaml")
      .split("\n---\n")
      .map((d) => load(d) as Record<string, any>);
    expect(rbac.map((d) => d.roleRef.name)).toEqual(["cluster-admin", "system:kubelet-api-admin"]);
    const web = heredoc(script, "/etc/kubernetes/manifests/web.yaml")
      .split("\n---\n")
      .map((d) => (load(d) as { kind: string }).kind);
    expect(web).toEqual(["Deployment", "Service"]);
  });

  it("verifies every download against its published checksum; a mirror's against the operator's table, never its own", () => {
    const fetches = [...script.matchAll(/^dk_fetch (\S+) (\S+) (\S+)$/gm)];
    expect(fetches.length).toBeGreaterThanOrEqual(9);
    for (const [, url, sums] of fetches) expect(sums!.startsWith(url!.replace(/\/[^/]+$/, "")), url).toBe(true);
    const versions = ["--k8s-version", "v1.34.2", "--etcd-version", "3.6.17", "--until", "etcd"];
    const upstream = "https://github.com/etcd-io/etcd/releases/download/v3.6.17/etcd-v3.6.17-linux-amd64.tar.gz";
    const table = join(dir, "trusted.sha256");
    writeFileSync(table, `${"ab".repeat(32)}  ${upstream}\n`);
    const mirrored = dk(["ssh", "root@192.0.2.10", "--dry-run", "--mirror", "https://mirror.test/dk", "--checksums", table, ...versions], { cwd: dir });
    expect(mirrored.status, mirrored.stderr).toBe(0);
    expect(mirrored.stdout).toContain(
      `dk_fetch https://mirror.test/dk/github.com/etcd-io/etcd/releases/download/v3.6.17/etcd-v3.6.17-linux-amd64.tar.gz sha256:${"ab".repeat(32)} etcd-v3.6.17-linux-amd64.tar.gz`,
    );
    expect(mirrored.stdout).not.toMatch(/mirror\.test\S*SHA256SUMS/);
    expect(mirrored.stdout).not.toMatch(/# step: kube-apiserver/);
    // Plain http only when asked for, with what it gives up said.
    const http = dk(["ssh", "root@192.0.2.10", "--dry-run", "--mirror", "http://mirror.test/dk", "--checksums", table, ...versions], { cwd: dir });
    expect(http.status).toBe(1);
    expect(http.stderr).toMatch(/^error: --mirror: is plain http: anyone on the path sees .*\nhint: .*--allow-http-mirror/);
    const allowed = dk(["ssh", "root@192.0.2.10", "--dry-run", "--mirror", "http://mirror.test/dk", "--allow-http-mirror", "--checksums", table, ...versions], {
      cwd: dir,
    });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain(`sha256:${"ab".repeat(32)} etcd-v3.6.17-linux-amd64.tar.gz`);
  });

  it("offers the workshop's Calico (through Helm, its pool the pod CIDR) and Traefik (plain manifests) with its Ingress", () => {
    const r = dk(["ssh", "root@192.0.2.10", "--dry-run", "--cni", "calico", "--ingress", "traefik", "--pod-cidr", "10.32.0.0/16"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect([...r.stdout.matchAll(/^# step: (\S+)$/gm)].map((m) => m[1])).toEqual([...ORDER, "traefik"]);
    const cni = section(r.stdout, "cni");
    expect(cni).toMatch(/dk_fetch https:\/\/get.helm.sh\/helm-v[\d.]+-linux-amd64.tar.gz https:\/\/get.helm.sh\/helm-v[\d.]+-linux-amd64.tar.gz.sha256sum/);
    expect(cni).toMatch(/helm --kubeconfig=\/etc\/kubernetes\/admin.conf upgrade --install calico projectcalico\/tigera-operator --version v3\.\d+\.\d+/);
    expect(cni).not.toMatch(/10-bridge.conflist/);
    const values = load(heredoc(r.stdout, "/etc/kubernetes/manifests/calico-values.yaml")) as {
      installation: { calicoNetwork: { ipPools: { cidr: string }[] } };
    };
    expect(values.installation.calicoNetwork.ipPools[0]!.cidr).toBe("10.32.0.0/16");
    expect(section(r.stdout, "kube-controller-manager")).toMatch(/--cluster-cidr=10.32.0.0\/16/);
    const ingress = load(heredoc(r.stdout, "/etc/kubernetes/manifests/dk-ingress.yaml")) as { spec: { rules: { host: string }[] } };
    expect(ingress.spec.rules[0]!.host).toBe("dk.domain.tld");
    // Traefik from plain manifests (no chart to fetch): the node port the workshop's URL uses, its image from the release.
    const traefik = loadAll(heredoc(r.stdout, "/etc/kubernetes/manifests/traefik.yaml")) as { kind: string; spec?: { ports?: { nodePort?: number }[] } }[];
    expect(traefik.find((d) => d.kind === "Service")!.spec!.ports!.map((p) => p.nodePort)).toEqual([30080, 30443]);
    expect(section(r.stdout, "traefik")).not.toMatch(/helm/);
    const file = join(dir, "calico.sh");
    writeFileSync(file, r.stdout);
    expect(run("bash", ["-n", file]).status).toBe(0);
    expect(dk(["ssh", "root@192.0.2.10", "--dry-run", "--cni", "flannel", "--k8s-version", "v1.36.0"], { cwd: dir }).stderr).toMatch(
      /^error: --cni: must be bridge or calico \(got "flannel"\)/,
    );
  });

  it("never prints a private key", () => {
    expect(script).not.toMatch(/PRIVATE KEY/);
  });

  it("run as printed, refuses before any change when a cluster-folder file it installs is not the one it was rendered with", () => {
    const work = tempDir();
    const cluster = join(work, "cluster");
    const fake = join(work, "root");
    mkdirSync(fake);
    const certs = dk(["certs", "--dir", cluster, "--node-ip", "192.0.2.10", "--key-algo", "ecdsa"], { cwd: work });
    expect(certs.status, certs.stderr).toBe(0);
    const render = (...extra: string[]) => {
      const r = dk(["ssh", "root@192.0.2.10", "--dry-run", "--dir", cluster, "--remote-root", fake, "--until", "etcd", ...extra], { cwd: work });
      expect(r.status, r.stderr).toBe(0);
      const file = join(work, `plan-${extra.length}.sh`);
      writeFileSync(file, r.stdout);
      return { text: r.stdout, run: () => run("sh", [file], { env: { ...process.env, DK_CLUSTER_DIR: cluster } }) };
    };
    const plan = render();
    expect(plan.text).toMatch(/fits this plan as it is/);
    expect(plan.text).toMatch(/^dk_same pki\/etcd\/server\.crt [0-9a-f]{64}$/m);
    // A certificate changed after the plan was rendered (the peer's in the server's place): that file alone is named.
    writeFileSync(join(cluster, "pki", "etcd", "server.crt"), readFileSync(join(cluster, "pki", "etcd", "peer.crt")));
    const changed = plan.run();
    expect(changed.status).toBe(1);
    expect(changed.stderr).toBe(
      `${cluster}/pki/etcd/server.crt is not the file this plan was rendered with: run \`dk-bootstrap certs --dir ${cluster} --node-name kubernetes --node-ip 192.0.2.10\` first, then render the plan again\n`,
    );
    expect(readdirSync(fake)).toEqual([]);
    // A new node name: the dry run only stages the certificates it re-issues, so the folder's are not the plan's.
    const renamed = render("--node-name", "node-b", "--allow-name-removal");
    expect(renamed.text).toMatch(/# certs: a real run first writes in [^]*etcd\/peer[\s#]+\(its[\s#]+identity[\s#]+differs/);
    const r = renamed.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /is not the file this plan was rendered with: run `dk-bootstrap certs --dir \S+ --node-name node-b --node-ip 192\.0\.2\.10` first/,
    );
    expect(readdirSync(fake)).toEqual([]);
  });
});

describe("dk-bootstrap ssh against a real sshd", () => {
  const work = tempDir();
  let host: TestHost;
  let mirror: Mirror;
  // Each command takes only the flags it honours: the connection's (logs), the node's (status, reset), a run's (ssh).
  const connection = () => ["-i", host.keyFile, "--known-hosts", join(work, "known_hosts"), "--remote-root", join(work, "node")];
  // An exact release: nothing asked of dl.k8s.io (the mirror has only etcd).
  const node = () => [...connection(), "--dir", join(work, "cluster"), ...mirrorFlags(), "--k8s-version", "v1.36.0", "--etcd-version", "3.6.17"];
  // The test mirror is plain http; the checksums come from the files the test built (it plays the upstream).
  const mirrorFlags = () => ["--mirror", mirror.url, "--allow-http-mirror", "--checksums", mirror.checksums()];
  const args = () => [...node(), "--key-algo", "ecdsa", "--until", "etcd"];
  beforeAll(async () => {
    host = startNodeTestHost(work);
    mirror = await startMirror(host.hostIp, etcdMirrorFiles(join(work, "mirror"), "3.6.17", "amd64"));
    await waitForSsh(host);
  });
  afterAll(async () => {
    await mirror?.close();
    host?.stop();
  });

  it("refuses an unknown host key with one line and the flag that fixes it", async () => {
    const r = await dkAsync(["ssh", `${host.user}@${host.ip}`, ...args()], { cwd: work });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^error: ${host.ip}: unknown host key ssh-ed25519 SHA256:\\S+ \\(not in .*known_hosts\\)\nhint: .*--accept-new-host-key`),
    );
  });

  it("brings up etcd, then resumes to nothing, then resets", async () => {
    const first = await dkAsync(["ssh", `${host.user}@${host.ip}`, ...args(), "--accept-new-host-key"], { cwd: work });
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toMatch(/==> etcd: etcd, the key-value store/);
    expect(first.stdout).toMatch(/done in [\d.]+s: 1 step\(s\) run, 0 already done/);
    const again = await dkAsync(["ssh", `${host.user}@${host.ip}`, ...args()], { cwd: work, env: { ...process.env, XDG_CACHE_HOME: join(work, "cache") } });
    expect(again.stdout).toMatch(/--- etcd: already done, skipped/);
    expect(again.stdout).not.toMatch(/\x1b\[/);
    const logFile = /full log: (\S+)/.exec(again.stdout)![1]!;
    expect(logFile.startsWith(join(work, "cache", "dk-bootstrap", "runs"))).toBe(true);
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
    expect(
      readFileSync(logFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).type),
    ).toContain("step-done");
    const json = await dkAsync(["ssh", `${host.user}@${host.ip}`, ...args(), "--json"], { cwd: work });
    const events = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; step?: string; status?: string });
    expect(events.find((e) => e.type === "step-done" && e.step === "etcd")?.status).toBe("skipped");
    const status = await dkAsync(["status", `${host.user}@${host.ip}`, ...node()], { cwd: work });
    expect(status.stdout).toMatch(/^STEP\s+DONE\s+CURRENT\s+HEALTHY\n/);
    expect(status.stdout).toMatch(/\netcd\s+yes\s+yes\s+yes\n/);
    expect(status.stdout).toMatch(/\nkube-apiserver\s+no\s+-\s+-\n/);
    expect(status.stdout).toMatch(/\nnode: set up by dk-bootstrap as node kubernetes of \S+ on \d{4}-\d\d-\d\dT[\d:]+Z; [1-9]\d* path\(s\) recorded as made\n/);
    const logs = await dkAsync(["logs", `${host.user}@${host.ip}`, "etcd", ...connection(), "--tail", "500"], { cwd: work });
    expect(logs.status, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/serving client (requests|traffic)/);
    // reset removes what it made on the node, and leaves the cluster folder's CA as it was.
    const caBefore = readFileSync(join(work, "cluster", "pki", "ca.crt"), "utf8");
    expect(readFileSync(join(work, "cluster", "pki", "ca.crt"), "utf8")).toBe(caBefore);
    // No terminal and no --yes: refused before anything is reached, etcd still running.
    const unasked = await dkAsync(["reset", `${host.user}@${host.ip}`, ...node()], { cwd: work });
    expect(unasked.status).toBe(1);
    expect(unasked.stderr).toMatch(
      /^error: reset removes what dk-bootstrap made on \S+, and there is no terminal to ask: nothing was done\nhint: add --yes \(-y\)/m,
    );
    expect(run("pgrep", ["-u", host.user, "-f", join(work, "node")]).stdout).not.toBe("");
    const gone = await dkAsync(["reset", `${host.user}@${host.ip}`, ...node(), "-y"], { cwd: work });
    expect(gone.status, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(/reset done/);
    expect(run("pgrep", ["-u", host.user, "-f", join(work, "node")]).stdout).toBe("");
  });

  it("reset with a remote root of // is a reset of /: it wants root, and removes nothing as the login user", async () => {
    // An empty folder of the user's own, which a prune of every empty folder under `//` would take.
    const home = `/home/${host.user}`;
    mkdirSync(join(home, "empty-of-mine"));
    chownSync(join(home, "empty-of-mine"), host.uid, host.uid);
    const r = await dkAsync(["reset", `${host.user}@${host.ip}`, ...node(), "--remote-root", "//", "--yes"], { cwd: work });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*these steps need root, and sudo asks this user for a password/m);
    expect(existsSync(join(home, "empty-of-mine"))).toBe(true);
  }, 120_000);

  it("says a non-root login needs sudo for a remote root of /, and names the flag, before changing anything", async () => {
    const r = await dkAsync(["ssh", `${host.user}@${host.ip}`, ...args(), "--remote-root", "/"], { cwd: work });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      // After the note that the saved remote root changes.
      new RegExp(`^error: ${host.user}@${host.ip}: these steps need root, and sudo asks this user for a password\nhint: pass --sudo-password-stdin`, "m"),
    );
  });

  it("--step, in a real terminal (tmux): the why, a question before each step, q stops, the next run goes on with the live observation", async () => {
    // A tmux server of this test's own (its socket in the test's folder): another run's sessions, or a kill-server
    // anywhere else, never meet this one, and a session name is never taken for another's prefix.
    const socket = join(work, "tmux.sock");
    const tmux = (args: string[]) => run(peer("tmux"), ["-S", socket, ...args]);
    const session = "dkstep";
    const screen = () => tmux(["capture-pane", "-p", "-t", session, "-S", "-200"]).stdout;
    const waitFor = async (text: RegExp) => {
      for (let i = 0; i < 1200; i++) {
        if (text.test(screen())) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`not on the screen: ${text}\n${screen()}`);
    };
    const command = [process.execPath, CLI, "ssh", `${host.user}@${host.ip}`, ...args(), "--step"].map((a) => `'${a}'`).join(" ");
    const raw = join(work, "pane.raw");
    try {
      for (const answer of ["q", ""]) {
        tmux(["kill-session", "-t", session]);
        // The second run: NO_COLOR, and every byte the program writes to the terminal kept, to look for escape codes.
        const env = answer === "" ? "NO_COLOR=1 " : "";
        expect(tmux(["new-session", "-d", "-s", session, "-x", "220", "-y", "60", `sleep 0.5; ${env}${command}; echo EXITED $?; sleep 60`]).status).toBe(0);
        if (answer === "") tmux(["pipe-pane", "-o", "-t", session, `cat > ${raw}`]);
        await waitFor(/Enter to run etcd, q to stop:/);
        expect(screen()).toMatch(/== etcd: etcd, the key-value store/);
        expect(screen()).toMatch(/Everything Kubernetes knows/);
        tmux(["send-keys", "-t", session, answer, "Enter"]);
        await waitFor(/EXITED \d+/);
        expect(screen()).toMatch(/EXITED 0/);
        if (answer === "q") {
          expect(screen()).toMatch(/stopped before etcd: run the same command again to go on from there/);
          expect(screen()).not.toMatch(/ok {2}etcd/);
        }
      }
      expect(readFileSync(raw, "utf8")).toMatch(/ok {2}etcd/);
      expect(readFileSync(raw, "utf8")).not.toMatch(/\x1b/);
      const last = screen();
      expect(last).toMatch(/ok {2}etcd/);
      expect(last).toMatch(/\| .*ENDPOINT/);
    } finally {
      tmux(["kill-server"]);
    }
  });

  it("reset in a real terminal (tmux) asks as kubeadm reset does: n keeps everything, y removes what it made", async () => {
    // etcd runs: the --step run above brought it up.
    expect(run("pgrep", ["-u", host.user, "-f", join(work, "node")]).stdout).not.toBe("");
    const socket = join(work, "tmux-reset.sock");
    const tmux = (a: string[]) => run(peer("tmux"), ["-S", socket, ...a]);
    const session = "dkreset";
    const screen = () => tmux(["capture-pane", "-p", "-t", session, "-S", "-200"]).stdout;
    const waitFor = async (text: RegExp) => {
      for (let i = 0; i < 1200 && !text.test(screen()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(screen()).toMatch(text);
    };
    const command = [process.execPath, CLI, "reset", `${host.user}@${host.ip}`, ...node()].map((a) => `'${a}'`).join(" ");
    try {
      for (const answer of ["n", "y"]) {
        tmux(["kill-session", "-t", session]);
        expect(tmux(["new-session", "-d", "-s", session, "-x", "220", "-y", "60", `sleep 0.5; ${command}; echo EXITED $?; sleep 60`]).status).toBe(0);
        await waitFor(/Are you sure you want to proceed\? \[y\/N\]:/);
        expect(screen()).toMatch(/set up by dk-bootstrap as node kubernetes of /);
        tmux(["send-keys", "-t", session, answer, "Enter"]);
        await waitFor(/EXITED \d+/);
        if (answer === "n") {
          expect(screen()).toMatch(/error: .*reset not confirmed: nothing was removed\n/);
          expect(screen()).toMatch(/EXITED 1/);
          expect(run("pgrep", ["-u", host.user, "-f", join(work, "node")]).stdout).not.toBe("");
        }
      }
      expect(screen()).toMatch(/reset done\n/);
      expect(screen()).toMatch(/EXITED 0/);
      expect(run("pgrep", ["-u", host.user, "-f", join(work, "node")]).stdout).toBe("");
      expect(readdirSync(join(work, "node"))).toEqual([]);
    } finally {
      tmux(["kill-server"]);
    }
  });

  it("follows ~/.ssh/config: the alias's HostName, User and IdentityFile", async () => {
    const home = join(work, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "config"), `Host lab-node\n  HostName ${host.ip}\n  User ${host.user}\n  IdentityFile ${host.keyFile}\n`);
    const r = await dkAsync(["status", "lab-node", "--known-hosts", join(work, "known_hosts"), "--remote-root", join(work, "node")], {
      cwd: work,
      env: { ...process.env, HOME: home, SSH_AUTH_SOCK: "" },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^STEP\s+DONE/);
  });

  it("refuses a changed key under a hashed [localhost]:port entry, the target spelled LOCALHOST, even with --accept-new-host-key", async () => {
    const relay = await loopbackRelay(host);
    try {
      run(peer("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "old_key")]);
      const old = readFileSync(join(work, "old_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
      const file = join(work, "hashed_known_hosts");
      writeFileSync(file, `[localhost]:${relay.port} ${old}\n`);
      expect(run(peer("ssh-keygen"), ["-H", "-f", file]).status).toBe(0);
      const before = readFileSync(file, "utf8");
      const r = await dkAsync(
        [
          "ssh",
          `${host.user}@LOCALHOST`,
          "-p",
          String(relay.port),
          "-i",
          host.keyFile,
          "--known-hosts",
          file,
          "--accept-new-host-key",
          "--dir",
          join(work, "cluster"),
        ],
        { cwd: work },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^error: \\[localhost\\]:${relay.port}: the host key has CHANGED: it offers ssh-ed25519 SHA256:\\S+, known_hosts has SHA256:\\S+ \\(${file}:1\\)`,
          "m",
        ),
      );
      expect(r.stderr).toContain(
        `hint: if the host was reinstalled: ssh-keygen -R '[localhost]:${relay.port}' -f ${file}, then connect again with --accept-new-host-key`,
      );
      expect(readFileSync(file, "utf8")).toBe(before);
    } finally {
      await relay.close();
    }
  });

  it("names a bad step with the list of steps", () => {
    const r = dk(["ssh", `${host.user}@${host.ip}`, "--dry-run", "--until", "etdc"], { cwd: work });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: --until: unknown step; steps: preflight, etcd, kube-apiserver, .* \(got "etdc"\)/);
  });
});
