import { type CaSigner, type IssuedDer, issueCertificateDer, kubeadmValidity } from "../certificate.js";
import type { KeyPair, KeySpec } from "../keys.js";
import { classifyHosts, noSans } from "../san.js";
import { parseUsages } from "../usages.js";
import type { CertDef } from "./certlist.js";
import type { ClusterSpec } from "./spec.js";

// How each certificate of the cluster list is issued, for the folder on disk (generate.ts) and for the PKI made in
// memory (make.ts) alike: the list is data (certlist.ts), and this is the one place that turns a row into a certificate.

/** Issues a CA of the cluster list, self-signed, with kubeadm's validity rule: its CN is also its one DNS SAN. */
export function issueClusterCa(spec: ClusterSpec, def: CertDef, key: KeyPair, now: Date): Promise<IssuedDer> {
  const cn = def.cn(spec);
  return issueCertificateDer(
    { subject: { CN: cn }, publicKey: key.publicKey, sans: { ...noSans(), dns: [cn] }, validity: kubeadmValidity(now, spec.caValidityMs), ca: {} },
    { selfKey: key },
  );
}

/** Issues a leaf of the cluster list with kubeadm's validity rule. */
export function issueClusterLeaf(spec: ClusterSpec, def: CertDef, publicKey: CryptoKey, signer: CaSigner, now: Date): Promise<IssuedDer> {
  const o = def.o?.(spec);
  return issueCertificateDer(
    {
      subject: { CN: def.cn(spec), ...(o ? { O: o } : {}) },
      publicKey,
      sans: def.hosts ? classifyHosts(def.hosts(spec)) : noSans(),
      validity: kubeadmValidity(now, spec.certValidityMs),
      usages: parseUsages(["digital signature", "key encipherment", ...def.usages]),
    },
    signer,
  );
}

/** The service-account key's spec: the cluster's, except that the token signer takes RSA or ECDSA only (Ed25519 gets ECDSA P-256). */
export function serviceAccountKeySpec(spec: ClusterSpec): KeySpec {
  return spec.key.algo === "ed25519" ? { algo: "ecdsa", size: 256 } : spec.key;
}
