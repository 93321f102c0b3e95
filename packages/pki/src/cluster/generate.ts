import { dirname } from "node:path";
import { type CertificateDer, outlivesCaWarning, parseCertificate } from "../certificate.js";
import { NamesDroppedError, PkiError } from "../errors.js";
import { describeCertificate, keyMatchesCertificate, verifyChain } from "../inspect.js";
import { KeyPair } from "../keys.js";
import { classifyHosts, sanList } from "../san.js";
import { type ClusterFolder, withClusterFolder } from "../cluster-folder.js";
import { type WriteOptions, exists, readIfExists } from "../store.js";
import type { x509 } from "../x509.js";
import { CA_DEFS, type CertDef, LEAF_DEFS } from "./certlist.js";
import { issueClusterCa, issueClusterLeaf, serviceAccountKeySpec } from "./issue.js";
import { certPaths, saPaths } from "./layout.js";
import { type ClusterPki, type PkiAction, type PkiEntry, issuedEntry } from "./make.js";
import type { ClusterSpec } from "./spec.js";

export type { ClusterPki, PkiAction, PkiEntry } from "./make.js";

/** Options of {@link generateClusterPki}. */
export interface GenerateOptions {
  /** Replace CAs and keys that exist. Without it, they are never overwritten. */
  force?: boolean;
  /** The clock (tests pin it). */
  now?: Date;
  /**
   * Let a serving certificate lose a name or an IP it has (the spec no longer lists it). Without it,
   * such a change is refused: a client that reaches the component by that name would stop trusting it.
   */
  allowNameRemoval?: boolean;
  /**
   * The cluster folder, opened by the caller: the files join its set (the CLI adds the kubeconfigs) and
   * the caller commits. Without it, the folder is opened, committed and released here.
   */
  folder?: ClusterFolder;
  /**
   * A node of a cluster of several, in its own folder inside the cluster folder (`nodes/NAME`; `folder`
   * must be the cluster folder): its CAs and service-account key are the cluster's, copied into the
   * node's folder (their keys for a controller only, which signs with them), and only the leaves of its
   * role are made, for this node's name and IPs.
   */
  node?: { dir: string; role: "controller" | "worker" | "controller+worker"; cluster: ClusterPki };
  /** Called as each new key is made (`--key-size 4096` takes seconds): the CLI shows progress on a terminal. */
  onKey?: (name: string, done: number, total: number) => void;
  /** Only these leaves (the cluster folder of a cluster of several holds its CAs and the admin's clients). */
  leaves?: (def: CertDef) => boolean;
}

/** The leaves a node of this role holds. */
export const leavesOf =
  (role: "controller" | "worker" | "controller+worker") =>
  (def: CertDef): boolean =>
    role === "controller+worker" || def.on === role;

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

/** What every certificate of one run is settled against. */
interface Run {
  spec: ClusterSpec;
  dir: string;
  force: boolean;
  allowNameRemoval: boolean;
  now: Date;
}

/** One certificate settled: what it is now, what was done, and what to write once everything is settled. */
interface Settled {
  entry: PkiEntry;
  /** The entry's certificate as a CA signs with it: parsed when it was read from the folder, else as issued. */
  der: CertificateDer;
  action: PkiAction;
  writes: PendingWrite[];
  warnings: string[];
}

/**
 * Makes the cluster PKI in `<dir>/pki`, or completes it. CAs first: an existing valid CA is kept, a CA
 * certificate without its key is used as an external CA (its leaves must then exist). Leaves: kept
 * when valid, signed by their CA and matching the spec (identity and SANs); otherwise re-issued with
 * their existing key ("renewed"); made with a new key only when there is none or with `force`.
 * Everything is checked before any key is generated, and nothing is written until every certificate
 * is settled; then every file is written as one set (see {@link ClusterFolder}), under the folder's lock.
 */
export function generateClusterPki(spec: ClusterSpec, dir: string, options: GenerateOptions = {}): Promise<ClusterPki> {
  if (options.node && !options.folder) throw new Error("a node's PKI is made inside its cluster's open folder");
  return withClusterFolder(dir, options.folder, (folder) => generateInFolder(spec, folder, options));
}

async function generateInFolder(spec: ClusterSpec, folder: ClusterFolder, options: GenerateOptions): Promise<ClusterPki> {
  const node = options.node;
  const dir = node?.dir ?? folder.dir;
  const leafDefs = LEAF_DEFS.filter(options.leaves ?? (node ? leavesOf(node.role) : () => true));
  const defs = [...CA_DEFS, ...leafDefs];
  const run: Run = { spec, dir, force: options.force ?? false, allowNameRemoval: options.allowNameRemoval ?? false, now: options.now ?? new Date() };
  const saPath = saPaths(dir);
  // A first run has no pki folder: nothing to read (~35 reads that would each fail on the thread pool).
  const first = !(await exists(dirname(saPath.key)));
  const existing = new Map(
    await Promise.all(defs.map(async (def) => [def.name, first ? {} : await loadPair(dir, def.name, node !== undefined && !def.ca)] as const)),
  );
  const have = (def: CertDef) => existing.get(def.name)!;
  const saPem = run.force || node || first ? undefined : await readIfExists(saPath.key);
  if (!run.force && !node) for (const def of CA_DEFS) await checkExistingCa(dir, have(def), def, run.now);

  // Every key is asked for at once, CAs' first: the thread pool takes them in order, so each certificate
  // is signed as soon as its key and its CA are ready, while the other keys are still being made.
  const externalCa = (d: CertDef) => d.ca === undefined && have(d).cert !== undefined;
  const needsKey = (d: CertDef) => !(node && !d.ca) && (run.force || (!have(d).key && !externalCa(d)));
  const made = { done: 0, total: defs.filter(needsKey).length + (node || saPem ? 0 : 1) };
  const counted = (name: string, key: Promise<KeyPair>) =>
    key.then((k) => {
      options.onKey?.(name, ++made.done, made.total);
      return k;
    });
  const freshKeys = new Map(defs.filter(needsKey).map((d) => [d.name, counted(d.name, KeyPair.generate(spec.key))] as const));
  const saKey = node
    ? Promise.resolve(node.cluster.serviceAccountKey)
    : saPem
      ? KeyPair.fromPem(saPem, { file: saPath.key })
      : counted("sa", KeyPair.generate(serviceAccountKeySpec(spec)));
  const tasks = new Map<string, Promise<Settled>>();
  for (const def of CA_DEFS)
    tasks.set(
      def.name,
      node ? copyClusterCa(folder, def, node.dir, node.cluster, node.role !== "worker") : settleCa(run, def, have(def), freshKeys.get(def.name)),
    );
  for (const def of leafDefs) tasks.set(def.name, settleLeaf(run, def, have(def), freshKeys.get(def.name), tasks.get(def.ca!)!));
  // Every task is waited for, and a refusal is the first in the definitions' order, not the first to finish: the
  // same folder and flags give the same error line however the thread pool ran. Names a new setting would drop are
  // said for every certificate at once (a new node IP drops the old one from the apiserver's, etcd's and the
  // kubelet's), so that one run tells the user all they would lose.
  const outcomes = await Promise.allSettled([saKey, ...defs.map((def) => tasks.get(def.name)!)]);
  const refusals = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as unknown] : []));
  if (refusals[0] instanceof NamesDroppedError)
    throw new NamesDroppedError(refusals.flatMap((r) => (r instanceof NamesDroppedError ? r.certificates : [])));
  if (refusals.length) throw refusals[0];
  const [serviceAccountKey, ...settled] = outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value) as [KeyPair, ...Settled[]];

  const pki: ClusterPki = { spec, dir, entries: new Map(), serviceAccountKey, actions: [], warnings: [] };
  const writes: PendingWrite[] = [];
  for (const s of settled) {
    pki.entries.set(s.entry.def.name, s.entry);
    pki.actions.push(s.action);
    pki.warnings.push(...s.warnings);
    writes.push(...s.writes);
  }
  const saPub = serviceAccountKey.publicKeyPem();
  if (node) {
    // The apiservers sign and verify service-account tokens with the cluster's one key pair.
    if (node.role !== "worker") writes.push(...(await copiedFiles(folder, saPaths(node.cluster.dir), saPath, ["key", "pub"])));
  } else if (!saPem) {
    writes.push({
      path: saPath.key,
      content: serviceAccountKey.privateKeyPem(spec.keyFormat),
      options: { mode: 0o600, protect: { what: "service-account key", force: run.force } },
    });
    writes.push({ path: saPath.pub, content: saPub, options: { mode: 0o644 } });
  } else if ((await readIfExists(saPath.pub)) !== saPub) {
    writes.push({ path: saPath.pub, content: saPub, options: { mode: 0o644 } });
  }
  pki.actions.push({ name: "sa", action: saPem || node ? "kept" : "made" });

  // Every folder of the PKI holds keys: 0700, down from the cluster folder.
  await folder.stageAll(writes.map((w) => ({ path: w.path, content: w.content, options: { ...w.options, dirMode: 0o700 } })));
  return pki;
}

async function loadPair(dir: string, name: string, copy = false): Promise<ExistingPair> {
  // A node's copy of a cluster CA is rewritten from the cluster's, never read.
  if (copy) return {};
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

/** A node's copy of a cluster CA: the certificate always, the key for a node that signs with it; written when it differs. */
async function copyClusterCa(folder: ClusterFolder, def: CertDef, nodeDir: string, cluster: ClusterPki, withKey: boolean): Promise<Settled> {
  const entry = cluster.entries.get(def.name);
  if (!entry) throw new PkiError(`the cluster PKI has no ${def.name}`);
  const writes = await copiedFiles(folder, certPaths(cluster.dir, def.name), certPaths(nodeDir, def.name), withKey ? ["crt", "key"] : ["crt"]);
  return { entry, der: entry.cert, action: { name: def.name, action: "kept" }, writes, warnings: [] };
}

/** Copies of some of a pair of files (as this run sees them, staged included), for those that differ. */
async function copiedFiles<K extends string>(folder: ClusterFolder, from: Record<K, string>, to: Record<K, string>, which: K[]): Promise<PendingWrite[]> {
  const writes: PendingWrite[] = [];
  for (const k of which) {
    const text = await folder.read(from[k]);
    if (text === undefined) throw new PkiError(`${from[k]}: missing in the cluster folder`);
    if ((await folder.read(to[k])) !== text) writes.push({ path: to[k], content: text, options: { mode: k === "key" ? 0o600 : 0o644 } });
  }
  return writes;
}

async function settleCa(run: Run, def: CertDef, have: ExistingPair, freshKeyPromise: Promise<KeyPair> | undefined): Promise<Settled> {
  const freshKey = await freshKeyPromise;
  if (have.cert && !run.force) {
    return {
      entry: { def, cert: have.cert, certPem: have.certPem!, ...(have.key ? { key: have.key } : {}) },
      der: have.cert,
      action: have.key ? { name: def.name, action: "kept" } : { name: def.name, action: "external", reason: "no CA key: leaves must be provided" },
      writes: [],
      warnings: [],
    };
  }
  const key = freshKey ?? have.key!;
  const cert = await issueClusterCa(run.spec, def, key, run.now);
  const entry = issuedEntry(def, cert, key);
  return {
    entry,
    der: cert,
    action: { name: def.name, action: "made" },
    writes: pairWrites(run, def, entry.certPem, freshKey),
    warnings: [],
  };
}

async function settleLeaf(
  run: Run,
  def: CertDef,
  have: ExistingPair,
  freshKeyPromise: Promise<KeyPair> | undefined,
  caTask: Promise<Settled>,
): Promise<Settled> {
  // Both at once, so that a failed key is never left without a handler.
  const [{ entry: ca, der: caDer }, freshKey] = await Promise.all([caTask, freshKeyPromise]);
  const stale = have.cert && have.key && !run.force ? await whyStale(run.spec, def, have.cert, have.key, ca.cert, run.now) : "missing";
  if (stale === undefined)
    return {
      entry: { def, cert: have.cert!, certPem: have.certPem!, key: have.key! },
      der: have.cert!,
      action: { name: def.name, action: "kept" },
      writes: [],
      warnings: [],
    };
  if (!ca.key) throw new PkiError(`${certPaths(run.dir, def.name).crt}: ${stale}, and ${def.ca} is an external CA (no key) so it cannot be issued here`);
  if (have.cert && !run.force && !run.allowNameRemoval) await refuseDroppedNames(run, def, have.cert);
  const key = freshKey ?? have.key!;
  const cert = await issueClusterLeaf(run.spec, def, key.publicKey, { cert: caDer, key: ca.key }, run.now);
  const entry = issuedEntry(def, cert, key);
  return {
    entry,
    der: cert,
    action: freshKey ? { name: def.name, action: "made" } : { name: def.name, action: "renewed", reason: stale },
    writes: pairWrites(run, def, entry.certPem, freshKey),
    warnings: outlivesCaWarning(def.name, cert.notAfter, caDer),
  };
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

/** A re-issue must not silently drop a name or an IP that the existing certificate serves. */
async function refuseDroppedNames(run: Run, def: CertDef, cert: x509.X509Certificate): Promise<void> {
  const want = new Set(def.hosts ? sanList(classifyHosts(def.hosts(run.spec))) : []);
  const dropped = sanList((await describeCertificate(cert)).sans).filter((n) => !want.has(n));
  if (dropped.length > 0) throw new NamesDroppedError([{ file: certPaths(run.dir, def.name).crt, dropped }]);
}

/** The files of a certificate (its PEM, as its entry has it) and of its key when it is new; an existing key or CA is only replaced with force. */
function pairWrites(run: Run, def: CertDef, certPem: string, newKey: KeyPair | undefined): PendingWrite[] {
  const p = certPaths(run.dir, def.name);
  const writes: PendingWrite[] = [];
  if (newKey)
    writes.push({
      path: p.key,
      content: newKey.privateKeyPem(run.spec.keyFormat),
      options: { mode: 0o600, protect: { what: "private key", force: run.force } },
    });
  writes.push({
    path: p.crt,
    content: certPem,
    options: { mode: 0o644, ...(def.ca ? {} : { protect: { what: "CA certificate", force: run.force } }) },
  });
  return writes;
}
