/**
 * `certs check-expiration` of a workshop-layout folder (`certs --workshop`: `certs/ca.pem` and `certs/admin.pem`, as
 * the workshop's two cfssl commands make them): the same two tables, with the workshop's two certificates.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExpirationRow } from "@dk-bootstrap/pki";

/** The workshop folder's report, or undefined when `dir` has no `certs/ca.pem`. */
export async function workshopExpiry(
  dir: string,
  now: Date = new Date(),
): Promise<{ certificates: ExpirationRow[]; authorities: ExpirationRow[] } | undefined> {
  const row = async (file: string, name: string, ca?: string): Promise<ExpirationRow | undefined> => {
    const pem = await readFile(join(dir, "certs", file)).catch(() => undefined);
    if (pem === undefined) return ca ? { name, ca, externallyManaged: false, missing: true } : undefined;
    const expires = new Date(new X509Certificate(pem).validTo);
    // The CA key beside it decides "externally managed", as for the cluster PKI.
    const keyHere = (await readFile(join(dir, "certs", "ca-key.pem")).catch(() => undefined)) !== undefined;
    return { name, expires, residualMs: expires.getTime() - now.getTime(), ...(ca ? { ca } : {}), externallyManaged: !keyHere, missing: false };
  };
  const ca = await row("ca.pem", "ca");
  if (!ca) return undefined;
  return { certificates: [(await row("admin.pem", "admin", "ca"))!], authorities: [ca] };
}
