// `certs` remembers the cluster it made (cluster.yaml in the folder), as kubeadm keeps its ClusterConfiguration.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { dk, folderSnapshot, peer, run, tempDir } from "../../../test-support/peers.js";
import { formatSavedSettings, parseSavedSettings } from "../src/saved-settings.js";

const sans = (dir: string, name: string) =>
  run(peer("openssl"), ["x509", "-in", join(dir, "cluster", "pki", `${name}.crt`), "-noout", "-ext", "subjectAltName"]).stdout;

describe("certs remembers its settings", () => {
  const dir = tempDir();
  const first = ["certs", "--key-algo", "ecdsa", "--node-name", "node1", "--node-ip", "192.0.2.7", "--cluster-name", "demo", "--service-cidr", "10.96.0.0/12"];

  it("writes them, readable, in cluster.yaml", () => {
    const r = dk(first, { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const doc = load(readFileSync(join(dir, "cluster", "cluster.yaml"), "utf8")) as Record<string, any>;
    expect(doc.apiVersion).toBe("dk-bootstrap/v1alpha1");
    expect(doc.kind).toBe("ClusterSettings");
    expect(doc.metadata.name).toBe("demo");
    expect(doc.spec.hosts[0]).toEqual({ nodeName: "node1", nodeIP: "192.0.2.7" });
    expect(doc.spec.network.serviceCIDR).toBe("10.96.0.0/12");
    expect(doc.spec.pki.keyAlgorithm).toBe("ecdsa");
  });

  it("writes text YAML 1.1 would read as something else quoted, so that it reads back as the same text", () => {
    const other = tempDir();
    const odd = ["--cluster-name", "yes", "--context-name", "0x10", "--validity", "8760h"];
    const r = dk(["certs", "--key-algo", "ecdsa", ...odd], { cwd: other });
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(other, "cluster", "cluster.yaml"), "utf8");
    const doc = load(text) as Record<string, any>;
    expect(doc.metadata.name).toBe("yes");
    expect(doc.spec.pki.contextName).toBe("0x10");
    expect(text).toMatch(/^ {2}name: "yes"$/m);
    const again = dk(["certs"], { cwd: other });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/changing/);
    expect(readFileSync(join(other, "cluster", "cluster.yaml"), "utf8")).toBe(text);
  });

  it("writes every string a setting can hold so that it reads back the same, alone and in lists", () => {
    // YAML 1.1 and 1.2 scalars, indicators, spaces, unicode, and multi-line text (a literal block must be indented).
    const odd = [
      "yes",
      "off",
      "~",
      "null",
      "1e3",
      "0x1F",
      "0o17",
      "0b1",
      "+1",
      "1_000",
      ".5",
      "-.inf",
      ".NaN",
      "1:20",
      "2001-12-14",
      "2001-12-14T21:59:43",
      "<<",
      "=",
      "a: b",
      "a #b",
      "#x",
      "'q'",
      '"d"',
      "- x",
      "? x",
      "[a]",
      "{a}",
      "a,b",
      "---",
      " lead",
      "trail ",
      "ünï 日本 😀",
      "a\nb",
      "a\n",
      "  a\nb",
      "a\n\n",
      "a \nb",
      "\na",
      "\n",
    ];
    for (const v of odd) {
      for (const [flag, value] of [
        ["--cluster-name", v],
        ["--node-ip", [v]],
        ["--node-ip", [v, "x", v]],
      ] as const) {
        const text = formatSavedSettings(new Map([[flag, value as string | string[]]]));
        expect(parseSavedSettings(text, "cluster.yaml").get(flag), text).toEqual(value);
      }
    }
  });

  it("refuses a bad flag in one line before saying a change, and changes nothing", () => {
    const before = folderSnapshot(join(dir, "cluster"));
    const r = dk(["certs", "--cluster-name", "A B"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: --cluster-name: a cluster name must be a DNS-1123 subdomain.*\(got "A B"\)\n$/);
    expect(folderSnapshot(join(dir, "cluster"))).toEqual(before);
    // ssh reads the same settings, and refuses the same way (before it asks the network or a host for anything).
    const ssh = dk(["ssh", "root@192.0.2.1", "--node-name", "Bad_Name", "--dry-run"], { cwd: dir });
    expect(ssh.status).toBe(1);
    expect(ssh.stderr).toMatch(/^error: --node-name: a node name must be a DNS-1123 subdomain.*\(got "Bad_Name"\)\n$/);
  });

  it("a re-run without flags keeps every certificate and the IPs", () => {
    const before = folderSnapshot(join(dir, "cluster", "pki"));
    const r = dk(["certs"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: 0 made, 18 kept, 0 renewed/);
    expect(r.stderr).not.toMatch(/changing/);
    expect(folderSnapshot(join(dir, "cluster", "pki"))).toEqual(before);
    expect(sans(dir, "apiserver")).toMatch(/IP Address:192.0.2.7/);
    expect(sans(dir, "apiserver")).toMatch(/IP Address:10.96.0.1/);
    expect(readFileSync(join(dir, "cluster", "kubelet.conf"), "utf8")).toMatch(/system:node:node1/);
  });

  it("says what a flag changes, and refuses to drop an IP from a serving certificate", () => {
    const before = folderSnapshot(join(dir, "cluster"));
    const r = dk(["certs", "--node-ip", "192.0.2.8"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\[certs\] changing a saved setting: --node-ip: 192.0.2.7 -> 192.0.2.8\n/);
    // Every serving certificate that would lose the old IP is named, in the cluster's order, however the keys' thread pool ran.
    expect(r.stderr).toMatch(
      /error: \S*\/pki\/apiserver.crt: the new settings would drop 192.0.2.7 from its names; so would \S*\/pki\/etcd\/server.crt \(192.0.2.7\), \S*\/pki\/etcd\/peer.crt \(192.0.2.7\), \S*\/pki\/kubelet.crt \(192.0.2.7\)\nhint: .*--allow-name-removal/,
    );
    expect(folderSnapshot(join(dir, "cluster"))).toEqual(before);
  });

  it("adds an IP by re-issuing with the existing keys, and says so", () => {
    const key = readFileSync(join(dir, "cluster", "pki", "apiserver.key"), "utf8");
    const r = dk(["certs", "--node-ip", "192.0.2.7", "--node-ip", "192.0.2.8"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Re-issued "apiserver" certificate with its existing key \(its SANs differ from the spec\)/);
    expect(readFileSync(join(dir, "cluster", "pki", "apiserver.key"), "utf8")).toBe(key);
    expect(sans(dir, "apiserver")).toMatch(/IP Address:192.0.2.7, IP Address:192.0.2.8/);
    expect(readFileSync(join(dir, "cluster", "cluster.yaml"), "utf8")).toMatch(/nodeIP:\n\s+- 192.0.2.7\n\s+- 192.0.2.8\n/);
  });

  it("drops one with --allow-name-removal", () => {
    const r = dk(["certs", "--node-ip", "192.0.2.8", "--allow-name-removal"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(sans(dir, "apiserver")).not.toMatch(/192.0.2.7/);
    expect(sans(dir, "etcd/server")).not.toMatch(/192.0.2.7/);
  });

  it("ssh --dry-run plans with the saved node name and IP", () => {
    const r = dk(["ssh", "root@node.example", "--dry-run"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/--hostname-override=node1 --node-ip=192.0.2.8/);
    expect(r.stdout).toMatch(/--service-cluster-ip-range=10.96.0.0\/12/);
  });
});

describe("a bad cluster.yaml", () => {
  it.each([
    ["an unknown field", "spec:\n  hosts:\n    - nodeName: a\n      nodeIPs: 192.0.2.1\n", /cluster.yaml: spec.hosts.0.nodeIPs: unknown field/],
    ["a wrong type", "spec:\n  network:\n    serviceCIDR: [10.0.0.0/24]\n", /cluster.yaml: spec.network.serviceCIDR: expected a string/],
    ["another kind", "apiVersion: v1\nkind: Config\n", /cluster.yaml: apiVersion: expected apiVersion dk-bootstrap\/v1alpha1, kind ClusterSettings/],
    ["broken YAML", "spec: [\n", /cluster.yaml: not readable YAML/],
  ])("%s: one line with the file and field, nothing written", (_, body, pattern) => {
    const dir = tempDir();
    const text = body.startsWith("spec: [") || body.startsWith("apiVersion") ? body : `apiVersion: dk-bootstrap/v1alpha1\nkind: Cluster\n${body}`;
    writeFileSync(join(dir, "cluster.yaml"), text);
    const r = dk(["certs", "--dir", ".", "--key-algo", "ecdsa"], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n")[0]).toMatch(pattern);
    expect(readdirSync(dir)).toEqual(["cluster.yaml"]);
  });
});
