import { X509Certificate } from "node:crypto";
import { resolve } from "node:path";
import { type Signer, certificatePem, issueCertificate, kubeadmValidity, outlivesCaWarning, parseCertificate } from "../certificate.js";
import { loadSigner } from "../cfssl/gencert.js";
import { HOUR_MS } from "../duration.js";
import { InputError, PkiError } from "../errors.js";
import { nearestName } from "../near.js";
import { KeyPair, type PrivateKeyFormat, keySpecOf, privateKeyFormatOf } from "../keys.js";
import { sansOf } from "../san.js";
import { type ClusterFolder, withClusterFolder } from "../cluster-folder.js";
import { readIfExists } from "../store.js";
import { x509 } from "../x509.js";
import { CA_DEFS, type CaName, LEAF_DEFS } from "./certlist.js";
import { certPaths } from "./layout.js";

/** Options of {@link renewCertificates}. */
export interface RenewOptions {
  /** Validity of the renewed certificates, in ms (default 8760h). */
  validityMs?: number;
  now?: Date;
  /** The cluster folder, opened by the caller (who then commits, with the refreshed kubeconfigs); else opened and committed here. */
  folder?: ClusterFolder;
  /**
   * Where the CAs are, when `dir` is a node's folder of a cluster of several (`nodes/NAME`): the cluster
   * folder, whose `pki/` holds them (a worker's folder holds no CA key).
   */
  caDir?: string;
  /**
   * A named certificate this folder does not hold is skipped (no result) rather than refused: in a cluster of
   * several, the top folder holds the clients' certificates and each node's folder its own, so a name is renewed
   * wherever it is (the caller says when no folder held it).
   */
  skipMissing?: boolean;
}

/** What renewing one certificate did. */
export interface RenewResult {
  name: string;
  notAfter: Date;
  warnings: string[];
}

/**
 * kubeadm's names for what `kubeadm certs renew` and `check-expiration` take, as aliases: a kubeconfig's name renews
 * the client certificate it embeds (the kubeconfig follows).
 */
export const KUBEADM_NAMES: Readonly<Record<string, string>> = {
  "admin.conf": "clients/admin",
  "super-admin.conf": "clients/super-admin",
  "controller-manager.conf": "clients/controller-manager",
  "scheduler.conf": "clients/scheduler",
  "kubelet.conf": "clients/kubelet",
  "kube-proxy.conf": "clients/kube-proxy",
  "etcd-server": "etcd/server",
  "etcd-peer": "etcd/peer",
  "etcd-healthcheck-client": "etcd/healthcheck-client",
};

/** A certificate's name in this folder's layout, from its own name or kubeadm's. */
export function canonicalCertName(name: string): string {
  return KUBEADM_NAMES[name] ?? name;
}

/**
 * kubeadm's `certs renew NAME|all`: each certificate is re-issued with a new key of the same
 * algorithm, and the existing certificate is the source of truth for its subject, SANs and usages.
 * CAs are never renewed (CA rotation is a manual operation). Everything is read and checked first,
 * the new keys are made in parallel, and files are written only once every certificate is issued, as
 * one set under the folder's lock (see {@link ClusterFolder}).
 */
export async function renewCertificates(dir: string, which: string, options: RenewOptions = {}): Promise<RenewResult[]> {
  return withClusterFolder(dir, options.folder, (folder) => renewInFolder(folder, resolve(dir), which, options), { mustExist: true });
}

async function renewInFolder(folder: ClusterFolder, dir: string, which: string, options: RenewOptions): Promise<RenewResult[]> {
  const now = options.now ?? new Date();
  const name = canonicalCertName(which);
  const defs = name === "all" ? LEAF_DEFS : LEAF_DEFS.filter((d) => d.name === name);
  if (defs.length === 0) {
    // `renew admin` means clients/admin; a CA's name gets where CAs are replaced; a typo its nearest name.
    const near = LEAF_DEFS.find((d) => d.name.endsWith(`/${which}`))?.name ?? nearestName(which, [...LEAF_DEFS.map((d) => d.name), ...Object.keys(KUBEADM_NAMES)]);
    const ca = CA_DEFS.find((d) => d.name === which || `${d.name}.crt` === which || (which === "etcd-ca" && d.name === "etcd/ca"));
    throw new InputError(
      `unknown certificate; renewable: all, ${LEAF_DEFS.map((d) => d.name).join(", ")}`,
      { field: "NAME", value: which },
      {
        hint: ca
          ? `CAs are not renewed but rotated, every leaf re-issued by the new one: dk-bootstrap certs rotate-ca ${ca.name === "ca" ? "cluster" : ca.name === "etcd/ca" ? "etcd" : "front-proxy"} -f FILE`
          : near
            ? `did you mean ${near}?`
            : "run `dk-bootstrap certs check-expiration` to see the names",
      },
    );
  }

  const signers = new Map<CaName, Promise<Signer>>();
  const signerFor = (ca: CaName) => {
    if (!signers.has(ca)) signers.set(ca, loadCa(options.caDir ?? dir, ca, now));
    return signers.get(ca)!;
  };
  const plans = [];
  for (const def of defs) {
    const p = certPaths(dir, def.name);
    const pem = await readIfExists(p.crt);
    if (pem === undefined) {
      if (which === "all" || options.skipMissing) continue;
      throw new PkiError(`${p.crt}: missing, nothing to renew`, { hint: "run `dk-bootstrap certs` to make it" });
    }
    const signer = await signerFor(def.ca!);
    const old = parseCertificate(pem, { file: p.crt });
    // The new key is of the certificate's algorithm and size, read from the certificate: the old key is
    // being replaced, so a damaged one must not stand in the way of its own renewal.
    const spec = keySpecOf(new X509Certificate(pem).publicKey, { file: p.crt });
    const oldKeyPem = await readIfExists(p.key);
    // A renewed key is written in the form the old one had.
    const format: PrivateKeyFormat = oldKeyPem ? privateKeyFormatOf(oldKeyPem) : "traditional";
    plans.push({ def, paths: p, old, signer, spec, format });
  }

  const keys = await Promise.all(plans.map((plan) => KeyPair.generate(plan.spec)));
  const validityMs = options.validityMs ?? 8760 * HOUR_MS;
  const issued = await Promise.all(
    plans.map(({ old, signer }, i) =>
      issueCertificate(
        {
          subject: old.subjectName,
          publicKey: keys[i]!.publicKey,
          sans: sansOf(old.getExtension(x509.SubjectAlternativeNameExtension)),
          validity: kubeadmValidity(now, validityMs),
          usages: {
            keyUsage: old.getExtension(x509.KeyUsagesExtension)?.usages ?? 0,
            extKeyUsage: (old.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []).map(String),
          },
        },
        signer,
      ),
    ),
  );

  const results: RenewResult[] = [];
  for (const [i, { def, paths, signer, format }] of plans.entries()) {
    const cert = issued[i]!;
    await folder.stage(paths.key, keys[i]!.privateKeyPem(format), { mode: 0o600, dirMode: 0o700 });
    await folder.stage(paths.crt, certificatePem(cert), { mode: 0o644, dirMode: 0o700 });
    results.push({ name: def.name, notAfter: cert.notAfter, warnings: outlivesCaWarning(def.name, cert.notAfter, signer.cert) });
  }
  return results;
}

async function loadCa(dir: string, ca: CaName, now: Date): Promise<Signer> {
  const p = certPaths(dir, ca);
  const [cert, key] = await Promise.all([readIfExists(p.crt), readIfExists(p.key)]);
  if (cert === undefined || key === undefined)
    throw new PkiError(`${cert === undefined ? p.crt : p.key}: missing, so the certificates ${ca} signs can't be renewed here`, {
      hint: "renew them where the CA key is",
    });
  return loadSigner(cert, key, { cert: p.crt, key: p.key }, now);
}
