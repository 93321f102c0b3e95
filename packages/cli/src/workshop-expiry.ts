/**
 * `certs check-expiration` of a workshop-layout folder (`certs --workshop`: `certs/ca.pem` and `certs/admin.pem`, as
 * the workshop's two cfssl commands make them): the same two tables, with the workshop's two certificates.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ExpirationRow, WORKSHOP_FILES } from "@dk-bootstrap/pki";

/** The workshop folder's report, or undefined when `dir` has no `certs/ca.pem`. */
export async function workshopExpiry(
  dir: string,
  now: Date = new Date(),
): Promise<{ certificates: ExpirationRow[]; authorities: ExpirationRow[] } | undefined> {
  const [caFiles, adminFiles] = WORKSHOP_FILES;
  const row = async (file: string, name: string, ca?: string): Promise<ExpirationRow | undefined> => {
    const pem = await readFile(join(dir, file)).catch(() => undefined);
    if (pem === undefined) return ca ? { name, ca, externallyManaged: false, missing: true } : undefined;
    const expires = new Date(new X509Certificate(pem).validTo);
    // The CA key beside it decides "externally managed", as for the cluster PKI.
    const keyHere = (await readFile(join(dir, caFiles!.key)).catch(() => undefined)) !== undefined;
    return { name, expires, residualMs: expires.getTime() - now.getTime(), ...(ca ? { ca } : {}), externallyManaged: !keyHere, missing: false };
  };
  const ca = await row(caFiles!.cert, "ca");
  if (!ca) return undefined;
  return { certificates: [(await row(adminFiles!.cert, "admin", "ca"))!], authorities: [ca] };
}
