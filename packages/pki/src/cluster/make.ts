import { type IssuedDer, certificatePem, issuedCertificate, outlivesCaWarning } from "../certificate.js";
import { KeyPair } from "../keys.js";
import type { x509 } from "../x509.js";
import { CA_DEFS, type CertDef, LEAF_DEFS } from "./certlist.js";
import { CERT_MODE, KEY_MODE, SA_FILES, certFiles } from "./files.js";
import { issueClusterCa, issueClusterLeaf, serviceAccountKeySpec } from "./issue.js";
import type { ClusterSpec } from "./spec.js";

/** What a run did with one file pair: kept as it was, made anew, or re-issued with its existing key. */
export interface PkiAction {
  name: string;
  action: "kept" | "made" | "renewed" | "external";
  /** Why a certificate was renewed, or how an external CA is used. */
  reason?: string;
}

/** A certificate of the cluster in memory, with its key when we have it. */
export interface PkiEntry {
  def: CertDef;
  cert: x509.X509Certificate;
  certPem: string;
  key?: KeyPair;
}

/**
 * The entry of a certificate just issued. Its X509Certificate is made when `cert` is first read: a run that only writes
 * the certificates never makes one, and the CLI's bundle then never loads @peculiar/x509.
 */
export function issuedEntry(def: CertDef, issued: IssuedDer, key: KeyPair): PkiEntry {
  let cert: x509.X509Certificate | undefined;
  return {
    def,
    get cert() {
      return (cert ??= issuedCertificate(issued));
    },
    set cert(value) {
      cert = value;
    },
    certPem: certificatePem(issued),
    key,
  };
}

/** The cluster PKI in memory, from {@link makeClusterPki} or generateClusterPki (Node). */
export interface ClusterPki {
  spec: ClusterSpec;
  /** The cluster folder it was made in; empty for a PKI made in memory. */
  dir: string;
  /** Every certificate by its name in the cluster list (`ca`, `etcd/server`, `clients/admin`...), CAs first. */
  entries: Map<string, PkiEntry>;
  serviceAccountKey: KeyPair;
  actions: PkiAction[];
  warnings: string[];
}

/** Options of {@link makeClusterPki}. */
export interface MakeOptions {
  /** The clock (tests pin it). */
  now?: Date;
  /** Only these leaves (every one by default). */
  leaves?: (def: CertDef) => boolean;
}

/** A file of the cluster folder, its path relative to the folder (`pki/ca.crt`, `admin.conf`). */
export interface ClusterFile {
  path: string;
  content: string;
  /** 0600 for private keys and kubeconfigs, 0644 for certificates and the service-account public key. */
  mode: number;
}

/**
 * Makes the whole cluster PKI in memory, on any runtime with WebCrypto: the three CAs, every leaf of the cluster
 * list signed by its CA, and the service-account key pair. The certificates are those `dk-bootstrap certs` makes
 * for the same spec (the same issuing code); {@link clusterPkiFiles} gives the files it would write.
 */
export async function makeClusterPki(spec: ClusterSpec, options: MakeOptions = {}): Promise<ClusterPki> {
  const now = options.now ?? new Date();
  const leafDefs = LEAF_DEFS.filter(options.leaves ?? (() => true));
  // Every key is asked for at once, CAs' first, so that each certificate is signed as soon as its key and its CA are ready.
  const keys = new Map([...CA_DEFS, ...leafDefs].map((def) => [def.name, KeyPair.generate(spec.key)] as const));
  const saKey = KeyPair.generate(serviceAccountKeySpec(spec));
  const cas = new Map(
    CA_DEFS.map((def) => {
      const made = keys.get(def.name)!.then(async (key) => ({ def, key, cert: await issueClusterCa(spec, def, key, now), warnings: [] as string[] }));
      return [def.name, made] as const;
    }),
  );
  const leaves = leafDefs.map(async (def) => {
    // Both at once, so that a failed key is never left without a handler.
    const [ca, key] = await Promise.all([cas.get(def.ca!)!, keys.get(def.name)!]);
    const cert = await issueClusterLeaf(spec, def, key.publicKey, { cert: ca.cert, key: ca.key }, now);
    return { def, key, cert, warnings: outlivesCaWarning(def.name, cert.notAfter, ca.cert) };
  });
  const [serviceAccountKey, made] = await Promise.all([saKey, Promise.all([...cas.values(), ...leaves])]);
  const pki: ClusterPki = { spec, dir: "", entries: new Map(), serviceAccountKey, actions: [], warnings: [] };
  for (const m of made) {
    pki.entries.set(m.def.name, issuedEntry(m.def, m.cert, m.key));
    pki.actions.push({ name: m.def.name, action: "made" });
    pki.warnings.push(...m.warnings);
  }
  pki.actions.push({ name: "sa", action: "made" });
  return pki;
}

/**
 * The files of a cluster PKI under the cluster folder, as `dk-bootstrap certs` writes them: each certificate with its
 * key (`pki/<name>.crt` 0644, `pki/<name>.key` 0600, keys in the spec's format), then `pki/sa.key` and `pki/sa.pub`.
 */
export function clusterPkiFiles(pki: ClusterPki): ClusterFile[] {
  const files: ClusterFile[] = [];
  for (const [name, entry] of pki.entries) {
    const paths = certFiles(name);
    if (entry.key) files.push({ path: paths.key, content: entry.key.privateKeyPem(pki.spec.keyFormat), mode: KEY_MODE });
    files.push({ path: paths.crt, content: entry.certPem, mode: CERT_MODE });
  }
  files.push({ path: SA_FILES.key, content: pki.serviceAccountKey.privateKeyPem(pki.spec.keyFormat), mode: KEY_MODE });
  files.push({ path: SA_FILES.pub, content: pki.serviceAccountKey.publicKeyPem(), mode: CERT_MODE });
  return files;
}
