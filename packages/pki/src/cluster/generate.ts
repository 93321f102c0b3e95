import { type Signer, certificatePem, issueCertificate, kubeadmValidity, outlivesCaWarning, parseCertificate } from "../certificate.js";
import { PkiError } from "../errors.js";
import { describeCertificate, keyMatchesCertificate, verifyChain } from "../inspect.js";
import { KeyPair, type KeySpec } from "../keys.js";
import { classifyHosts, noSans, sanList } from "../san.js";
import { type WriteOptions, ensurePrivateDir, readIfExists, writeFileAtomic } from "../store.js";
import { parseUsages } from "../usages.js";
import type { x509 } from "../x509.js";
import { CA_DEFS, CERT_DEFS, type CertDef, LEAF_DEFS } from "./certlist.js";
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

/** What a cluster folder already holds for one certificate. */
interface ExistingPair {
  cert?: x509.X509Certificate;
  certPem?: string;
  key?: KeyPair;
}

/** A file to write once every certificate has been settled, so that a failure leaves the folder as it was. */
interface PendingWrite {
  path: string;
  content: string;
  options: WriteOptions;
}

/** The state one run builds up. */
interface Run {
  pki: ClusterPki;
  force: boolean;
  now: Date;
  writes: PendingWrite[];
}

/**
 * Makes the cluster PKI in `<dir>/pki`, or completes it. CAs first: an existing valid CA is kept, a CA
 * certificate without its key is used as an external CA (its leaves must then exist). Leaves: kept
 * when valid, signed by their CA and matching the spec (identity and SANs); otherwise re-issued with
 * their existing key ("renewed"); made with a new key only when there is none or with `force`.
 * Everything is checked before any key is generated, every key that must be made is generated at once
 * in parallel, and nothing is written until every certificate is settled.
 */
export async function generateClusterPki(spec: ClusterSpec, dir: string, options: GenerateOptions = {}): Promise<ClusterPki> {
  const force = options.force ?? false;
  const now = options.now ?? new Date();
  const existing = new Map(await Promise.all(CERT_DEFS.map(async (def) => [def.name, await loadPair(dir, def.name)] as const)));
  const have = (def: CertDef) => existing.get(def.name)!;
  const saPath = saPaths(dir);
  const saPem = force ? undefined : await readIfExists(saPath.key);
  if (!force) for (const def of CA_DEFS) await checkExistingCa(dir, have(def), def, now);

  const externalCa = (d: CertDef) => d.ca === undefined && have(d).cert !== undefined;
  const needKeys = CERT_DEFS.filter((d) => force || (!have(d).key && !externalCa(d)));
  // The service-account token signer takes RSA or ECDSA only.
  const saSpec: KeySpec = spec.key.algo === "ed25519" ? { algo: "ecdsa", size: 256 } : spec.key;
  const [saKey, ...fresh] = await Promise.all([
    saPem ? KeyPair.fromPem(saPem, { file: saPath.key }) : KeyPair.generate(saSpec),
    ...needKeys.map(() => KeyPair.generate(spec.key)),
  ]);
  const freshKeys = new Map(needKeys.map((d, i) => [d.name, fresh[i]!]));

  const run: Run = { pki: { spec, dir, entries: new Map(), serviceAccountKey: saKey!, actions: [], warnings: [] }, force, now, writes: [] };
  for (const def of CA_DEFS) await settleCa(run, def, have(def), freshKeys.get(def.name));
  for (const def of LEAF_DEFS) await settleLeaf(run, def, have(def), freshKeys.get(def.name));
  if (!saPem) {
    run.writes.push({
      path: saPath.key,
      content: saKey!.privateKeyPem(spec.keyFormat),
      options: { mode: 0o600, protect: { what: "service-account key", force } },
    });
    run.writes.push({ path: saPath.pub, content: saKey!.publicKeyPem(), options: { mode: 0o644 } });
  } else if ((await readIfExists(saPath.pub)) !== saKey!.publicKeyPem()) {
    run.writes.push({ path: saPath.pub, content: saKey!.publicKeyPem(), options: { mode: 0o644 } });
  }
  run.pki.actions.push({ name: "sa", action: saPem ? "kept" : "made" });

  await ensurePrivateDir(dir);
  for (const folder of new Set(CERT_DEFS.map((d) => certDir(dir, d.name)))) await ensurePrivateDir(folder);
  // Each write is atomic on its own; doing them together lets their fsyncs overlap on the thread pool.
  await Promise.all(run.writes.map((w) => writeFileAtomic(w.path, w.content, w.options)));
  return run.pki;
}

async function loadPair(dir: string, name: string): Promise<ExistingPair> {
  const p = certPaths(dir, name);
  const [certPem, keyPem] = await Promise.all([readIfExists(p.crt), readIfExists(p.key)]);
  const out: ExistingPair = {};
  if (certPem !== undefined) {
    out.cert = parseCertificate(certPem, { file: p.crt });
    out.certPem = certPem;
  }
  if (keyPem !== undefined) out.key = await KeyPair.fromPem(keyPem, { file: p.key });
  return out;
}

/** An existing CA must be a CA, valid now, and match its key when the key is there; nothing replaces it without force. */
async function checkExistingCa(dir: string, have: ExistingPair, def: CertDef, now: Date): Promise<void> {
  if (!have.cert) return;
  const p = certPaths(dir, def.name);
  if (!(await describeCertificate(have.cert)).isCA)
    throw new PkiError(`${p.crt}: not a CA certificate`, { hint: "remove it, or pass --force to make a new CA" });
  if (now > have.cert.notAfter)
    throw new PkiError(`${p.crt}: the CA expired on ${have.cert.notAfter.toISOString()}`, {
      hint: "CA rotation is manual: pass --force to make a new CA and re-issue everything",
    });
  if (have.key && !(await keyMatchesCertificate(have.key, have.cert)))
    throw new PkiError(`${p.key}: does not match ${p.crt}`, { hint: "restore the CA's own key, or pass --force to make a new CA" });
}

async function settleCa(run: Run, def: CertDef, have: ExistingPair, freshKey: KeyPair | undefined): Promise<void> {
  const { pki } = run;
  if (have.cert && !run.force) {
    pki.entries.set(def.name, { def, cert: have.cert, certPem: have.certPem!, ...(have.key ? { key: have.key } : {}) });
    pki.actions.push(have.key ? { name: def.name, action: "kept" } : { name: def.name, action: "external", reason: "no CA key: leaves must be provided" });
    return;
  }
  const key = freshKey ?? have.key!;
  const cn = def.cn(pki.spec);
  const cert = await issueCertificate(
    { subject: { CN: cn }, publicKey: key.publicKey, sans: { ...noSans(), dns: [cn] }, validity: kubeadmValidity(run.now, pki.spec.caValidityMs), ca: {} },
    { selfKey: key },
  );
  queuePair(run, def, cert, freshKey);
  pki.entries.set(def.name, { def, cert, certPem: certificatePem(cert), key });
  pki.actions.push({ name: def.name, action: "made" });
}

async function settleLeaf(run: Run, def: CertDef, have: ExistingPair, freshKey: KeyPair | undefined): Promise<void> {
  const { pki } = run;
  const ca = pki.entries.get(def.ca!)!;
  const stale = have.cert && have.key && !run.force ? await whyStale(pki.spec, def, have.cert, have.key, ca.cert, run.now) : "missing";
  if (stale === undefined) {
    pki.entries.set(def.name, { def, cert: have.cert!, certPem: have.certPem!, key: have.key! });
    pki.actions.push({ name: def.name, action: "kept" });
    return;
  }
  if (!ca.key) throw new PkiError(`${certPaths(pki.dir, def.name).crt}: ${stale}, and ${def.ca} is an external CA (no key) so it cannot be issued here`);
  const key = freshKey ?? have.key!;
  const cert = await issueLeaf(pki.spec, def, key.publicKey, { cert: ca.cert, key: ca.key }, run.now);
  queuePair(run, def, cert, freshKey);
  pki.warnings.push(...outlivesCaWarning(def.name, cert.notAfter, ca.cert));
  pki.entries.set(def.name, { def, cert, certPem: certificatePem(cert), key });
  pki.actions.push(freshKey ? { name: def.name, action: "made" } : { name: def.name, action: "renewed", reason: stale });
}

/** Issues a leaf of the cluster list with kubeadm's validity rule. */
function issueLeaf(spec: ClusterSpec, def: CertDef, publicKey: CryptoKey, signer: Signer, now: Date): Promise<x509.X509Certificate> {
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
async function whyStale(
  spec: ClusterSpec,
  def: CertDef,
  cert: x509.X509Certificate,
  key: KeyPair,
  ca: x509.X509Certificate,
  now: Date,
): Promise<string | undefined> {
  if (!(await keyMatchesCertificate(key, cert))) return "its key does not match it";
  const problems = await verifyChain(cert, [ca], [], now);
  if (problems.length > 0) return problems[0];
  const info = await describeCertificate(cert);
  if (info.subject.CN !== def.cn(spec) || (info.subject.O ?? []).join(",") !== (def.o?.(spec) ?? []).join(",")) return "its identity differs from the spec";
  const want = def.hosts ? sanList(classifyHosts(def.hosts(spec))).sort() : [];
  if (sanList(info.sans).sort().join(",") !== want.join(",")) return "its SANs differ from the spec";
  return undefined;
}

/** Queues a certificate, and its key when it is new; an existing key or CA is only replaced with force. */
function queuePair(run: Run, def: CertDef, cert: x509.X509Certificate, newKey: KeyPair | undefined): void {
  const p = certPaths(run.pki.dir, def.name);
  if (newKey)
    run.writes.push({
      path: p.key,
      content: newKey.privateKeyPem(run.pki.spec.keyFormat),
      options: { mode: 0o600, protect: { what: "private key", force: run.force } },
    });
  run.writes.push({
    path: p.crt,
    content: certificatePem(cert),
    options: { mode: 0o644, ...(def.ca ? {} : { protect: { what: "CA certificate", force: run.force } }) },
  });
}
