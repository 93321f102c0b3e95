import { type Signer, certificatePem, issueCertificate, kubeadmValidity, parseCertificate } from "../certificate.js";
import { DkError, PkiError } from "../errors.js";
import { describeCertificate, keyMatchesCertificate, verifyChain } from "../inspect.js";
import { KeyPair, type KeySpec } from "../keys.js";
import { classifyHosts, noSans, sanList } from "../san.js";
import { ensurePrivateDir, readIfExists, writeFileAtomic } from "../store.js";
import { parseUsages } from "../usages.js";
import type { x509 } from "../x509.js";
import { CA_DEFS, type CertDef, LEAF_DEFS } from "./certlist.js";
import { certDir, certPaths, saPaths } from "./layout.js";
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

/** The cluster PKI in memory, after {@link generateClusterPki}. */
export interface ClusterPki {
  spec: ClusterSpec;
  dir: string;
  entries: Map<string, PkiEntry>;
  serviceAccountKey: KeyPair;
  actions: PkiAction[];
  warnings: string[];
}

/** Options of {@link generateClusterPki}. */
export interface GenerateOptions {
  /** Replace CAs and keys that exist. Without it, they are never overwritten. */
  force?: boolean;
  /** The clock (tests pin it). */
  now?: Date;
}

/**
 * Makes the cluster PKI in `<dir>/pki`, or completes it. CAs first: an existing valid CA is kept, a CA
 * certificate without its key is used as an external CA (its leaves must then exist). Leaves: kept
 * when valid, signed by their CA and matching the spec (identity and SANs); otherwise re-issued with
 * their existing key ("renewed"); made with a new key only when there is none or with `force`.
 * Every key that must be made is generated at once, in parallel.
 */
export async function generateClusterPki(spec: ClusterSpec, dir: string, options: GenerateOptions = {}): Promise<ClusterPki> {
  const now = options.now ?? new Date();
  const force = options.force ?? false;
  const pki: ClusterPki = { spec, dir, entries: new Map(), serviceAccountKey: undefined!, actions: [], warnings: [] };
  await ensurePrivateDir(dir);
  for (const sub of ["ca", "etcd/ca", "clients/admin"]) await ensurePrivateDir(certDir(dir, sub));

  const existing = new Map<string, { cert?: x509.X509Certificate; certPem?: string; key?: KeyPair }>();
  await Promise.all([...CA_DEFS, ...LEAF_DEFS].map(async (def) => existing.set(def.name, await loadPair(dir, def.name))));
  const saPem = force ? undefined : await readIfExists(saPaths(dir).key);

  // Decide which keys are missing, then make them all at once.
  const saSpec: KeySpec = spec.key.algo === "ed25519" ? { algo: "ecdsa", size: 256 } : spec.key;
  const externalCa = (d: CertDef) => d.ca === undefined && existing.get(d.name)?.cert !== undefined;
  const names = [...CA_DEFS, ...LEAF_DEFS].filter((d) => force || (!existing.get(d.name)?.key && !externalCa(d))).map((d) => d.name);
  const [saKey, ...fresh] = await Promise.all([
    saPem ? KeyPair.fromPem(saPem, { file: saPaths(dir).key }) : KeyPair.generate(saSpec),
    ...names.map(() => KeyPair.generate(spec.key)),
  ]);
  const freshKeys = new Map(names.map((n, i) => [n, fresh[i]!]));
  pki.serviceAccountKey = saKey!;

  for (const def of CA_DEFS) await settleCa(pki, def, existing.get(def.name)!, freshKeys.get(def.name), force, now);
  for (const def of LEAF_DEFS) await settleLeaf(pki, def, existing.get(def.name)!, freshKeys.get(def.name), now);

  const sa = saPaths(dir);
  if (!saPem) await writeFileAtomic(sa.key, saKey!.privateKeyPem(), { mode: 0o600, dirMode: 0o700, protect: { what: "service-account key", force } });
  await writeFileAtomic(sa.pub, saKey!.publicKeyPem(), { mode: 0o644 });
  pki.actions.push({ name: "sa", action: saPem ? "kept" : "made" });
  return pki;
}

async function loadPair(dir: string, name: string): Promise<{ cert?: x509.X509Certificate; certPem?: string; key?: KeyPair }> {
  const p = certPaths(dir, name);
  const [certPem, keyPem] = await Promise.all([readIfExists(p.crt), readIfExists(p.key)]);
  const out: { cert?: x509.X509Certificate; certPem?: string; key?: KeyPair } = {};
  if (certPem !== undefined) {
    try {
      out.cert = parseCertificate(certPem);
      out.certPem = certPem;
    } catch (e) {
      throw new PkiError(`${p.crt}: ${(e as Error).message}`, { hint: "remove the file to have it made again" });
    }
  }
  if (keyPem !== undefined) out.key = await KeyPair.fromPem(keyPem, { file: p.key });
  return out;
}

async function settleCa(pki: ClusterPki, def: CertDef, have: { cert?: x509.X509Certificate; certPem?: string; key?: KeyPair }, freshKey: KeyPair | undefined, force: boolean, now: Date): Promise<void> {
  const p = certPaths(pki.dir, def.name);
  if (have.cert && !force) {
    const info = await describeCertificate(have.cert);
    if (!info.isCA) throw new PkiError(`${p.crt}: not a CA certificate`, { hint: "remove it, or pass --force to make a new CA" });
    if (now > have.cert.notAfter) throw new PkiError(`${p.crt}: the CA expired on ${have.cert.notAfter.toISOString()}`, { hint: "CA rotation is manual: pass --force to make a new CA and re-issue everything" });
    if (have.key && !(await keyMatchesCertificate(have.key, have.cert))) throw new PkiError(`${p.key}: does not match ${p.crt}`, { hint: "restore the CA's own key, or pass --force to make a new CA" });
    const entry: PkiEntry = { def, cert: have.cert, certPem: have.certPem! };
    if (have.key) entry.key = have.key;
    pki.entries.set(def.name, entry);
    pki.actions.push(have.key ? { name: def.name, action: "kept" } : { name: def.name, action: "external", reason: "no CA key: leaves must be provided" });
    return;
  }
  const key = force ? freshKey! : (have.key ?? freshKey!);
  const cert = await issueCertificate(
    { subject: { CN: def.cn(pki.spec) }, publicKey: key.publicKey, sans: { ...noSans(), dns: [def.cn(pki.spec)] }, validity: kubeadmValidity(now, pki.spec.caValidityMs), ca: {} },
    { selfKey: key },
  );
  await writePair(pki, def, cert, have.key === key ? undefined : key, force);
  pki.entries.set(def.name, { def, cert, certPem: certificatePem(cert), key });
  pki.actions.push({ name: def.name, action: "made" });
}

async function settleLeaf(pki: ClusterPki, def: CertDef, have: { cert?: x509.X509Certificate; certPem?: string; key?: KeyPair }, freshKey: KeyPair | undefined, now: Date): Promise<void> {
  const ca = pki.entries.get(def.ca!)!;
  const stale = have.cert && have.key ? await whyStale(pki, def, have.cert, have.key, ca.cert, now) : "missing";
  if (stale === undefined) {
    pki.entries.set(def.name, { def, cert: have.cert!, certPem: have.certPem!, key: have.key! });
    pki.actions.push({ name: def.name, action: "kept" });
    return;
  }
  if (!ca.key) throw new PkiError(`${certPaths(pki.dir, def.name).crt}: ${stale}, and ${def.ca} is an external CA (no key) so it cannot be issued here`);
  const key = freshKey ?? have.key!;
  const cert = await issueLeaf(pki.spec, def, key.publicKey, { cert: ca.cert, key: ca.key }, now);
  await writePair(pki, def, cert, freshKey, freshKey !== undefined && have.key !== undefined);
  if (cert.notAfter > ca.cert.notAfter) pki.warnings.push(`${def.name} would outlive its CA ${def.ca} (${ca.cert.notAfter.toISOString()})`);
  pki.entries.set(def.name, { def, cert, certPem: certificatePem(cert), key });
  pki.actions.push(freshKey ? { name: def.name, action: "made" } : { name: def.name, action: "renewed", reason: stale });
}

/** Issues a leaf of the cluster list with kubeadm's validity rule. */
export async function issueLeaf(spec: ClusterSpec, def: CertDef, publicKey: CryptoKey, signer: Signer, now: Date): Promise<x509.X509Certificate> {
  const o = def.o?.(spec);
  return issueCertificate(
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

/** Why an existing leaf can't be kept, or undefined when it can. */
async function whyStale(pki: ClusterPki, def: CertDef, cert: x509.X509Certificate, key: KeyPair, ca: x509.X509Certificate, now: Date): Promise<string | undefined> {
  if (!(await keyMatchesCertificate(key, cert))) return "its key does not match it";
  const problems = await verifyChain(cert, [ca], [], now);
  if (problems.length > 0) return problems[0];
  const info = await describeCertificate(cert);
  if (info.subject.CN !== def.cn(pki.spec) || (info.subject.O ?? []).join(",") !== (def.o?.(pki.spec) ?? []).join(",")) return "its identity differs from the spec";
  const want = def.hosts ? sanList(classifyHosts(def.hosts(pki.spec))).sort() : [];
  if (sanList(info.sans).sort().join(",") !== want.join(",")) return "its SANs differ from the spec";
  return undefined;
}

async function writePair(pki: ClusterPki, def: CertDef, cert: x509.X509Certificate, newKey: KeyPair | undefined, force: boolean): Promise<void> {
  const p = certPaths(pki.dir, def.name);
  try {
    if (newKey) await writeFileAtomic(p.key, newKey.privateKeyPem(), { mode: 0o600, dirMode: 0o700, protect: { what: "private key", force } });
    await writeFileAtomic(p.crt, certificatePem(cert), { mode: 0o644, dirMode: 0o700, ...(def.ca ? {} : { protect: { what: "CA certificate", force } }) });
  } catch (e) {
    if (e instanceof DkError) throw e;
    throw new PkiError(`${p.crt}: cannot write: ${(e as Error).message}`, { cause: e });
  }
}
