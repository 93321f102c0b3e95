/**
 * The component kubeconfigs' rows of `certs check-expiration`, as kubeadm's table has them (`admin.conf`, ...): the
 * client certificate each one embeds, which is what a client presents, whatever the file beside it in pki/ says.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExpirationRow } from "@dk-bootstrap/pki";
import { COMPONENT_KUBECONFIGS, parseKubeconfig } from "@dk-bootstrap/kubeconfig";

/** One row per component kubeconfig of `dir` that embeds a client certificate; files that are not there are left out. */
export async function kubeconfigExpiryRows(dir: string, externallyManaged: boolean, now: Date = new Date()): Promise<ExpirationRow[]> {
  const rows: ExpirationRow[] = [];
  for (const k of COMPONENT_KUBECONFIGS) {
    const path = join(dir, k.file);
    const text = await readFile(path, "utf8").catch(() => undefined);
    if (text === undefined) continue;
    const data = parseKubeconfig(text, path).users?.[0]?.user["client-certificate-data"];
    if (!data) continue;
    const expires = new Date(new X509Certificate(Buffer.from(data, "base64")).validTo);
    rows.push({ name: k.file, expires, residualMs: expires.getTime() - now.getTime(), ca: "ca", externallyManaged, missing: false });
  }
  return rows;
}
