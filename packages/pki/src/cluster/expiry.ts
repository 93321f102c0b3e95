import { parseCertificate } from "../certificate.js";
import { formatResidual } from "../duration.js";
import { readIfExists } from "../store.js";
import { CA_DEFS, LEAF_DEFS } from "./certlist.js";
import { certPaths } from "./layout.js";

/** One row of `check-expiration`. */
export interface ExpirationRow {
  name: string;
  /** Absent when the file is missing. */
  expires?: Date;
  residualMs?: number;
  /** The signing CA's name (leaves only). */
  ca?: string;
  /** A CA whose key is not here: its leaves must be renewed elsewhere. */
  externallyManaged: boolean;
  missing: boolean;
}

/** kubeadm's `certs check-expiration`, for the files of a cluster folder: leaves, then CAs. */
export async function checkExpiration(dir: string, now: Date = new Date()): Promise<{ certificates: ExpirationRow[]; authorities: ExpirationRow[] }> {
  const row = async (name: string, ca?: string): Promise<ExpirationRow> => {
    const p = certPaths(dir, name);
    const pem = await readIfExists(p.crt);
    const external = ca === undefined ? (await readIfExists(p.key)) === undefined && pem !== undefined : (await readIfExists(certPaths(dir, ca).key)) === undefined;
    if (pem === undefined) return { name, ...(ca ? { ca } : {}), externallyManaged: false, missing: true };
    const cert = parseCertificate(pem);
    return { name, expires: cert.notAfter, residualMs: cert.notAfter.getTime() - now.getTime(), ...(ca ? { ca } : {}), externallyManaged: external, missing: false };
  };
  return {
    certificates: await Promise.all(LEAF_DEFS.map((d) => row(d.name, d.ca))),
    authorities: await Promise.all(CA_DEFS.map((d) => row(d.name))),
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** kubeadm's date style: `Nov 26, 2027 04:31 UTC`. */
function kubeadmDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/** The two tables kubeadm prints, as text. */
export function formatExpirationTables(report: { certificates: ExpirationRow[]; authorities: ExpirationRow[] }): string {
  const yesNo = (b: boolean) => (b ? "yes" : "no");
  const leaves = report.certificates.map((r) => [r.name, r.missing ? "<missing>" : kubeadmDate(r.expires!), r.missing ? "" : formatResidual(r.residualMs!), r.ca ?? "", yesNo(r.externallyManaged)]);
  const cas = report.authorities.map((r) => [r.name, r.missing ? "<missing>" : kubeadmDate(r.expires!), r.missing ? "" : formatResidual(r.residualMs!), yesNo(r.externallyManaged)]);
  return `${table(["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"], leaves)}\n${table(["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"], cas)}`;
}

/** Left-aligned columns separated by three spaces, as kubectl's and kubeadm's tabwriter prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
