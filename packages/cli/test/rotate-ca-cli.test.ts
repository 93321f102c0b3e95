// certs rotate-ca without hosts: its refusals (one line, exit 1, before any host is dialled) and its dry run.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startRotation, withClusterFolder } from "@dk-bootstrap/pki";
import { dk, folderSnapshot, tempDir } from "../../../test-support/peers.js";
import { clusterFolder } from "./rotate-ca-folder.js";

// Addresses no one answers on: a refusal must come before any connection is tried.
const FILE = `apiVersion: dk-bootstrap/v1alpha1
kind: Cluster
metadata: { name: demo }
spec:
  hosts:
    - { ssh: { address: 10.9.0.1 }, role: controller, nodeName: cp1 }
    - { ssh: { address: 10.9.0.11 }, role: worker, nodeName: w1 }
  versions: { kubernetes: 1.35.2 }
  pki: { keyAlgorithm: ecdsa }
`;

const folderFor = (cwd: string) => clusterFolder(cwd, FILE);

const oneErrorLine = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("error: ")).length === 1 && !stderr.includes("    at ");

describe("certs rotate-ca refuses, in one line, before connecting", () => {
  it("an unknown CA name", () => {
    const cwd = tempDir();
    const r = dk(["certs", "rotate-ca", "etcd-ca", "-f", "cluster.yaml"], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: CA: unknown CA; rotatable: etcd, cluster, front-proxy \(got "etcd-ca"\)$/m);
    expect(oneErrorLine(r.stderr)).toBe(true);
  });

  it("neither a cluster file nor ssh HOST, or both", () => {
    const cwd = tempDir();
    const none = dk(["certs", "rotate-ca", "etcd"], { cwd });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^error: target: a cluster is needed: -f cluster.yaml, or ssh \[user@\]host$/m);
    const both = dk(["certs", "rotate-ca", "etcd", "ssh", "root@192.0.2.1", "-f", "cluster.yaml"], { cwd });
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(
      /^error: target: expected `ssh \[user@\]host` \(the one-node cluster\) or -f cluster.yaml, not both \(got "ssh root@192.0.2.1"\)$/m,
    );
    expect(oneErrorLine(both.stderr)).toBe(true);
  });

  it("a missing cluster file", () => {
    const cwd = tempDir();
    const r = dk(["certs", "rotate-ca", "etcd", "-f", "nope.yaml"], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*nope\.yaml: cannot read the cluster file$/m);
    expect(oneErrorLine(r.stderr)).toBe(true);
  });

  it("another CA's rotation in progress, and an abort with nothing to abort", async () => {
    const cwd = tempDir();
    const dir = await folderFor(cwd);
    const abort = dk(["certs", "rotate-ca", "cluster", "-f", "cluster.yaml", "--abort"], { cwd });
    expect(abort.status).toBe(1);
    expect(abort.stderr).toMatch(/^error: no rotation of the cluster CA is in progress: nothing to abort$/m);
    await withClusterFolder(dir, undefined, (f) => startRotation(f, "etcd"));
    const r = dk(["certs", "rotate-ca", "cluster", "-f", "cluster.yaml"], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: a rotation of the etcd CA is in progress \(phase 1\): one CA at a time$/m);
    expect(r.stderr).toMatch(/^hint: finish it first: dk-bootstrap certs rotate-ca etcd -f cluster.yaml/m);
    expect(oneErrorLine(r.stderr)).toBe(true);
  });
});

describe("certs rotate-ca needs the cluster folder that holds the CA", () => {
  // A host that refuses at once: were it dialled, the error would be its refusal, not the folder's.
  const refusing = FILE.replace("{ address: 10.9.0.1 }", "{ address: 127.0.0.1, port: 1 }").replace(/^ {4}- .*role: worker.*\n/m, "");

  it("a missing folder: one line naming it, whichever form, and nothing made", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "cluster.yaml"), refusing);
    const dir = join(cwd, "gone", "cluster");
    const onCluster = dk(["certs", "rotate-ca", "etcd", "-f", "cluster.yaml", "--dir", "gone/cluster"], { cwd });
    expect(onCluster.status, onCluster.stderr).toBe(1);
    expect(onCluster.stderr).toMatch(new RegExp(`^error: ${dir}: no such cluster folder: a rotation needs the CA it holds$`, "m"));
    expect(onCluster.stderr).toMatch(/^hint: pass the --dir that `dk-bootstrap apply -f cluster.yaml` used$/m);
    expect(oneErrorLine(onCluster.stderr)).toBe(true);
    for (const dryRun of [[], ["--dry-run"]]) {
      const onNode = dk(["certs", "rotate-ca", "etcd", "ssh", "root@127.0.0.1", "--port", "1", "--dir", "gone/cluster", ...dryRun], { cwd });
      expect(onNode.status, onNode.stderr).toBe(1);
      expect(onNode.stderr).toMatch(new RegExp(`^error: ${dir}: no such cluster folder: a rotation needs the CA it holds$`, "m"));
      expect(onNode.stderr).toMatch(/^hint: pass the --dir that `dk-bootstrap ssh` used$/m);
      expect(oneErrorLine(onNode.stderr)).toBe(true);
    }
    expect(readdirSync(cwd)).toEqual(["cluster.yaml"]);
  });

  it("a folder without the CA: one line naming the CA's file, before any host is dialled", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "cluster.yaml"), refusing);
    mkdirSync(join(cwd, "cluster"));
    const r = dk(["certs", "rotate-ca", "etcd", "-f", "cluster.yaml"], { cwd });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^error: ${join(cwd, "cluster", "pki", "etcd", "ca.crt")}: no CA certificate: a rotation needs the CA and its key$`, "m"),
    );
    expect(oneErrorLine(r.stderr)).toBe(true);
  });
});

describe("certs rotate-ca --until", () => {
  it("refuses an unknown step in one line, before a new CA is made or a host dialled", async () => {
    const cwd = tempDir();
    await folderFor(cwd);
    const before = folderSnapshot(cwd);
    for (const target of [
      ["-f", "cluster.yaml"],
      ["ssh", "root@192.0.2.1", "--dir", "cluster"],
    ]) {
      const r = dk(["certs", "rotate-ca", "etcd", ...target, "--until", "etcdd"], { cwd });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^error: --until: unknown step; steps: .*etcd.* \(got "etcdd"\)$/m);
      expect(oneErrorLine(r.stderr)).toBe(true);
    }
    expect(folderSnapshot(cwd)).toEqual(before);
  });
});

describe("certs rotate-ca cluster --dry-run", () => {
  it("says per host and phase what the trust files hold, what signs, and what restarts; and what can't be rotated live", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "cluster.yaml"), FILE);
    const r = dk(["certs", "rotate-ca", "cluster", "-f", "cluster.yaml", "--dry-run"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/note: the service-account key is not the CA: tokens stay valid throughout/);
    expect(r.stdout).toMatch(
      /note: pods that read the CA once .* cannot verify the apiservers from phase 2 on .* this command restarts CoreDNS and Traefik then/,
    );
    expect(r.stdout).toMatch(
      /^\[rotate-ca\] cp1: phase 1: trust old \+ new, old CA signs; files: .*pki\/ca\.crt.*; restarts: kube-apiserver, kube-controller-manager, kube-scheduler$/m,
    );
    expect(r.stdout).toMatch(
      /^\[rotate-ca\] cp1: phase 2: trust new \+ old, new CA signs; files: .*pki\/ca\.key.*; restarts: kube-apiserver, kube-controller-manager, kube-scheduler$/m,
    );
    expect(r.stdout).toMatch(/^\[rotate-ca\] w1: phase 2: .*files: kube-proxy.conf kubelet.conf .*pki\/kubelet\.crt.*; restarts: kubelet, cni, kube-proxy$/m);
    expect(r.stdout).toMatch(/^\[rotate-ca\] w1: phase 3: trust new, new CA signs; .*restarts: kubelet, cni, kube-proxy$/m);
    expect(r.stdout).not.toMatch(/etcd(,|$)/m);
  });
});

describe("certs rotate-ca etcd ssh user@host --dry-run", () => {
  it("plans the one-node cluster from the folder's saved settings, and dials nothing", () => {
    const cwd = tempDir();
    const made = dk(["certs", "--dir", "cluster", "--key-algo", "ecdsa", "--node-name", "n1"], { cwd });
    expect(made.status, made.stderr).toBe(0);
    // 192.0.2.1 is TEST-NET-1: nothing answers there, so a connection attempt would fail the command.
    const r = dk(["certs", "rotate-ca", "etcd", "ssh", "root@192.0.2.1", "--dir", "cluster", "--dry-run"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[rotate-ca\] n1: phase 1: trust old \+ new, old CA signs; files: pki\/etcd\/ca\.crt; restarts: etcd, kube-apiserver$/m);
    expect(r.stdout).toMatch(/^\[rotate-ca\] n1: phase 2: .*pki\/etcd\/server\.key.*; restarts: etcd, kube-apiserver$/m);
    // A folder that is there but not a one-node cluster's (a missing one is refused earlier, above).
    mkdirSync(join(cwd, "elsewhere"));
    const none = dk(["certs", "rotate-ca", "etcd", "ssh", "root@192.0.2.1", "--dir", "elsewhere", "--dry-run"], { cwd });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^error: .*elsewhere: no saved settings: this is not the folder of a one-node cluster$/m);
  });
});
