import { parseCertificate } from "../certificate.js";
import { type CertificateInfo, describeCertificate, keyMatchesCertificate, timeLeft, verifyChain } from "../inspect.js";
import { KeyPair } from "../keys.js";
import { classifyHosts, sanList } from "../san.js";
import type { x509 } from "../x509.js";
import { CERT_DEFS, type CertDef } from "./certlist.js";
import type { ClusterSpec } from "./spec.js";

// A cluster PKI read back from its files, wherever they come from (a folder dropped on a page, a .tar.gz, the disk),
// and checked as a whole: each key against its certificate, each certificate against its CA, its names against the
// spec, its dates against the clock. Nothing here reads a file: the caller hands the texts in.

/** How soon an expiry is worth pointing at (kubeadm's `certs check-expiration` warns within 30 days, too). */
export const SOON_MS = 30 * 24 * 3_600_000;

/** One certificate of the folder, checked. */
export interface CheckedCertificate {
  /** The file stem under `pki/` (`apiserver`, `etcd/ca`, `clients/admin`): the name `renew` takes. */
  name: string;
  /** Its row of the cluster list, when the name is one. */
  def?: CertDef;
  /** The certificate's path as given. */
  path: string;
  /** Its decoded fields (certinfo's), unless it could not be read. */
  info?: CertificateInfo;
  /** Its key: beside it and matching, beside it and not matching, not there, or not readable. */
  key: "matches" | "mismatch" | "missing" | "unreadable";
  /** Expired, expiring within {@link SOON_MS} (or `soonMs`), or neither. */
  expiry: "expired" | "soon" | "ok";
  /** Milliseconds until it expires (negative once it has). */
  timeLeftMs: number;
  /** Everything wrong with it, one sentence each: none for a good certificate. */
  problems: string[];
}

/** Options of {@link checkClusterFiles}. */
export interface CheckOptions {
  /** The plan: with it, each certificate's identity and names are checked against what the spec asks for. */
  spec?: ClusterSpec;
  now?: Date;
  soonMs?: number;
}

/**
 * Checks the certificates and keys of a cluster folder given as texts by path (`pki/apiserver.crt`, or with any
 * prefix before `pki/`: `cluster/pki/etcd/ca.key`; a path without `pki/` is taken as relative to it). CAs first, then
 * the leaves in the cluster list's order, then any other certificate found.
 */
export async function checkClusterFiles(files: Iterable<{ path: string; content: string }>, options: CheckOptions = {}): Promise<CheckedCertificate[]> {
  const now = options.now ?? new Date();
  const byName = new Map<string, { crt?: { path: string; content: string }; key?: string }>();
  for (const f of files) {
    const m = /^(?:.*?\/)?pki\/(.+)\.(crt|key)$/.exec(f.path) ?? /^(?:\.\/)?(.+)\.(crt|key)$/.exec(f.path);
    if (!m) continue;
    const slot = byName.get(m[1]!) ?? {};
    if (m[2] === "crt") slot.crt = f;
    else slot.key = f.content;
    byName.set(m[1]!, slot);
  }
  const known = CERT_DEFS.map((d) => d.name).filter((n) => byName.get(n)?.crt);
  const others = [...byName.keys()].filter((n) => byName.get(n)?.crt && !CERT_DEFS.some((d) => d.name === n)).sort();
  const parsed = new Map<string, x509.X509Certificate>();
  const results: CheckedCertificate[] = [];
  for (const name of [...known, ...others]) {
    const { crt, key } = byName.get(name)!;
    const def = CERT_DEFS.find((d) => d.name === name);
    const out: CheckedCertificate = { name, ...(def ? { def } : {}), path: crt!.path, key: key === undefined ? "missing" : "unreadable", expiry: "ok", timeLeftMs: 0, problems: [] };
    results.push(out);
    try {
      parsed.set(name, parseCertificate(crt!.content, { file: crt!.path }));
    } catch (e) {
      out.problems.push((e as Error).message);
    }
  }
  const cas = [...parsed.values()].filter((c) => c.subjectName.toString() === c.issuerName.toString());
  for (const out of results) {
    const cert = parsed.get(out.name);
    if (!cert) continue;
    const info = await describeCertificate(cert);
    out.info = info;
    out.timeLeftMs = timeLeft(cert, now);
    out.expiry = out.timeLeftMs <= 0 ? "expired" : out.timeLeftMs < (options.soonMs ?? SOON_MS) ? "soon" : "ok";
    out.problems.push(...(await keyProblems(out, cert, byName.get(out.name)!.key)));
    const issuers = out.def?.ca && parsed.get(out.def.ca) ? [parsed.get(out.def.ca)!] : cas;
    out.problems.push(...(await verifyChain(cert, issuers, [], now)));
    if (options.spec && out.def) out.problems.push(...planProblems(out.def, info, options.spec));
  }
  return results;
}

async function keyProblems(out: CheckedCertificate, cert: x509.X509Certificate, pem: string | undefined): Promise<string[]> {
  // A CA without its key is an external CA; a leaf of the list without its key can't be used.
  if (pem === undefined) return out.def?.ca ? [`its key pki/${out.name}.key is missing`] : [];
  try {
    const key = await KeyPair.fromPem(pem, { file: `pki/${out.name}.key` });
    out.key = (await keyMatchesCertificate(key, cert)) ? "matches" : "mismatch";
    return out.key === "matches" ? [] : [`its key pki/${out.name}.key does not match it`];
  } catch (e) {
    return [(e as Error).message];
  }
}

/** The certificate's identity and names against what the spec asks of its row. */
function planProblems(def: CertDef, info: CertificateInfo, spec: ClusterSpec): string[] {
  const problems: string[] = [];
  if (info.subject.CN !== def.cn(spec)) problems.push(`its CN is "${info.subject.CN ?? ""}", the plan says "${def.cn(spec)}"`);
  const o = def.o?.(spec) ?? [];
  if ((info.subject.O ?? []).join(",") !== o.join(",")) problems.push(`its O is "${(info.subject.O ?? []).join(",")}", the plan says "${o.join(",")}"`);
  if (def.hosts) {
    const have = new Set(sanList(info.sans));
    const missing = sanList(classifyHosts(def.hosts(spec))).filter((n) => !have.has(n));
    if (missing.length > 0) problems.push(`its names lack ${missing.join(", ")}, which the plan serves`);
  }
  return problems;
}
