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
  type CheckedCertificate,
  type ClusterSpec,
  checkClusterFiles,
  describeCertificate,
  fromBase64,
  parseCertificate,
  SOON_MS,
  WORKSHOP_FILES,
  x509,
} from "@dk-bootstrap/pki";
import { COMPONENT_KUBECONFIGS, checkKubeconfig, parseKubeconfig } from "@dk-bootstrap/kubeconfig";

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

/**
 * A workshop-layout folder (`certs --workshop`: cfssl's `certs/NAME.pem`, `certs/NAME-key.pem`, as check-expiration
 * reads it too) under the names the checks read (`pki/NAME.crt`, `pki/NAME.key`): its one CA in the cluster CA's place,
 * its admin certificate another certificate of that CA. `names` gives each file's own path back for what is shown.
 * Undefined for any other folder: a cluster folder with its `pki/` is never read this way.
 */
export function workshopFiles(files: Map<string, Uint8Array>): { files: Map<string, Uint8Array>; names: Map<string, string> } | undefined {
  const ca = WORKSHOP_FILES[0]!.cert;
  const at = [...files.keys()].find((p) => p === ca || p.endsWith(`/${ca}`));
  if (at === undefined || [...files.keys()].some((p) => /(^|\/)pki\//.test(p))) return undefined;
  // The part before certs/ (a dropped folder's name) is the folder itself.
  const prefix = at.slice(0, at.length - ca.length);
  const out = new Map<string, Uint8Array>();
  const names = new Map<string, string>();
  for (const f of WORKSHOP_FILES) {
    const [cert, key] = [files.get(prefix + f.cert), files.get(prefix + f.key)];
    if (cert) out.set(`pki/${f.name}.crt`, cert);
    if (key) out.set(`pki/${f.name}.key`, key);
    names.set(`pki/${f.name}.crt`, f.cert);
    names.set(`pki/${f.name}.key`, f.key);
  }
  return { files: out, names };
}

/**
 * Surveys a cluster folder's files against the plan `spec` at `now`: the certificates and keys as pki's
 * checkClusterFiles checks them, the kubeconfigs as kubeconfig's checkKubeconfig does.
 */
export async function survey(rawFiles: Map<string, Uint8Array>, spec: ClusterSpec, now: Date = new Date()): Promise<Survey> {
  const workshop = workshopFiles(rawFiles);
  const files = workshop?.files ?? clusterPaths(rawFiles);
  const texts = [...files].map(([path, data]) => ({ path, content: dec.decode(data) }));
  const checked = await checkClusterFiles(
    texts.filter((f) => f.path.startsWith("pki/") || !f.path.includes("/")),
    // The workshop's two certificates follow its cfssl CSRs (CN "Kubernetes", O "system:masters"), not the cluster plan.
    workshop ? { now } : { spec, now },
  );
  const problems: string[] = [];
  const views = new Map<string, CertView>();
  const others: CertView[] = [];
  for (const c of checked) {
    if (!c.info) {
      problems.push(`${c.path}: ${c.problems.join("; ")}`);
      continue;
    }
    const view = certView(c, parseCertificate(texts.find((t) => t.path === c.path)!.content));
    if (workshop) {
      // Shown under the workshop's own file names: `certs/admin-key.pem does not match`, never a pki/ path it lacks.
      view.file = workshop.names.get(view.file) ?? view.file;
      view.problems = view.problems.map((p) => [...workshop.names].reduce((text, [from, to]) => text.replaceAll(from, to), p));
    }
    if (c.def) views.set(c.name, view);
    else others.push(view);
  }
  const kubeconfigs = await kubeconfigViews(texts, now, problems);
  // The workshop's PKI is its two certificates: the cluster PKI's others are no part of it, not missing from it.
  if (views.size > 0 && !workshop) for (const d of CERT_DEFS) if (!views.has(d.name)) problems.push(`pki/${d.name}.crt: missing (the plan has it)`);
  const authorities = CA_DEFS.map((def) => ({
    ca: def.name as CaName,
    def,
    cert: views.get(def.name),
    // The workshop's admin is its CA's one leaf, drawn under it as check-expiration lists it (CERTIFICATE AUTHORITY: ca).
    leaves: [...[...views.values()].filter((v) => v.def?.ca === def.name), ...(workshop && def.name === "ca" ? others : [])],
  }));
  return { authorities, others: workshop ? [] : others, kubeconfigs, problems, files };
}

/** How a checked certificate is drawn: expired above all, then any problem, then soon to expire. */
function certView(c: CheckedCertificate, cert: x509.X509Certificate): CertView {
  // An expired certificate's chain is "not valid" too: its expiry says it.
  const problems = c.expiry === "expired" ? [`expired on ${cert.notAfter.toISOString()}`, ...c.problems.filter((p) => !/not valid at/.test(p))] : c.problems;
  const standing: Standing = c.expiry === "expired" ? "expired" : problems.length > 0 ? "problem" : c.expiry;
  return {
    name: c.name,
    file: c.path,
    cert,
    info: c.info!,
    standing,
    problems,
    hasKey: c.key === "matches" || c.key === "mismatch",
    ...(c.def ? { def: c.def } : {}),
  };
}

async function kubeconfigViews(texts: { path: string; content: string }[], now: Date, problems: string[]): Promise<KubeconfigView[]> {
  const out: KubeconfigView[] = [];
  const known = new Set(COMPONENT_KUBECONFIGS.map((k) => k.file));
  for (const { path, content } of texts) {
    if (!known.has(path) && !(/\.(conf|ya?ml|kubeconfig)$|^config$/.test(path) && /^kind:\s*Config\b/m.test(content))) continue;
    try {
      out.push(await kubeconfigView(path, content, now));
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message}`);
    }
  }
  return out;
}

async function kubeconfigView(file: string, text: string, now: Date): Promise<KubeconfigView> {
  const cfg = parseKubeconfig(text, file);
  const ctx = cfg.contexts?.find((c) => c.name === cfg["current-context"])?.context;
  const user = cfg.users?.find((u) => u.name === ctx?.user) ?? cfg.users?.[0];
  const cluster = cfg.clusters?.find((c) => c.name === ctx?.cluster) ?? cfg.clusters?.[0];
  const problems = (await checkKubeconfig(cfg, now)).map((p) => `${p.where} ${p.problem}`);
  const view: KubeconfigView = { file, server: cluster?.cluster.server ?? "", user: user?.name ?? "", problems };
  const certData = user?.user["client-certificate-data"];
  if (!certData) return view;
  const cert = parseCertificate(dec.decode(fromBase64(certData)));
  const left = cert.notAfter.getTime() - now.getTime();
  const def = COMPONENT_KUBECONFIGS.find((k) => k.file === file);
  const info: CertificateInfo = await describeCertificate(cert);
  const expired = left <= 0;
  // Drawn on the certificate's card, once: an expired one says so rather than "not valid at".
  const certProblems = expired ? [`expired on ${cert.notAfter.toISOString()}`, ...problems.filter((p) => !/not valid|expired/.test(p))] : problems;
  const standing: Standing = expired ? "expired" : problems.length > 0 ? "problem" : left < SOON_MS ? "soon" : "ok";
  view.cert = { name: def?.cert ?? file, file, cert, info, standing, problems: certProblems, hasKey: user?.user["client-key-data"] !== undefined };
  view.problems = [];
  return view;
}
