// What a cluster folder must look like between runs: consistent by openssl's judgement, and nothing left behind.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { peer, run } from "../../../test-support/peers.js";

/** The file stems of the cluster PKI and the CA that signs each (none for a CA). */
const PAIRS: [string, string | undefined][] = [
  ["ca", undefined],
  ["etcd/ca", undefined],
  ["front-proxy-ca", undefined],
  ["apiserver", "ca"],
  ["apiserver-kubelet-client", "ca"],
  ["front-proxy-client", "front-proxy-ca"],
  ["etcd/server", "etcd/ca"],
  ["etcd/peer", "etcd/ca"],
  ["etcd/healthcheck-client", "etcd/ca"],
  ["apiserver-etcd-client", "etcd/ca"],
  ["clients/admin", "ca"],
  ["clients/super-admin", "ca"],
  ["clients/controller-manager", "ca"],
  ["clients/scheduler", "ca"],
  ["clients/kube-proxy", "ca"],
  ["clients/kubelet", "ca"],
  ["kubelet", "ca"],
];
export const LEAVES = PAIRS.filter(([, ca]) => ca).map(([n]) => n);
const KUBECONFIGS: [string, string][] = [
  ["admin.conf", "clients/admin"],
  ["super-admin.conf", "clients/super-admin"],
  ["controller-manager.conf", "clients/controller-manager"],
  ["scheduler.conf", "clients/scheduler"],
  ["kubelet.conf", "clients/kubelet"],
  ["kube-proxy.conf", "clients/kube-proxy"],
];
/** Every file of a complete cluster folder, relative to it. */
export const COMPLETE_SET = [...PAIRS.flatMap(([n]) => [`pki/${n}.crt`, `pki/${n}.key`]), "pki/sa.key", "pki/sa.pub", ...KUBECONFIGS.map(([f]) => f)].sort();
/** What `certs renew all` replaces: every leaf and key, and the kubeconfigs that embed the clients. */
export const RENEWED_SET = [...LEAVES.flatMap((n) => [`pki/${n}.crt`, `pki/${n}.key`]), ...KUBECONFIGS.map(([f]) => f)].sort();

/** Each file of the PKI and the component kubeconfigs that exists, with a digest of its content (other files, such as saved settings, are not looked at). */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of COMPLETE_SET) {
    const p = join(dir, f);
    if (existsSync(p)) out.set(f, createHash("sha256").update(readFileSync(p)).digest("hex"));
  }
  return out;
}

/** Every regular file under the folder, hidden ones too, relative to it. */
function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : []) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** Files an interrupted run may leave and the next run must clear: staging, journal, lock, temporary and kubectl lock files. */
export function leftovers(dir: string): string[] {
  return allFiles(dir).filter((f) => f.split("/").some((part) => part.startsWith(".")) || f.endsWith(".tmp") || f.endsWith(".lock"));
}

/**
 * The problems openssl finds in a complete cluster folder: a key that does not match its certificate, a
 * certificate its CA did not sign, a service-account pair that does not match, a kubeconfig whose CA or
 * client certificate and key are not the ones in pki/. Empty when consistent.
 */
export function inconsistencies(dir: string): string[] {
  const openssl = peer("openssl");
  const problems: string[] = [];
  const pki = join(dir, "pki");
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : `<missing ${path}>`);
  const pub = (args: string[]) => {
    const r = run(openssl, args);
    return r.status === 0 ? r.stdout : `unreadable: ${r.stderr}`;
  };
  for (const [name] of PAIRS) {
    const fromCert = pub(["x509", "-in", join(pki, `${name}.crt`), "-noout", "-pubkey"]);
    const fromKey = pub(["pkey", "-in", join(pki, `${name}.key`), "-pubout"]);
    if (fromCert !== fromKey) problems.push(`${name}: key does not match certificate`);
  }
  if (pub(["pkey", "-in", join(pki, "sa.key"), "-pubout"]) !== read(join(pki, "sa.pub"))) problems.push("sa: key does not match sa.pub");
  for (const ca of ["ca", "etcd/ca", "front-proxy-ca"]) {
    const signed = PAIRS.filter(([n, c]) => c === ca || n === ca).map(([n]) => join(pki, `${n}.crt`));
    const r = run(openssl, ["verify", "-CAfile", join(pki, `${ca}.crt`), ...signed]);
    for (const line of r.stdout.split("\n").filter((l) => l !== "" && !l.endsWith(": OK"))) problems.push(`verify under ${ca}: ${line}`);
    if (r.status !== 0) problems.push(`verify under ${ca}: ${r.stderr.split("\n")[0]}`);
  }
  const embedded = (text: string, field: string) => Buffer.from(new RegExp(`${field}: (\\S+)`).exec(text)?.[1] ?? "", "base64").toString();
  for (const [file, client] of KUBECONFIGS) {
    const text = read(join(dir, file));
    if (embedded(text, "certificate-authority-data") !== read(join(pki, "ca.crt"))) problems.push(`${file}: its CA is not pki/ca.crt`);
    if (embedded(text, "client-certificate-data") !== read(join(pki, `${client}.crt`)))
      problems.push(`${file}: its client certificate is not pki/${client}.crt`);
    if (embedded(text, "client-key-data") !== read(join(pki, `${client}.key`))) problems.push(`${file}: its client key is not pki/${client}.key`);
  }
  return problems;
}
