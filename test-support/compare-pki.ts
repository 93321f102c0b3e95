// Comparing two makes of one cluster PKI (in a page and on Node, in memory and by `dk-bootstrap certs`): what may
// differ is keys, serials and times, and what follows from them (key ids, fingerprints, embedded data).
import { describeCertificate, parseCertificate } from "@dk-bootstrap/pki";

/** A certificate's decoded fields, less those that follow from its key, serial and times (its validity's length stays). */
export async function comparableCertificate(pem: string, where: string) {
  const info = await describeCertificate(parseCertificate(pem, { file: where }));
  const { serialHex, serialDecimal, notBefore, notAfter, subjectKeyId, authorityKeyId, sha256, ...rest } = info;
  return { ...rest, validityMs: notAfter.getTime() - notBefore.getTime(), keyIds: [subjectKeyId !== undefined, authorityKeyId !== undefined] };
}

/** A kubeconfig with its embedded certificates and key replaced by a placeholder. */
export const withoutEmbeddedData = (yaml: string): string => yaml.replace(/(-data: )\S+/g, "$1DATA");
