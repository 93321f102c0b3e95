// Real kubeadm as a peer (issue 20 §5): kubeadm, built from the k8s.io/kubernetes module of the newest tested release,
// reads a dk-bootstrap cluster folder as its own. `kubeadm certs check-expiration` finds every certificate and
// kubeconfig with the expiry dk-bootstrap set, and `kubeadm init phase certs all` / `init phase kubeconfig all` pointed
// at the folder reuse every file ("Using existing ...") and change no byte. kubeadm's own PKI, made from the same
// configuration into an empty folder, is the yardstick for the layout: each file it makes is in ours with the same
// identity, usages and names, and each difference is one of the README's list ("Differences from kubeadm").
import { readFileSync, writeFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { load } from "js-yaml";
import { describeCertificate, parseCertificate, type CertificateInfo } from "@dk-bootstrap/pki";
import { parseKubeconfig } from "@dk-bootstrap/kubeconfig";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { builtPeer } from "../../../test-support/built-peers.js";
import { dk, folderSnapshot, run, tempDir } from "../../../test-support/peers.js";

const KUBERNETES = RELEASES[0]!.knownPatch;

/** kubeadm's certificate names (check-expiration, renew) against the folder's own. */
const KUBEADM_CERTS: Record<string, string> = {
  apiserver: "apiserver",
  "apiserver-kubelet-client": "apiserver-kubelet-client",
  "front-proxy-client": "front-proxy-client",
  "etcd-server": "etcd/server",
  "etcd-peer": "etcd/peer",
  "etcd-healthcheck-client": "etcd/healthcheck-client",
  "apiserver-etcd-client": "apiserver-etcd-client",
  "admin.conf": "admin.conf",
  "super-admin.conf": "super-admin.conf",
  "controller-manager.conf": "controller-manager.conf",
  "scheduler.conf": "scheduler.conf",
};
const KUBEADM_CAS: Record<string, string> = { ca: "ca", "etcd-ca": "etcd/ca", "front-proxy-ca": "front-proxy-ca" };
const CA_FILES = ["ca", "etcd/ca", "front-proxy-ca"];
const LEAF_FILES = [
  "apiserver",
  "apiserver-kubelet-client",
  "front-proxy-client",
  "etcd/server",
  "etcd/peer",
  "etcd/healthcheck-client",
  "apiserver-etcd-client",
];
const KUBEADM_KUBECONFIGS = ["admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"];

/**
 * What dk-bootstrap's folder holds that kubeadm does not make (the README's list): the client certificates the
 * kubeconfigs embed, also kept as files, the kubelet's serving certificate, kube-proxy's kubeconfig, the saved settings.
 */
const OURS_ONLY = [
  "cluster.yaml",
  "kube-proxy.conf",
  "pki/kubelet.crt",
  "pki/kubelet.key",
  ...["admin", "super-admin", "controller-manager", "scheduler", "kube-proxy", "kubelet"].flatMap((c) => [`pki/clients/${c}.crt`, `pki/clients/${c}.key`]),
].sort();

interface Saved {
  name: string;
  nodeName: string;
  nodeIP: string;
  apiEndpoint: string;
  serviceCIDR: string;
  clusterDomain: string;
}

/** The settings `certs` saved in DIR/cluster.yaml: what the kubeadm configuration says again. */
function savedSettings(dir: string): Saved {
  const doc = load(readFileSync(join(dir, "cluster.yaml"), "utf8")) as {
    metadata: { name: string };
    spec: { hosts: { nodeName: string; nodeIP: string }[]; apiEndpoint: string; network: { serviceCIDR: string; clusterDomain: string } };
  };
  const host = doc.spec.hosts[0]!;
  return { name: doc.metadata.name, nodeName: host.nodeName, nodeIP: host.nodeIP, apiEndpoint: doc.spec.apiEndpoint, ...doc.spec.network };
}

/**
 * kubeadm's configuration for the folder's settings: the node name and advertise address, the Service subnet and DNS
 * domain, the cluster name, the key algorithm, and as extra SANs the names dk-bootstrap's apiserver certificate
 * adds to kubeadm's (`localhost`, `127.0.0.1`: the workshop dials the apiserver there).
 */
function kubeadmConfig(s: Saved, certificatesDir: string, encryptionAlgorithm: string): string {
  return [
    "apiVersion: kubeadm.k8s.io/v1beta4",
    "kind: InitConfiguration",
    "localAPIEndpoint:",
    `  advertiseAddress: ${s.nodeIP}`,
    "  bindPort: 6443",
    "nodeRegistration:",
    `  name: ${s.nodeName}`,
    "  criSocket: unix:///run/containerd/containerd.sock",
    "---",
    "apiVersion: kubeadm.k8s.io/v1beta4",
    "kind: ClusterConfiguration",
    `kubernetesVersion: v${KUBERNETES}`,
    `clusterName: ${s.name}`,
    `certificatesDir: ${certificatesDir}`,
    `encryptionAlgorithm: ${encryptionAlgorithm}`,
    "networking:",
    `  serviceSubnet: ${s.serviceCIDR}`,
    `  dnsDomain: ${s.clusterDomain}`,
    "apiServer:",
    "  certSANs: [localhost, 127.0.0.1]",
    "",
  ].join("\n");
}

/**
 * Runs kubeadm with `dir` seen at /etc/kubernetes: `kubeadm certs check-expiration` has no `--kubeconfig-dir` and reads
 * the kubeconfigs there whatever its flags say. A private mount namespace lays an overlay over /etc (this machine's
 * /etc is not changed) and binds the folder onto /etc/kubernetes in it, for this one command.
 */
function kubeadmAtEtcKubernetes(kubeadm: string, dir: string, args: string[]) {
  const work = tempDir("dk-kubeadm-etc-");
  const script = [
    "set -e",
    'd=$1 w=$2; shift 2; mkdir -p "$w/upper" "$w/work"',
    'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$w/upper,workdir=$w/work" /etc',
    'mkdir -p /etc/kubernetes && mount --bind "$d" /etc/kubernetes',
    'exec "$@"',
  ].join("\n");
  return run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", dir, work, kubeadm, ...args]);
}

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const certOf = (pem: string, file: string) => describeCertificate(parseCertificate(pem, { file }));
const certAt = (path: string) => certOf(readFileSync(path, "utf8"), path);

/** The certificate a kubeconfig embeds (its current context's user), and its cluster, user and context names. */
async function kubeconfigAt(path: string) {
  const cfg = parseKubeconfig(readFileSync(path, "utf8"), path);
  const ctx = cfg.contexts!.find((c) => c.name === cfg["current-context"])!;
  const cluster = cfg.clusters!.find((c) => c.name === ctx.context.cluster)!;
  const user = cfg.users!.find((u) => u.name === ctx.context.user)!;
  const pem = Buffer.from(user.user["client-certificate-data"]!, "base64").toString("utf8");
  return { context: ctx.name, cluster: cluster.name, server: cluster.cluster.server, user: user.name, cert: await certOf(pem, path) };
}

/** What kubeadm's layout asks of a certificate: identity, who signed it, what it is for, the names it serves. */
function shape(c: CertificateInfo) {
  return {
    subject: c.subject,
    issuer: c.issuer,
    isCA: c.isCA,
    keyUsage: [...c.keyUsage].sort(),
    extKeyUsage: [...c.extKeyUsage].sort(),
    dns: [...c.sans.dns].sort(),
    ip: [...c.sans.ip].sort(),
    lifetimeHours: Math.round((c.notAfter.getTime() - c.notBefore.getTime()) / 3_600_000),
  };
}

/**
 * kubeadm's certificate as dk-bootstrap means to differ from it, each difference in the README's list and nothing else:
 * a CA's key usage is `cert sign, crl sign` (kubeadm's, from client-go: `digital signature, key encipherment, cert
 * sign`); `key encipherment` only on RSA keys (an ECDSA key enciphers no session key; RFC 8813).
 */
function asOurs(kubeadms: ReturnType<typeof shape>, algo: string): ReturnType<typeof shape> {
  if (kubeadms.isCA) return { ...kubeadms, keyUsage: ["cert sign", "crl sign"] };
  if (algo !== "rsa") return { ...kubeadms, keyUsage: kubeadms.keyUsage.filter((u) => u !== "key encipherment") };
  return kubeadms;
}

describe.each([
  ["ecdsa", "ECDSA-P256"],
  ["rsa", "RSA-2048"],
])("kubeadm %s reads a dk-bootstrap folder as its own", (algo, encryptionAlgorithm) => {
  const root = tempDir("dk-kubeadm-");
  const dir = join(root, "cluster");
  const config = join(root, "kubeadm.yaml");
  let kubeadm = "";
  let saved: Saved;

  beforeAll(() => {
    kubeadm = join(builtPeer("kubernetes", KUBERNETES), "kubeadm");
    // The server kubeadm writes into its kubeconfigs (the advertise address); the README says what the default differs in.
    const r = dk(["certs", "--dir", dir, "--node-ip", "192.0.2.10", "--key-algo", algo, "--server", "https://192.0.2.10:6443"]);
    expect(r.status, r.stderr).toBe(0);
    saved = savedSettings(dir);
    writeFileSync(config, kubeadmConfig(saved, join(dir, "pki"), encryptionAlgorithm));
  });

  it("is the kubeadm of the newest tested release", () => {
    const r = run(kubeadm, ["version", "-o", "short"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`v${KUBERNETES}`);
  });

  it("kubeadm certs check-expiration finds every certificate and kubeconfig, with the expiry dk-bootstrap set", () => {
    const ours = JSON.parse(dk(["certs", "check-expiration", "--dir", dir, "-o", "json"]).stdout) as {
      certificates: { name: string; expires: string }[];
      authorities: { name: string; expires: string }[];
    };
    const expiry = new Map([...ours.certificates, ...ours.authorities].map((c) => [c.name, new Date(c.expires).getTime()]));
    const r = kubeadmAtEtcKubernetes(kubeadm, dir, ["certs", "check-expiration", "--config", config, "--cert-dir", join(dir, "pki"), "-o", "json"]);
    expect(r.status, r.stderr).toBe(0);
    const theirs = JSON.parse(r.stdout) as {
      certificates: { name: string; expirationDate: string; caName: string; externallyManaged: boolean; missing: boolean }[];
      certificateAuthorities: { name: string; expirationDate: string; externallyManaged: boolean; missing: boolean }[];
    };
    expect(theirs.certificates.map((c) => c.name).sort()).toEqual(Object.keys(KUBEADM_CERTS).sort());
    expect(theirs.certificateAuthorities.map((c) => c.name).sort()).toEqual(Object.keys(KUBEADM_CAS).sort());
    for (const c of [...theirs.certificates, ...theirs.certificateAuthorities]) {
      expect({ name: c.name, missing: c.missing, externallyManaged: c.externallyManaged }).toEqual({ name: c.name, missing: false, externallyManaged: false });
      const mine = expiry.get(KUBEADM_CERTS[c.name] ?? KUBEADM_CAS[c.name]!);
      expect(mine, c.name).toBeDefined();
      expect(new Date(c.expirationDate).getTime(), c.name).toBe(mine);
    }
    // The text table, as a person reads it: nothing !MISSING!, each of dk-bootstrap's names with its CA.
    const text = kubeadmAtEtcKubernetes(kubeadm, dir, ["certs", "check-expiration", "--config", config, "--cert-dir", join(dir, "pki")]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(/MISSING/);
    expect(text.stdout).toMatch(/^etcd-server +\w{3} \d\d, \d{4} \d\d:\d\d UTC +\d+d +etcd-ca +no/m);
  });

  it("check-expiration does read this folder: a kubeconfig taken away is reported missing", () => {
    const copy = join(root, "copy");
    mkdirSync(copy);
    expect(run("cp", ["-a", `${dir}/.`, copy]).status).toBe(0);
    expect(run("rm", [join(copy, "scheduler.conf")]).status).toBe(0);
    const r = kubeadmAtEtcKubernetes(kubeadm, copy, ["certs", "check-expiration", "--config", config, "--cert-dir", join(copy, "pki"), "-o", "json"]);
    expect(r.status, r.stderr).toBe(0);
    const missing = (JSON.parse(r.stdout) as { certificates: { name: string; missing: boolean }[] }).certificates.filter((c) => c.missing);
    expect(missing.map((c) => c.name)).toEqual(["scheduler.conf"]);
  });

  it("kubeadm init phase certs all reuses every certificate and key, and changes no byte", () => {
    const before = folderSnapshot(dir);
    const r = run(kubeadm, ["init", "phase", "certs", "all", "--config", config]);
    expect(r.status, r.stderr).toBe(0);
    for (const ca of CA_FILES) expect(r.stdout).toContain(`[certs] Using existing ${ca} certificate authority\n`);
    for (const leaf of LEAF_FILES) expect(r.stdout).toContain(`[certs] Using existing ${leaf} certificate and key on disk\n`);
    expect(r.stdout).toContain('[certs] Using the existing "sa" key\n');
    expect(r.stdout).not.toMatch(/Generating|keyless/);
    expect(r.stderr).not.toMatch(/WARNING|expired|not signed/i);
    expect(folderSnapshot(dir)).toEqual(before);
  });

  it("kubeadm init phase kubeconfig all reuses every kubeconfig, and changes no byte", () => {
    const before = folderSnapshot(dir);
    const r = run(kubeadm, ["init", "phase", "kubeconfig", "all", "--config", config, "--kubeconfig-dir", dir]);
    expect(r.status, r.stderr).toBe(0);
    for (const f of KUBEADM_KUBECONFIGS) expect(r.stdout).toContain(`[kubeconfig] Using existing kubeconfig file: "${join(dir, f)}"\n`);
    expect(r.stdout).not.toMatch(/Writing/);
    // kubeadm warns when an existing kubeconfig names another server: ours name the same.
    expect(r.stderr).not.toMatch(/unexpected API Server URL/);
    expect(folderSnapshot(dir)).toEqual(before);
  });

  it("with the default --server (the workshop's 127.0.0.1), kubeadm still reuses every kubeconfig, warning of the URL", () => {
    const other = join(root, "default-server");
    const made = dk(["certs", "--dir", other, "--node-ip", "192.0.2.10", "--key-algo", algo]);
    expect(made.status, made.stderr).toBe(0);
    const cfg = join(root, "kubeadm-default-server.yaml");
    writeFileSync(cfg, kubeadmConfig(savedSettings(other), join(other, "pki"), encryptionAlgorithm));
    const before = folderSnapshot(other);
    const r = run(kubeadm, ["init", "phase", "kubeconfig", "all", "--config", cfg, "--kubeconfig-dir", other]);
    expect(r.status, r.stderr).toBe(0);
    for (const f of KUBEADM_KUBECONFIGS) {
      expect(r.stdout).toContain(`[kubeconfig] Using existing kubeconfig file: "${join(other, f)}"\n`);
      expect(r.stderr).toContain(
        `a kubeconfig file "${join(other, f)}" exists already but has an unexpected API Server URL: expected: https://192.0.2.10:6443, got: https://127.0.0.1:6443`,
      );
    }
    expect(folderSnapshot(other)).toEqual(before);
  });

  describe("kubeadm's own PKI from the same configuration, the yardstick", () => {
    const theirs = join(root, "kubeadm");
    beforeAll(() => {
      mkdirSync(theirs);
      const cfg = join(root, "kubeadm-fresh.yaml");
      writeFileSync(cfg, kubeadmConfig(saved, join(theirs, "pki"), encryptionAlgorithm));
      for (const phase of [
        ["certs", "all"],
        ["kubeconfig", "all", "--kubeconfig-dir", theirs],
      ]) {
        const r = run(kubeadm, ["init", "phase", ...phase, "--config", cfg]);
        expect(r.status, r.stderr).toBe(0);
      }
    });

    it("every file kubeadm makes is in our folder under its name; ours has only the README's extras", () => {
      const k = filesUnder(theirs);
      const d = filesUnder(dir);
      expect(k.filter((f) => !d.includes(f))).toEqual([]);
      expect(d.filter((f) => !k.includes(f))).toEqual(OURS_ONLY);
    });

    it("each certificate has kubeadm's subject, issuer, usages, names and lifetime", async () => {
      for (const name of [...CA_FILES, ...LEAF_FILES]) {
        const a = await certAt(join(theirs, "pki", `${name}.crt`));
        const b = await certAt(join(dir, "pki", `${name}.crt`));
        expect(shape(b), name).toEqual(asOurs(shape(a), algo));
      }
    });

    it("each kubeconfig has kubeadm's cluster, user, context, server and client identity", async () => {
      for (const f of KUBEADM_KUBECONFIGS) {
        const a = await kubeconfigAt(join(theirs, f));
        const b = await kubeconfigAt(join(dir, f));
        expect({ ...b, cert: shape(b.cert) }, f).toEqual({ ...a, cert: asOurs(shape(a.cert), algo) });
      }
    });

    it("the keys are of kubeadm's algorithm and PEM type", () => {
      const header = (p: string) => readFileSync(p, "utf8").split("\n")[0];
      for (const name of [...CA_FILES, ...LEAF_FILES, "sa"])
        expect(header(join(dir, "pki", `${name}.key`)), name).toBe(header(join(theirs, "pki", `${name}.key`)));
      expect(header(join(dir, "pki", "sa.pub"))).toBe(header(join(theirs, "pki", "sa.pub")));
    });
  });
});
