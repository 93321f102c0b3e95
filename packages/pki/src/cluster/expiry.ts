import { parseCertificate } from "../certificate.js";
import { formatResidual } from "../duration.js";
import { timeLeft } from "../inspect.js";
import { exists, readIfExists } from "../store.js";
import { table } from "../table.js";
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
  // Whether each CA's key is here decides "externally managed" for the CA and for all its leaves: read it once.
  const caKeyHere = new Map(await Promise.all(CA_DEFS.map(async (d) => [d.name, await exists(certPaths(dir, d.name).key)] as const)));
  const row = async (name: string, ca: string | undefined, external: boolean): Promise<ExpirationRow> => {
    const crt = certPaths(dir, name).crt;
    const pem = await readIfExists(crt);
    if (pem === undefined) return { name, ...(ca ? { ca } : {}), externallyManaged: false, missing: true };
    const cert = parseCertificate(pem, { file: crt });
    return { name, expires: cert.notAfter, residualMs: timeLeft(cert, now), ...(ca ? { ca } : {}), externallyManaged: external, missing: false };
  };
  return {
    certificates: await Promise.all(LEAF_DEFS.map((d) => row(d.name, d.ca, !caKeyHere.get(d.ca!)))),
    authorities: await Promise.all(CA_DEFS.map((d) => row(d.name, undefined, !caKeyHere.get(d.name)))),
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
  const leaves = report.certificates.map((r) => [
    r.name,
    r.missing ? "<missing>" : kubeadmDate(r.expires!),
    r.missing ? "" : formatResidual(r.residualMs!),
    r.ca ?? "",
    yesNo(r.externallyManaged),
  ]);
  const cas = report.authorities.map((r) => [
    r.name,
    r.missing ? "<missing>" : kubeadmDate(r.expires!),
    r.missing ? "" : formatResidual(r.residualMs!),
    yesNo(r.externallyManaged),
  ]);
  return `${table(["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"], leaves)}\n${table(["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"], cas)}`;
}
