// apply -f for 3 controllers and 2 workers, without connecting: each host's script, and each node's certificates.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_VERSIONS, hostSpec, parseClusterFile, writeClusterPki } from "@dk-bootstrap/orchestrator";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";

const FILE = `apiVersion: dk-bootstrap/v1alpha1
kind: Cluster
metadata: { name: demo }
spec:
  hosts:
    - { ssh: { address: 10.9.0.1 }, role: controller, nodeName: cp1 }
    - { ssh: { address: 10.9.0.2 }, role: controller, nodeName: cp2 }
    - { ssh: { address: 10.9.0.3 }, role: controller+worker, nodeName: cp3 }
    - { ssh: { address: 10.9.0.11 }, role: worker, nodeName: w1 }
    - { ssh: { address: 10.9.0.12 }, role: worker, nodeName: w2 }
  apiEndpoint: https://k8s.example.com:6443
  versions: { kubernetes: 1.35.2 }
  pki: { keyAlgorithm: ecdsa }
`;
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const NODE = ["containerd", "kubelet", "cni", "kube-proxy"];

/** The dry run split into hosts, each with its steps' text. */
function scripts(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const part of text.split(/^# host: /m).slice(1)) {
    const name = part.slice(0, part.indexOf("\n"));
    const steps = new Map<string, string>();
    for (const s of part.split(/^# step: /m).slice(1)) steps.set(s.slice(0, s.indexOf("\n")), s);
    out.set(name, steps);
  }
  return out;
}

describe("apply --dry-run of 3 controllers and 2 workers", () => {
  const cwd = tempDir();
  writeFileSync(join(cwd, "cluster.yaml"), FILE);
  const r = dk(["apply", "-f", "cluster.yaml", "--dry-run"], { cwd });
  const hosts = scripts(r.stdout);

  it("prints one script per host, each starting with # host:", () => {
    expect(r.status, r.stderr).toBe(0);
    expect([...hosts.keys()]).toEqual(["cp1", "cp2", "cp3", "w1", "w2"]);
  });

  it("runs no control-plane component on a worker, and the node's components on every kubelet host", () => {
    for (const w of ["w1", "w2"]) {
      expect([...hosts.get(w)!.keys()].filter((s) => s !== "preflight")).toEqual(NODE);
      expect(r.stdout.split(`# host: ${w}`)[1]!.split("# host:")[0]).not.toMatch(/dk_start (etcd|kube-apiserver|kube-controller-manager|kube-scheduler) /);
    }
    for (const c of ["cp1", "cp2"]) expect([...hosts.get(c)!.keys()].filter((s) => CONTROL_PLANE.includes(s) || NODE.includes(s))).toEqual(CONTROL_PLANE);
    expect([...hosts.get("cp3")!.keys()].filter((s) => s !== "preflight")).toEqual([...CONTROL_PLANE, ...NODE]);
  });

  it("gives every apiserver every etcd member, and every member the whole initial cluster", () => {
    const ips = { cp1: "10.9.0.1", cp2: "10.9.0.2", cp3: "10.9.0.3" };
    for (const [name, ip] of Object.entries(ips)) {
      const servers = /--etcd-servers=(\S+)/.exec(hosts.get(name)!.get("kube-apiserver")!)![1]!.split(",");
      expect(servers.sort()).toEqual(
        [
          "https://127.0.0.1:2379",
          ...Object.values(ips)
            .filter((x) => x !== ip)
            .map((x) => `https://${x}:2379`),
        ].sort(),
      );
      expect(hosts.get(name)!.get("etcd")).toContain("--initial-cluster=cp1=https://10.9.0.1:2380,cp2=https://10.9.0.2:2380,cp3=https://10.9.0.3:2380");
      expect(hosts.get(name)!.get("etcd")).toContain(`--listen-peer-urls=https://${ip}:2380`);
    }
  });

  it("applies the cluster-wide objects once, on the first controller", () => {
    const withRbac = [...hosts].filter(([, steps]) => steps.has("rbac") || steps.has("coredns")).map(([n]) => n);
    expect(withRbac).toEqual(["cp1"]);
  });
});

describe("the PKI apply writes for 3 controllers and 2 workers", () => {
  it("gives each kubelet its own identity, each apiserver its node's IP and the apiEndpoint, workers the endpoint", async () => {
    const dir = tempDir();
    const { cluster } = parseClusterFile(FILE, "cluster.yaml");
    const active = cluster.hosts;
    const specs = active.map((h, i) =>
      hostSpec(
        cluster,
        h,
        { nodeName: h.nodeName!, nodeIPs: [h.ssh.address] },
        { dir, versions: DEFAULT_VERSIONS, clusterSteps: i === 0, controllerIp: "10.9.0.1" },
      ),
    );
    await writeClusterPki({ dir, cluster }, specs, "10.9.0.1");
    const openssl = (...args: string[]) => run(peer("openssl"), args).stdout;
    for (const h of active) {
      const pki = join(dir, "nodes", h.nodeName!, "pki");
      if (h.role !== "worker") {
        const sans = openssl("x509", "-in", join(pki, "apiserver.crt"), "-noout", "-ext", "subjectAltName");
        expect(sans, h.nodeName).toContain(`IP Address:${h.ssh.address}`);
        expect(sans, h.nodeName).toContain("DNS:k8s.example.com");
        expect(openssl("verify", "-CAfile", join(dir, "pki", "ca.crt"), join(pki, "apiserver.crt")).trim()).toMatch(/: OK$/);
      }
      if (h.role !== "controller") {
        expect(openssl("x509", "-in", join(pki, "clients", "kubelet.crt"), "-noout", "-subject", "-nameopt", "RFC2253").trim()).toBe(
          `subject=CN=system:node:${h.nodeName},O=system:nodes`,
        );
        const kubelet = readFileSync(join(dir, "nodes", h.nodeName!, "kubelet.conf"), "utf8");
        expect(kubelet).toContain(`server: ${h.role === "worker" ? "https://k8s.example.com:6443" : "https://127.0.0.1:6443"}`);
        expect(kubelet).toContain(`name: system:node:${h.nodeName}`);
      }
    }
    expect(readFileSync(join(dir, "admin.conf"), "utf8")).toContain("server: https://k8s.example.com:6443");
  });
});

describe("apply: a bad file changes nothing", () => {
  it("names every problem with its field path, one line each", () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, "c.yaml"),
      FILE.replace("role: worker, nodeName: w2", "role: boss, nodeName: w1").replace("nodeName: cp2", "nodeName: cp2, color: red"),
    );
    const r = dk(["apply", "-f", "c.yaml"], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
      "error: c.yaml: spec.hosts[1].color: unknown field",
      'error: c.yaml: spec.hosts[4].role: expected one of controller, worker, controller+worker (got "boss")',
      "error: c.yaml: spec.hosts[4].nodeName: the same node name as spec.hosts[3] (w1)",
    ]);
    expect(run("ls", ["-A", cwd]).stdout.trim()).toBe("c.yaml");
  });

  it("names a value of network and pki by its field of the file, never by a flag or a CSR's field", () => {
    const cwd = tempDir();
    const file = dk(["init"])
      .stdout.replace("serviceCIDR: 10.0.0.0/24", "serviceCIDR: 10.0.0.0")
      .replace("podCIDR: 10.244.0.0/16", "podCIDR: nope")
      .replace("clusterDomain: cluster.local", 'clusterDomain: "bad domain"');
    writeFileSync(join(cwd, "c.yaml"), `${file}  pki:\n    keyAlgorithm: ecdsa\n    keySize: 2048\n    certificateValidity: 1y\n`);
    const r = dk(["apply", "-f", "c.yaml", "--dry-run"], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
      'error: c.yaml: spec.network.serviceCIDR: not a CIDR with room for a Service IP, e.g. 10.0.0.0/24 (got "10.0.0.0")',
      'error: c.yaml: spec.network.podCIDR: not a CIDR, e.g. 10.244.0.0/16 (got "nope")',
      'error: c.yaml: spec.network.clusterDomain: must be a DNS name (got "bad domain")',
      "error: c.yaml: spec.pki.keySize: ECDSA key size must be 256, 384 or 521 (got 2048)",
      'error: c.yaml: spec.pki.certificateValidity: invalid duration, expected Go syntax such as "8760h" or "1h30m" (got "1y")',
    ]);
    expect(r.stderr).toMatch(/\nhint: fix these fields; `dk-bootstrap init` prints a commented example\n$/);
    expect(r.stdout).toBe("");
  });

  it("init prints a file apply reads", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "c.yaml"), dk(["init"]).stdout);
    const r = dk(["apply", "-f", "c.yaml", "--dry-run"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# host: cp1$/m);
  });
});

describe("apply: upgrades the version-skew policy allows, and only those", () => {
  const running = { ...DEFAULT_VERSIONS, kubernetes: "1.34.2", etcd: "3.6.5" };
  const attempt = (versions: string, ...flags: string[]) => {
    const cwd = tempDir();
    // What the last apply recorded the cluster runs.
    mkdirSync(join(cwd, "cluster"), { recursive: true });
    writeFileSync(join(cwd, "cluster", "apply-record.json"), JSON.stringify({ versions: running, token: "t", started: {} }));
    writeFileSync(join(cwd, "cluster.yaml"), FILE.replace("versions: { kubernetes: 1.35.2 }", `versions: { ${versions} }`));
    return dk(["apply", "-f", "cluster.yaml", "--dry-run", ...flags], { cwd });
  };
  it.each<[string, string[], RegExp]>([
    ["kubernetes: 1.36.0", [], /Kubernetes 1.34.2 -> 1.36.0 skips a minor version: the version-skew policy allows one minor at a time \(1.35 first\)/],
    ["kubernetes: 1.33.9", [], /Kubernetes 1.34.2 -> 1.33.9 is a downgrade: refused/],
    ["kubernetes: 1.34.1", [], /Kubernetes 1.34.2 -> 1.34.1 is a downgrade: refused \(--force allows a patch downgrade\)/],
    ["kubernetes: 1.33.9", ["--force"], /is a downgrade: refused/],
    ["kubernetes: 1.34.2, etcd: 3.5.21", [], /etcd 3.6.5 -> 3.5.21 is a downgrade/],
  ])("%s %j is refused before anything connects", (versions, flags, pattern) => {
    const r = attempt(versions, ...flags);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.stdout).toBe("");
  });
  it.each<[string, string[]]>([
    ["kubernetes: 1.35.0", []],
    ["kubernetes: 1.34.3", []],
    ["kubernetes: 1.34.1", ["--force"]],
  ])("%s %j is planned", (versions, flags) => {
    const r = attempt(versions, ...flags);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# host: cp1$/m);
  });
});

describe("apply: the cluster folder's record", () => {
  const withRecord = (record: string, file = FILE) => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "cluster"), { recursive: true });
    writeFileSync(join(cwd, "cluster", "apply-record.json"), record);
    writeFileSync(join(cwd, "cluster.yaml"), file);
    return { cwd, r: dk(["apply", "-f", "cluster.yaml", "--dry-run"], { cwd }) };
  };

  it("a `null` record is refused in one line that says what is wrong, not as a bug", () => {
    const { cwd, r } = withRecord("null");
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
      `error: ${join(cwd, "cluster", "apply-record.json")}: expected an object, got null`,
    ]);
    expect(r.stderr).not.toMatch(/bug/);
  });

  it("--dry-run prints the membership plan (add, remove, reset) as comments, before the scripts", () => {
    const members = ["cp1", "cp2", "cp3"].map((name, i) => ({ name, ip: `10.9.0.${i + 1}` }));
    const started = Object.fromEntries(members.map((m) => [m.name, { state: "new", members }]));
    const file = FILE.replace("nodeName: cp3 }", "nodeName: cp3, reset: true }").replace(
      "    - { ssh: { address: 10.9.0.11 }",
      "    - { ssh: { address: 10.9.0.4 }, role: controller, nodeName: cp4 }\n    - { ssh: { address: 10.9.0.11 }",
    );
    const { r } = withRecord(JSON.stringify({ token: "t", started }), file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split("# host: ")[0]!.split("\n")).toEqual([
      "# etcd membership (from the file and apply-record.json; a real run asks the members first):",
      "#   add member cp4: member add --learner through a started member, start it, promote it once it has caught up",
      "#   remove member cp3: member remove through a started member, then reset the host",
      "",
    ]);
  });
});

describe("apply --max-unavailable-workers", () => {
  it.each(["0", "1.5", "two"])("%s is refused in one line before anything else", (value) => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "cluster.yaml"), FILE);
    const r = dk(["apply", "-f", "cluster.yaml", "--dry-run", "--max-unavailable-workers", value], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
      `error: --max-unavailable-workers: must be a whole number of workers, 1 or more (got "${value}")`,
    ]);
    expect(r.stdout).toBe("");
  });
  it("2 is taken", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "cluster.yaml"), FILE);
    const r = dk(["apply", "-f", "cluster.yaml", "--dry-run", "--max-unavailable-workers", "2"], { cwd });
    expect(r.status, r.stderr).toBe(0);
  });
});
