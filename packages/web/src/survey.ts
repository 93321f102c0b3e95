/**
 * Reads a cluster folder's files (made in the page, dropped onto it, or served by `dk-bootstrap web DIR`)
 * into what the drawing shows: each certificate by its place in the cluster PKI (CERT_DEFS), checked
 * the way `certs` would keep it: its key matches, its chain verifies, its SANs cover the plan, it has not expired.
 */
import {
  type CaName,
  CA_DEFS,
  CERT_DEFS,
  type CertDef,
  type CertificateInfo,
  type ClusterSpec,
  KeyPair,
  describeCertificate,
  keyMatchesCertificate,
  verifyChain,
  x509,
} from "@dk-bootstrap/pki";
import { COMPONENT_KUBECONFIGS, parseKubeconfig } from "@dk-bootstrap/kubeconfig";

/** A certificate soon to expire: kubeadm renews a year-long leaf in its last month, `certs renew` warns then too. */
export const SOON_MS = 30 * 24 * 3_600_000;

/** How a certificate stands. */
export type Standing = "ok" | "soon" | "expired" | "problem";

/** One certificate as drawn. */
export interface CertView {
  /** Its CERT_DEFS name (`apiserver`, `etcd/ca`), or the file it was found in when it is none of them. */
  name: string;
  def?: CertDef;
  /** The file it was read from (a kubeconfig's certificate: `admin.conf`). */
  file: string;
  cert: x509.X509Certificate;
  info: CertificateInfo;
  standing: Standing;
  problems: string[];
  /** Whether its private key was found (and matched, else a problem says so). */
  hasKey: boolean;
}

/** A kubeconfig as drawn: who it is, where it points, the certificate it embeds. */
export interface KubeconfigView {
  file: string;
  server: string;
  user: string;
  cert?: CertView;
  problems: string[];
}

/** A cluster folder as drawn. */
export interface Survey {
  /** The three CAs, each with the leaves it signs. */
  authorities: { ca: CaName; def: CertDef; cert?: CertView; leaves: CertView[] }[];
  /** Certificates that are not the cluster's (another name, another CA). */
  others: CertView[];
  kubeconfigs: KubeconfigView[];
  /** Problems of the folder as a whole: a certificate of the plan that is missing, a file that cannot be read. */
  problems: string[];
  /** Every file by its path in the cluster folder. */
  files: Map<string, Uint8Array>;
}

const dec = new TextDecoder();

/**
 * The cluster folder's files by their path inside it: the part of each path before `pki/` (an archive's
 * `cluster/`, a dropped folder's name) is dropped; a lone kubeconfig keeps its name.
 */
export function clusterPaths(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const pkiAt = [...files.keys()].map((p) => /(^|\/)pki\//.exec(p)).find((m) => m);
  const root = pkiAt ? pkiAt.input.slice(0, pkiAt.index + pkiAt[1]!.length) : commonDir([...files.keys()]);
  const out = new Map<string, Uint8Array>();
  for (const [p, data] of files) if (p.startsWith(root)) out.set(p.slice(root.length), data);
  return out;
}

function commonDir(paths: string[]): string {
  if (paths.length !== 1)
    return paths.every((p) => p.includes("/")) && new Set(paths.map((p) => p.split("/")[0])).size === 1 ? `${paths[0]!.split("/")[0]}/` : "";
  const p = paths[0]!;
  return p.slice(0, p.lastIndexOf("/") + 1);
}

/** Surveys a cluster folder's files against the plan `spec` (the SANs its serving certificates must cover), at `now`. */
export async function survey(rawFiles: Map<string, Uint8Array>, spec: ClusterSpec, now: Date = new Date()): Promise<Survey> {
  const files = clusterPaths(rawFiles);
  const problems: string[] = [];
  const views = new Map<string, CertView>();
  const others: CertView[] = [];
  for (const [path, data] of files) {
    if (!path.endsWith(".crt")) continue;
    const name = path.startsWith("pki/") ? path.slice(4, -4) : path;
    const def = CERT_DEFS.find((d) => d.name === name);
    try {
      const view = await certView(name, def, path, dec.decode(data), now);
      await checkKey(view, files.get(`${path.slice(0, -4)}.key`));
      if (def) views.set(name, view);
      else others.push(view);
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message}`);
    }
  }
  const caCerts = CA_DEFS.map((d) => views.get(d.name)?.cert).filter((c): c is x509.X509Certificate => c !== undefined);
  for (const view of [...views.values(), ...others]) await checkChain(view, caCerts, now);
  for (const view of views.values()) checkPlan(view, spec);
  const kubeconfigs = await kubeconfigViews(files, caCerts, now, problems);
  if (views.size > 0) for (const d of CERT_DEFS) if (!views.has(d.name)) problems.push(`pki/${d.name}.crt: missing (the plan has it)`);
  const authorities = CA_DEFS.map((def) => ({
    ca: def.name as CaName,
    def,
    cert: views.get(def.name),
    leaves: [...views.values()].filter((v) => v.def?.ca === def.name),
  }));
  return { authorities, others, kubeconfigs, problems, files };
}

async function certView(name: string, def: CertDef | undefined, file: string, pem: string, now: Date): Promise<CertView> {
  const cert = new x509.X509Certificate(pem);
  const info = await describeCertificate(cert);
  const left = cert.notAfter.getTime() - now.getTime();
  const standing: Standing = left <= 0 ? "expired" : left < SOON_MS ? "soon" : "ok";
  const problems = standing === "expired" ? [`expired on ${cert.notAfter.toISOString()}`] : [];
  return { name, file, cert, info, standing, problems, hasKey: false, ...(def ? { def } : {}) };
}

async function checkKey(view: CertView, keyPem: Uint8Array | undefined): Promise<void> {
  if (!keyPem) return;
  view.hasKey = true;
  try {
    const key = await KeyPair.fromPem(dec.decode(keyPem), { file: `${view.file.slice(0, -4)}.key` });
    if (!(await keyMatchesCertificate(key, view.cert))) flag(view, "its key does not match the certificate");
  } catch (e) {
    flag(view, (e as Error).message);
  }
}

async function checkChain(view: CertView, cas: x509.X509Certificate[], now: Date): Promise<void> {
  for (const p of await verifyChain(view.cert, cas, [], now)) if (!/not valid at/.test(p)) flag(view, p);
  const wanted = view.def?.ca;
  if (wanted && cas.length && view.info.issuer.CN !== CA_DEFS.find((d) => d.name === wanted)?.cn({} as ClusterSpec))
    flag(view, `signed by "${view.info.issuer.CN}", not by ${wanted}`);
}

/** A serving certificate must cover every name and IP the plan dials it by; a client's identity must be the plan's. */
function checkPlan(view: CertView, spec: ClusterSpec): void {
  const def = view.def!;
  const have = new Set([...view.info.sans.dns, ...view.info.sans.ip]);
  const missing = (def.hosts?.(spec) ?? []).filter((h) => !have.has(h));
  if (missing.length) flag(view, `SANs lack ${missing.join(", ")} (the plan dials it by them)`);
  if (view.info.subject.CN !== def.cn(spec)) flag(view, `CN is "${view.info.subject.CN}", the plan's is "${def.cn(spec)}"`);
}

function flag(view: CertView, problem: string): void {
  view.problems.push(problem);
  if (view.standing !== "expired") view.standing = "problem";
}

async function kubeconfigViews(files: Map<string, Uint8Array>, cas: x509.X509Certificate[], now: Date, problems: string[]): Promise<KubeconfigView[]> {
  const out: KubeconfigView[] = [];
  const known = new Set(COMPONENT_KUBECONFIGS.map((k) => k.file));
  for (const [path, data] of files) {
    const text = dec.decode(data);
    if (!known.has(path) && !(/\.(conf|ya?ml|kubeconfig)$|^config$/.test(path) && /^kind:\s*Config\b/m.test(text))) continue;
    try {
      out.push(await kubeconfigView(path, text, cas, now));
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message}`);
    }
  }
  return out;
}

async function kubeconfigView(file: string, text: string, cas: x509.X509Certificate[], now: Date): Promise<KubeconfigView> {
  const cfg = parseKubeconfig(text, file);
  const ctx = cfg.contexts?.find((c) => c.name === cfg["current-context"])?.context;
  const user = cfg.users?.find((u) => u.name === ctx?.user) ?? cfg.users?.[0];
  const cluster = cfg.clusters?.find((c) => c.name === ctx?.cluster) ?? cfg.clusters?.[0];
  const view: KubeconfigView = { file, server: cluster?.cluster.server ?? "", user: user?.name ?? "", problems: [] };
  const caData = cluster?.cluster["certificate-authority-data"];
  const ownCas = caData ? [new x509.X509Certificate(fromBase64(caData))] : cas;
  const certData = user?.user["client-certificate-data"];
  if (!certData) {
    view.problems.push("no embedded client certificate");
    return view;
  }
  const entry = COMPONENT_KUBECONFIGS.find((k) => k.file === file);
  const def = CERT_DEFS.find((d) => d.name === entry?.cert);
  view.cert = await certView(def?.name ?? file, def, file, fromBase64(certData), now);
  const keyData = user?.user["client-key-data"];
  await checkKey(view.cert, keyData ? new TextEncoder().encode(fromBase64(keyData)) : undefined);
  await checkChain(view.cert, ownCas, now);
  if (caData && cas.length && !cas.some((c) => c.equal(ownCas[0]!))) view.problems.push("its certificate-authority-data is not the folder's ca.crt");
  return view;
}

function fromBase64(b64: string): string {
  return dec.decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}
