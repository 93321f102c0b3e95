import { type CertificateInfo, colonHex } from "../inspect.js";
import type { SubjectName } from "../name.js";

/** The subject/issuer object of cfssl certinfo's JSON. */
export interface CfsslCertinfoName {
  common_name?: string;
  country?: string;
  organization?: string;
  organizational_unit?: string;
  locality?: string;
  province?: string;
  names?: string[];
}

/** cfssl certinfo's JSON for a certificate. */
export interface CfsslCertinfo {
  subject: CfsslCertinfoName;
  issuer: CfsslCertinfoName;
  serial_number: string;
  sans?: string[];
  not_before: string;
  not_after: string;
  sigalg: string;
  authority_key_id: string;
  subject_key_id: string;
  pem: string;
}

/** The JSON `cfssl certinfo -cert` prints, with its key names and order, from a described certificate. */
export function certinfoJson(info: CertificateInfo, pem: string): CfsslCertinfo {
  const sans = [...info.sans.dns, ...info.sans.ip];
  return {
    subject: certinfoName(info.subject),
    issuer: certinfoName(info.issuer),
    serial_number: info.serialDecimal,
    ...(sans.length > 0 ? { sans } : {}),
    not_before: goTime(info.notBefore),
    not_after: goTime(info.notAfter),
    sigalg: info.signatureAlgorithm,
    authority_key_id: colonHex(info.authorityKeyId ?? ""),
    subject_key_id: colonHex(info.subjectKeyId ?? ""),
    pem,
  };
}

function certinfoName(n: SubjectName): CfsslCertinfoName {
  const out: CfsslCertinfoName = {};
  const set = (k: keyof CfsslCertinfoName, v: string[] | undefined) => {
    if (v && v.length > 0) (out as Record<string, unknown>)[k] = v.join(",");
  };
  if (n.CN) out.common_name = n.CN;
  set("country", n.C);
  set("organization", n.O);
  set("organizational_unit", n.OU);
  set("locality", n.L);
  set("province", n.ST);
  const names = [...(n.C ?? []), ...(n.ST ?? []), ...(n.L ?? []), ...(n.O ?? []), ...(n.OU ?? []), ...(n.CN ? [n.CN] : [])];
  if (names.length > 0) out.names = names;
  return out;
}

/** Go's RFC 3339 time as encoding/json writes it: no fractional seconds when there are none. */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, "Z");
}

/** The files `cfssljson -bare NAME` writes from gencert's or sign's JSON, with their modes. */
export function bareFiles(
  base: string,
  output: { cert?: string; csr?: string; key?: string },
): { path: string; content: string; mode: number; isKey: boolean }[] {
  const files: { path: string; content: string; mode: number; isKey: boolean }[] = [];
  if (output.cert) files.push({ path: `${base}.pem`, content: output.cert, mode: 0o644, isKey: false });
  if (output.key) files.push({ path: `${base}-key.pem`, content: output.key, mode: 0o600, isKey: true });
  if (output.csr) files.push({ path: `${base}.csr`, content: output.csr, mode: 0o644, isKey: false });
  return files;
}
