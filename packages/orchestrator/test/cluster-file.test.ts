// The cluster file of `apply -f`: validated before anything connects, every problem with its field path.
import { describe, expect, it } from "vitest";
import { load } from "js-yaml";
import { KEY_ALGORITHMS } from "@dk-bootstrap/pki";
import { KEY_ALGORITHMS as CORE_KEY_ALGORITHMS } from "@dk-bootstrap/pki/core";
import { ClusterFileError, EXAMPLE_CLUSTER_FILE, parseClusterFile } from "../src/cluster-file.js";

const head = "apiVersion: dk-bootstrap/v1alpha1\nkind: Cluster\nmetadata:\n  name: demo\n";
const hosts = (...lines: string[]) => `${head}spec:\n  hosts:\n${lines.join("\n")}\n`;
const problemsOf = (text: string): string[] => {
  try {
    parseClusterFile(text, "cluster.yaml");
  } catch (e) {
    if (e instanceof ClusterFileError) return e.problems;
    throw e;
  }
  return [];
};

describe("a good cluster file", () => {
  it("reads hosts, roles, IPs and defaults", () => {
    const { cluster, warnings } = parseClusterFile(
      hosts(
        "    - { ssh: { address: 10.0.0.1, user: root }, role: controller+worker, nodeName: cp1, nodeIP: 10.0.0.1 }",
        "    - { ssh: { address: 10.0.0.2, port: 2222 }, role: controller, nodeIP: [10.0.0.2, 'fd00::2'], remoteRoot: /opt/k8s }",
        "    - { ssh: { address: 10.0.0.3 }, role: controller }",
        "    - { ssh: { address: 10.0.0.4 }, role: worker, reset: true }",
      ) + "  apiEndpoint: https://k8s.example.com:6443\n  network: { serviceCIDR: 10.96.0.0/12 }\n",
      "cluster.yaml",
    );
    expect(warnings).toEqual([]);
    expect(cluster.name).toBe("demo");
    expect(cluster.hosts.map((h) => [h.ssh.address, h.role, h.nodeName, h.nodeIPs, h.remoteRoot, h.reset])).toEqual([
      ["10.0.0.1", "controller+worker", "cp1", ["10.0.0.1"], "/", false],
      ["10.0.0.2", "controller", undefined, ["10.0.0.2", "fd00::2"], "/opt/k8s", false],
      ["10.0.0.3", "controller", undefined, [], "/", false],
      ["10.0.0.4", "worker", undefined, [], "/", true],
    ]);
    expect(cluster.apiEndpoint).toBe("https://k8s.example.com:6443");
    expect(cluster.network.serviceCIDR).toBe("10.96.0.0/12");
  });

  it("warns about an even number of controllers (a host being reset does not count)", () => {
    const { warnings } = parseClusterFile(
      hosts(
        "    - { ssh: { address: a }, role: controller }",
        "    - { ssh: { address: b }, role: controller+worker }",
        "    - { ssh: { address: c }, role: controller, reset: true }",
      ),
      "c.yaml",
    );
    expect(warnings).toEqual(["c.yaml: 2 controllers: an even number of etcd members tolerates no more failures than 1"]);
  });

  it("init's example is a valid file, and YAML", () => {
    expect(load(EXAMPLE_CLUSTER_FILE)).toBeTypeOf("object");
    expect(parseClusterFile(EXAMPLE_CLUSTER_FILE, "example").cluster.hosts).toHaveLength(2);
  });
});

describe("a bad cluster file: every problem, each with its field path", () => {
  it.each<[string, string, string[]]>([
    [
      "an unknown field",
      hosts("    - { ssh: { address: a }, role: worker, nodeIp: 10.0.0.1 }", "    - { ssh: { address: b }, role: controller }"),
      ["spec.hosts[0].nodeIp: unknown field"],
    ],
    [
      "a bad role",
      hosts("    - { ssh: { address: a }, role: master }", "    - { ssh: { address: b }, role: controller }"),
      ['spec.hosts[0].role: expected one of controller, worker, controller+worker (got "master")'],
    ],
    [
      "a duplicate address and node name",
      hosts("    - { ssh: { address: Node1 }, role: controller, nodeName: n }", "    - { ssh: { address: node1, port: 22 }, role: worker, nodeName: n }"),
      ["spec.hosts[1].ssh.address: the same SSH address as spec.hosts[0] (node1:22)", "spec.hosts[1].nodeName: the same node name as spec.hosts[0] (n)"],
    ],
    [
      "a worker-only cluster",
      hosts("    - { ssh: { address: a }, role: worker }"),
      ["spec.hosts: no controller: a cluster needs at least one host with role controller or controller+worker"],
    ],
    [
      "bad values",
      hosts("    - { ssh: { address: a, port: 70000 }, role: controller, nodeName: CP_1, nodeIP: 300.1.1.1, remoteRoot: opt }") +
        "  apiEndpoint: http://x:6443\n  network: { cni: flannel }\n",
      [
        'spec.apiEndpoint: expected a https URL (got "http://x:6443")',
        'spec.network.cni: expected one of bridge, calico (got "flannel")',
        "spec.hosts[0].ssh.port: expected a TCP port, 1 to 65535 (got 70000)",
        "spec.hosts[0].nodeName: expected a DNS-1123 subdomain (lower case, digits, '-', '.') (got \"CP_1\")",
        'spec.hosts[0].nodeIP: expected an IP address or a list of them (got "300.1.1.1")',
        'spec.hosts[0].remoteRoot: expected an absolute path (got "opt")',
      ],
    ],
    [
      "no role, no address",
      hosts("    - { ssh: { user: root } }", "    - { role: controller }"),
      [
        "spec.hosts[0].role: required: controller, worker or controller+worker",
        "spec.hosts[0].ssh.address: required",
        "spec.hosts[1].ssh: required, with at least an address",
      ],
    ],
    [
      "another kind",
      "apiVersion: v1\nkind: Config\n",
      [
        'apiVersion: expected dk-bootstrap/v1alpha1 (got "v1")',
        'kind: expected Cluster (got "Config")',
        "spec: expected a mapping with hosts",
        "spec.hosts: expected a list of at least one host",
      ],
    ],
  ])("%s", (_, text, want) => {
    expect(problemsOf(text).sort()).toEqual([...want].sort());
  });

  it("takes pki's key algorithms, the list both of pki's entries export, and no other", () => {
    expect(CORE_KEY_ALGORITHMS).toEqual(KEY_ALGORITHMS);
    expect(KEY_ALGORITHMS).toEqual(["rsa", "ecdsa", "ed25519"]);
    const controller = "    - { ssh: { address: a }, role: controller }";
    for (const algo of KEY_ALGORITHMS)
      expect(parseClusterFile(`${hosts(controller)}  pki: { keyAlgorithm: ${algo} }\n`, "c.yaml").cluster.pki.keyAlgorithm).toBe(algo);
    expect(problemsOf(`${hosts(controller)}  pki: { keyAlgorithm: dsa }\n`)).toEqual([
      'spec.pki.keyAlgorithm: expected one of rsa, ecdsa, ed25519 (got "dsa")',
    ]);
  });

  it("says each problem on its own line, file first", () => {
    try {
      parseClusterFile(hosts("    - { ssh: { address: a }, role: master }"), "c.yaml");
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message.split("\n")).toEqual([
        'c.yaml: spec.hosts[0].role: expected one of controller, worker, controller+worker (got "master")',
        "c.yaml: spec.hosts: no controller: a cluster needs at least one host with role controller or controller+worker",
      ]);
    }
  });
});

describe("a hostile cluster file", () => {
  const controller = "    - { ssh: { address: 10.0.0.1 }, role: controller }";

  it("is read by its own fields only: Object.prototype's names are unknown fields, not checks (valueOf was a crash)", () => {
    expect(problemsOf(`${hosts(controller)}  valueOf: 1\n`)).toEqual(["spec.valueOf: unknown field"]);
    expect(problemsOf(`${hosts(controller)}  toString: { a: 1 }\n`)).toEqual(["spec.toString: unknown field"]);
    expect(problemsOf(`${hosts(controller)}  __proto__: { mirror: 1 }\n`)).toEqual(["spec.__proto__: unknown field"]);
    expect(problemsOf(`${hosts("    - { ssh: { address: 10.0.0.1, constructor: 1 }, role: controller }")}`)).toEqual([
      "spec.hosts[0].ssh.constructor: unknown field",
    ]);
  });

  it("is refused when it is mostly alias expansion (a few hundred bytes that stand for a billion strings)", () => {
    const levels = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    const bomb = levels
      .map(
        (l, i) =>
          `    ${l}: &${l} [${Array(9)
            .fill(i === 0 ? '"lol"' : `*${levels[i - 1]}`)
            .join(",")}]`,
      )
      .join("\n");
    // Echoed back as it was (spec.mirror is no URL), the list would be written out: 9^9 strings.
    const text = `${hosts(controller)}  x:\n${bomb}\n  mirror: *i\n`;
    expect(text.length).toBeLessThan(1024);
    expect(problemsOf(text)).toEqual(["not readable YAML: document contains excessive aliasing"]);
  });

  it("echoes a bad value cut short, and a mapping or list by its kind", () => {
    const [long] = problemsOf(`${hosts(controller)}  mirror: "${"x".repeat(5000)}"\n`);
    expect(long).toBe(`spec.mirror: expected a URL (got "${"x".repeat(79)}… (5002 characters))`);
    expect(problemsOf(`${hosts(controller)}  mirror: [1, 2]\n`)).toEqual(["spec.mirror: expected a URL (got a list of 2)"]);
    expect(problemsOf(`${hosts(controller)}  knownHosts: { a: 1 }\n`)).toEqual(["spec.knownHosts: expected a non-empty string (got a mapping)"]);
  });
});
