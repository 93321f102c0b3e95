import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load, loadAll } from "js-yaml";
// The Kubernetes API types as generated from the upstream OpenAPI (client-node 1.4): a field they do not know is dropped.
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import { describe, expect, it } from "vitest";
import { NODE_PORTS_LOCK, holdLock } from "../../../test-support/machine.js";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import {
  LocalTransport,
  type RunEvent,
  bootstrap,
  NodeLayout,
  type NodeSpec,
  type NodeSpecInput,
  type Step,
  type StepContext,
  dnsServiceIP,
  explainStep,
  nodeSpec,
  plan,
  preamble,
  raw,
  renderScript,
  STEPS,
} from "../src/index.js";
import { contextFor, stepHash } from "../src/context.js";
import { corednsVersion } from "../src/steps/coredns.js";
import { preflight } from "../src/steps/preflight.js";
import { wrap } from "../src/transport/wrap.js";

const work = tempDir();
const spec = (over: Omit<NodeSpecInput, "dir"> = {}) => nodeSpec({ dir: join(work, "cluster"), ...over });
const ctx = (s: NodeSpec, supervisor: StepContext["supervisor"]): StepContext => ({ spec: s, node: new NodeLayout(s.remoteRoot), arch: "amd64", supervisor });
const step = (id: string, s: NodeSpec = spec()) => plan({}, s).find((x) => x.id === id)!;
/** A generated file's content. */
const file = (st: Step, c: StepContext, suffix: string) => st.files(c).find((f) => f.path.endsWith(suffix))!.content!;

/** The lines of one step's section in a rendered plan. */
function section(script: string, id: string): string {
  const start = script.indexOf(`# step: ${id}\n`);
  expect(start, id).toBeGreaterThan(-1);
  const next = script.indexOf("\n# step: ", start + 1);
  return script.slice(start, next < 0 ? undefined : next);
}

describe("the rendered plan is clean shell", () => {
  it.each([
    ["remote root /", {}],
    ["a remote root of one's own", { remoteRoot: "/home/me/k8s" }],
    ["Calico, Traefik, no DNS", { cni: "calico", ingress: "traefik", dns: "none" }],
  ] as const)("%s: shellcheck finds nothing, dash and bash parse it", (_name, over) => {
    const path = join(work, `plan-${Object.keys(over).join("-") || "default"}.sh`);
    writeFileSync(path, renderScript(spec(over as Omit<NodeSpecInput, "dir">)));
    const sc = run(peer("shellcheck"), ["-s", "sh", path]);
    expect(sc.status, sc.stdout).toBe(0);
    for (const sh of ["dash", "bash"]) expect(run(peer(sh), ["-n", path]).status, sh).toBe(0);
  });

  // What reset runs for each step that made something outside its files (containers, mounts, the bridge, chains).
  it.each([
    ["remote root /", "/", "v2"],
    ["a remote root of one's own, cgroup v1", "/home/me/k8s", "v1"],
  ] as const)("the teardowns, %s: shellcheck finds nothing, dash and bash parse them", (_name, remoteRoot, cgroup) => {
    const s = spec({ remoteRoot });
    const c: StepContext = { spec: s, node: new NodeLayout(remoteRoot), arch: "amd64", supervisor: "process", cgroup };
    const teardowns = STEPS.filter((st) => st.teardown);
    expect(teardowns.map((st) => st.id)).toEqual(["containerd", "kubelet", "cni", "kube-proxy"]);
    const path = join(work, `teardown-${cgroup}.sh`);
    writeFileSync(path, teardowns.map((st) => `# ${st.id}\n${st.teardown!(c).text}\n`).join(""));
    const sc = run(peer("shellcheck"), ["-s", "sh", path]);
    expect(sc.status, sc.stdout).toBe(0);
    for (const sh of ["dash", "bash"]) expect(run(peer(sh), ["-n", path]).status, sh).toBe(0);
  });
});

describe("the plan's units, as systemd reads them", () => {
  const root = join(work, "unit-root");
  const units = join(root, "etc/systemd/system");
  const c = ctx(spec(), "systemd");

  /** Each step's `dk_start` command (with its continuation lines), as the step's script has it. */
  const startCommands = (text: string) => [...text.matchAll(/^(?:DK_\w+=\S+ )?dk_start (?:.*\\\n)*.*$/gm)].map((m) => m[0]);

  it("every component's unit passes systemd-analyze verify; the apiserver comes after etcd, the kubelet after containerd", () => {
    mkdirSync(units, { recursive: true });
    cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true });
    const commands = plan({}, c.spec).flatMap((s) => startCommands(s.script(c).text));
    const names = commands.map((cmd) => /dk_start (\S+)/.exec(cmd)![1]!);
    expect(names).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet", "pod-routes", "kube-proxy"]);
    // The programs, where the units point (verify checks that ExecStart is executable).
    for (const cmd of commands) {
      const exe = join(root, /dk_start \S+ (\S+)/.exec(cmd)![1]!);
      mkdirSync(join(exe, ".."), { recursive: true });
      writeFileSync(exe, "#!/bin/sh\n");
      chmodSync(exe, 0o755);
    }
    const body = [`DK_UNITS=${units}; dk_systemd() { true; }; systemctl() { :; }`, ...commands].join("\n");
    const r = run(peer("dash"), ["-c", wrap(raw(`${preamble(c.node).text}\n${body}`))]);
    expect(r.status, r.stderr).toBe(0);
    const files = names.map((n) => `dk-${n}.service`);
    expect(readdirSync(units).sort()).toEqual([...files].sort());
    const verify = run(peer("systemd-analyze"), ["verify", `--root=${root}`, ...files]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr).toBe("");
    const unit = (n: string) => readFileSync(join(units, `dk-${n}.service`), "utf8");
    expect(unit("kube-apiserver")).toMatch(/^After=network-online.target dk-etcd.service$/m);
    expect(unit("kube-apiserver")).toMatch(/^Wants=network-online.target dk-etcd.service$/m);
    expect(unit("kubelet")).toMatch(/^After=network-online.target dk-containerd.service$/m);
    expect(unit("etcd")).toMatch(/^ExecStart="\/usr\/local\/bin\/etcd" "--name=kubernetes" /m);
    // etcd and containerd say when they serve: what comes after them starts then.
    for (const n of ["etcd", "containerd"]) expect(unit(n), n).toMatch(/^Type=notify$/m);
    for (const n of ["kube-apiserver", "kubelet", "kube-proxy"]) expect(unit(n), n).toMatch(/^Type=simple$/m);
  });
});

describe("a node that reboots comes back by itself", () => {
  it("the containerd step writes modules-load.d and sysctl.d files, and sets the same now (no other step does)", () => {
    const c = ctx(spec(), "systemd");
    const containerd = step("containerd");
    expect(
      file(containerd, c, "/etc/modules-load.d/dk-bootstrap.conf")
        .split("\n")
        .filter((l) => l && !l.startsWith("#")),
    ).toEqual(["overlay", "br_netfilter"]);
    const sysctl = Object.fromEntries(
      file(containerd, c, "/etc/sysctl.d/99-dk-bootstrap.conf")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split(/\s*=\s*/)),
    );
    expect(sysctl).toEqual({ "net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1", "net.bridge.bridge-nf-call-ip6tables": "1" });
    expect(containerd.script(c).text).toMatch(/^sysctl -q -p \/etc\/sysctl.d\/99-dk-bootstrap.conf$/m);
    // inotify instances (128 by default, too few for a kubelet on a busy machine): raised to 8192 where lower, never lowered.
    expect(file(containerd, c, "/etc/sysctl.d/98-dk-bootstrap-inotify.conf")).toMatch(/^fs\.inotify\.max_user_instances = 8192$/m);
    expect(containerd.script(c).text).toMatch(
      /^\[ "\$\(sysctl -n fs\.inotify\.max_user_instances\)" -ge 8192 \] \|\| sysctl -q -p \/etc\/sysctl\.d\/98-dk-bootstrap-inotify\.conf$/m,
    );
    const others = plan({}, c.spec).filter((s) => s.id !== "containerd");
    for (const s of others) expect(s.script(c).text, s.id).not.toMatch(/sysctl -\w*w|modprobe (?!-n)/);
  });
});

describe("the cgroup driver follows the supervisor", () => {
  const cfg = (c: StepContext) => ({
    kubelet: (load(file(step("kubelet", c.spec), c, "/var/lib/kubelet/config.yaml")) as { cgroupDriver: string }).cgroupDriver,
    containerd: /SystemdCgroup = (\w+)/.exec(file(step("containerd", c.spec), c, "/etc/containerd/config.toml"))![1],
  });

  it("systemd under systemd, cgroupfs with detached processes, in both the kubelet and containerd", () => {
    expect(cfg(ctx(spec(), "systemd"))).toEqual({ kubelet: "systemd", containerd: "true" });
    expect(cfg(ctx(spec({ remoteRoot: "/home/me/k8s" }), "process"))).toEqual({ kubelet: "cgroupfs", containerd: "false" });
  });

  it("is asked of the node: here (no systemd running) a plan for remote root / gets cgroupfs", async () => {
    const c = await contextFor(spec({ arch: "amd64" }), new LocalTransport());
    expect(c.supervisor).toBe("process");
    expect(cfg(c)).toEqual({ kubelet: "cgroupfs", containerd: "false" });
  });

  it("a dry run's guess is checked on the node: a plan made for systemd stops on a node without it", () => {
    const c = ctx(spec({ remoteRoot: join(work, "guard") }), "systemd");
    const guard = step("kubelet", c.spec).script(c).text.split("\n")[0]!;
    const r = run(peer("dash"), ["-c", wrap(raw(`${preamble(c.node).text}\n${guard}\necho went on`))]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/this plan was made for a node where systemd runs/);
  });
});

describe("preflight", () => {
  it("is a step a run can stop at, and explain knows it", () => {
    expect(plan({ until: "preflight" })).toEqual([]);
    expect(plan({ from: "preflight" }).map((s) => s.id)).toEqual(plan().map((s) => s.id));
    expect(() => plan({ until: "etdc" })).toThrow(/unknown step; steps: preflight, etcd, /);
    const explained = explainStep(spec(), "preflight");
    expect(explained).toMatch(/^preflight: preflight checks\n/);
    expect(explained).toMatch(/iptables is missing/);
    const only = renderScript(spec(), { until: "preflight" });
    expect([...only.matchAll(/^# step: (\S+)$/gm)].map((m) => m[1])).toEqual(["preflight"]);
    // ...checking for the whole plan.
    expect(only).toMatch(/for spec in 2379:etcd 2380:etcd 6443:kube-apiserver 10257:kube-controller 10259:kube-scheduler 10250:kubelet 10256:kube-proxy; do/);
  });

  it("a run --until preflight runs the checks for the steps a whole run would make, then stops (here: from web, on this machine)", async () => {
    const root = join(work, "until-preflight");
    const events: RunEvent[] = [];
    // The checks include this machine's node ports, which another run's local etcd may hold: taken in turn.
    const lock = await holdLock(NODE_PORTS_LOCK, work);
    const r = await bootstrap(spec({ remoteRoot: root, arch: "amd64" }), new LocalTransport(), {
      from: "web",
      until: "preflight",
      events: (e) => events.push(e),
    }).finally(() => lock.release());
    expect(r).toEqual({ done: [], skipped: [] });
    expect(events.filter((e) => e.type === "step-start").map((e) => (e as { step: string }).step)).toEqual(["preflight"]);
    expect(events.filter((e) => e.type === "step-done").map((e) => (e as { step: string }).step)).toEqual(["preflight"]);
  }, 960_000);

  it("asks for iptables (cni, kube-proxy), and for conntrack only where kube-proxy still runs it (before 1.32)", () => {
    const text = (v: string) => {
      const s = spec({ versions: { kubernetes: v } });
      return preflight(plan({}, s), new Date(0), s).script(ctx(s, "systemd")).text;
    };
    expect(text("1.34.2")).toMatch(/iptables is missing \(needed for cni: .*masquerade.*; kube-proxy: the Service rules/);
    expect(text("1.34.2")).not.toMatch(/command -v conntrack/);
    expect(text("1.31.4")).toMatch(/command -v conntrack .*conntrack is missing/);
    expect(text("1.34.2")).toMatch(/\/sys\/module\/nf_conntrack/);
  });

  /** Runs the preflight of the whole plan with only the programs in `bin` (a copy of this machine's, minus some, plus stubs). */
  function preflightWith(name: string, without: string[], stubs: Record<string, string>, edit: (script: string) => string = (x) => x) {
    const bin = join(work, `bin-${name}`);
    mkdirSync(bin, { recursive: true });
    for (const dir of ["/usr/sbin", "/usr/bin"])
      for (const f of readdirSync(dir)) {
        if (without.includes(f) || f in stubs) continue;
        try {
          symlinkSync(join(dir, f), join(bin, f));
        } catch {
          // the same name in both folders: the first wins, as in PATH
        }
      }
    for (const [f, body] of Object.entries(stubs)) {
      writeFileSync(join(bin, f), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, f), 0o755);
    }
    const c = ctx(spec({ remoteRoot: join(work, `root-${name}`) }), "process");
    const script = `set -e\nexport PATH=${bin}\n${preamble(c.node).text}\n${preflight(plan({}, c.spec), new Date(0), c.spec).script(c).text}`;
    return run(join(bin, "dash"), ["-c", edit(script)]);
  }

  const log = join(work, "changes.log");
  const recording = { sysctl: `echo "sysctl $*" >> ${log}`, modprobe: `echo "modprobe $*" >> ${log}; exit 0`, iptables: "exit 0", nslookup: "exit 0" };

  it("a missing probe tool is a failure: no ss, no iptables", () => {
    const r = preflightWith("no-ss", ["ss", "iptables"], { modprobe: "exit 0", sysctl: "exit 0", nslookup: "exit 0" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^preflight: ss is missing \(needed for checking that the components' ports are free\): install it$/m);
    expect(r.stderr).toMatch(/^preflight: iptables is missing \(needed for cni: .*; kube-proxy: .*\): install it$/m);
  });

  it("an ss that cannot run is a failure too, never a free port", () => {
    const r = preflightWith("broken-ss", [], { ...recording, ss: "echo 'ss: netlink: permission denied' >&2; exit 1" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^preflight: cannot list the sockets listening on port 2379: ss: netlink: permission denied$/m);
  });

  it("changes nothing: no sysctl at all, modprobe only in its dry-run form (-n)", () => {
    writeFileSync(log, "");
    // As on a node with none of the modules loaded (an empty folder for /sys/module), so that every module is asked of modprobe.
    const noModules = join(work, "no-modules");
    mkdirSync(noModules, { recursive: true });
    // The signs a built-in module leaves (steps/kernel.ts) point there too.
    writeFileSync(join(noModules, "filesystems"), "");
    preflightWith("changes", [], { ...recording, ss: "exit 0" }, (script) =>
      script
        .replaceAll("/sys/module/", `${noModules}/`)
        .replaceAll("/proc/sys/net/", `${noModules}/`)
        .replaceAll("/proc/filesystems", `${noModules}/filesystems`),
    );
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    // Every module the plan's steps load, each asked once, and nothing else.
    const modules = plan({}, spec({})).flatMap((s) => Object.keys(s.modules ?? {}));
    expect(modules).toEqual(expect.arrayContaining(["overlay", "br_netfilter"]));
    expect(calls.sort()).toEqual([...new Set(modules)].map((m) => `modprobe -n ${m}`).sort());
  });
});

describe("the `# now:` comments of a plain run are true of a plain run", () => {
  it("no step before `web` says the web Deployment or its Pods exist, except as what --step shows", () => {
    const script = renderScript(spec());
    const ids = [...script.matchAll(/^# step: (\S+)$/gm)].map((m) => m[1]!);
    for (const id of ids.slice(0, ids.indexOf("web"))) {
      const now = section(script, id)
        .split("\n")
        .filter((l) => l.startsWith("#"))
        .join(" ")
        .replace(/.*# now: /, "")
        .replace(/# /g, "");
      const plainRun = now.replace(/\(with `--step`[^)]*\)/g, "");
      expect(plainRun, id).not.toMatch(/\bweb\b/);
    }
  });
});

describe("cluster DNS: CoreDNS as kubeadm installs it", () => {
  it.each([
    ["10.0.0.0/24", "10.0.0.10"],
    ["10.96.0.0/12", "10.96.0.10"],
    ["172.20.128.0/17", "172.20.128.10"],
    ["192.168.7.0/28", "192.168.7.10"],
    ["fd00:10:96::/108", "fd00:10:96::a"],
  ])("Service CIDR %s: the DNS Service, the kubelet's clusterDNS and the check all use %s", (cidr, ip) => {
    const s = spec({ serviceCidr: cidr, clusterDomain: "lab.internal" });
    expect(dnsServiceIP(cidr)).toBe(ip);
    const script = renderScript(s);
    const manifests = loadAll(heredoc(script, "/etc/kubernetes/manifests/coredns.yaml")) as { kind: string; spec?: { clusterIP?: string } }[];
    expect(manifests.map((m) => m.kind)).toEqual(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Service"]);
    expect(manifests[5]!.spec!.clusterIP).toBe(ip);
    const kubelet = load(heredoc(script, "/var/lib/kubelet/config.yaml")) as { clusterDNS: string[]; clusterDomain: string };
    expect(kubelet.clusterDNS).toEqual([ip]);
    expect(kubelet.clusterDomain).toBe("lab.internal");
    expect(section(script, "coredns")).toContain(`nslookup kubernetes.default.svc.lab.internal ${ip}`);
  });

  it("every field of every manifest is one the Kubernetes API types know (a round trip through client-node's models keeps it all)", () => {
    const docs = loadAll(file(step("coredns"), ctx(spec(), "systemd"), "coredns.yaml")) as { kind: string; spec?: object }[];
    const roundTrip = (d: object, kind: string) => ObjectSerializer.serialize(ObjectSerializer.deserialize(d, `V1${kind}`, ""), `V1${kind}`, "");
    for (const d of docs) expect(roundTrip(d, d.kind), d.kind).toEqual(d);
    // The check can fail: a misspelt field is dropped.
    const deployment = docs.find((d) => d.kind === "Deployment")!;
    const typo = { ...deployment, spec: { ...deployment.spec, replica: 2 } };
    expect(roundTrip(typo, "Deployment")).not.toEqual(typo);
  });

  it("refuses a Service CIDR too small for the tenth IP", () => {
    expect(() => spec({ serviceCidr: "10.0.0.0/29" })).toThrow(/too small to hold the cluster DNS Service IP/);
  });

  it("comes after the CNI and kube-proxy (it reaches the API through its Service IP), with kubeadm's image for the release", () => {
    const ids = plan({}, spec()).map((s) => s.id);
    expect(ids.indexOf("coredns")).toBe(ids.indexOf("kube-proxy") + 1);
    expect(ids.indexOf("coredns")).toBeGreaterThan(ids.indexOf("cni"));
    expect(corednsVersion("1.34.2")).toBe("1.12.1");
    expect(corednsVersion("1.33.5")).toBe("1.12.0");
    expect(corednsVersion("1.32.9")).toBe("1.11.3");
    const k134 = spec({ versions: { kubernetes: "1.34.2" } });
    const deployment = (loadAll(file(step("coredns", k134), ctx(k134, "systemd"), "coredns.yaml")) as { kind: string; spec: any }[]).find(
      (m) => m.kind === "Deployment",
    )!;
    expect(deployment.spec.template.spec.containers[0].image).toBe("registry.k8s.io/coredns/coredns:v1.12.1");
    const corefile = (loadAll(file(step("coredns"), ctx(spec(), "systemd"), "coredns.yaml")) as { kind: string; data: { Corefile: string } }[]).find(
      (m) => m.kind === "ConfigMap",
    )!.data.Corefile;
    expect(corefile).toMatch(/kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{/);
  });

  it("is on by default; --dns none drops the step and the kubelet's clusterDNS (which would break Pod DNS without it)", () => {
    const none = spec({ dns: "none" });
    expect(plan({}, none).map((s) => s.id)).not.toContain("coredns");
    const kubelet = load(file(step("kubelet", none), ctx(none, "systemd"), "/var/lib/kubelet/config.yaml")) as Record<string, unknown>;
    expect(kubelet.clusterDNS).toBeUndefined();
  });
});

/** The body of the heredoc that writes `path` in a rendered plan. */
function heredoc(script: string, path: string): string {
  const start = script.indexOf(`cat > ${path} <<'DK_EOF'\n`);
  expect(start, path).toBeGreaterThan(-1);
  const body = script.slice(script.indexOf("\n", start) + 1);
  return body.slice(0, body.indexOf("\nDK_EOF\n"));
}

describe("a step's recorded inputs", () => {
  it("include the shell functions it runs with: new ones (say, how a unit is written) make a done step run again", async () => {
    const same: Step = {
      id: "same",
      title: "a step whose own script, check and files do not depend on the node",
      why: "",
      observe: "",
      files: () => [],
      script: () => raw("true"),
      check: () => raw("true"),
      checkTimeout: 1,
      creates: () => [],
      components: [],
    };
    // Two roots: only the functions' settings (DK_ROOT, DK_CACHE, ...) differ.
    const a = await stepHash(ctx(spec({ remoteRoot: "/a" }), "process"), same);
    const b = await stepHash(ctx(spec({ remoteRoot: "/b" }), "process"), same);
    expect(a).not.toBe(b);
  });
});
