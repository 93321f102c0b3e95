import { InputError, type InputLocation } from "./errors.js";
import { x509 } from "./x509.js";

const F = x509.KeyUsageFlags;

/** cfssl's key usage names and the bits they set. */
export const KEY_USAGES: Readonly<Record<string, number>> = {
  signing: F.digitalSignature,
  "digital signature": F.digitalSignature,
  "content commitment": F.nonRepudiation,
  "key encipherment": F.keyEncipherment,
  "key agreement": F.keyAgreement,
  "data encipherment": F.dataEncipherment,
  "cert sign": F.keyCertSign,
  "crl sign": F.cRLSign,
  "encipher only": F.encipherOnly,
  "decipher only": F.decipherOnly,
};

/** cfssl's extended key usage names and their OIDs. */
export const EXT_KEY_USAGES: Readonly<Record<string, string>> = {
  any: "2.5.29.37.0",
  "server auth": "1.3.6.1.5.5.7.3.1",
  "client auth": "1.3.6.1.5.5.7.3.2",
  "code signing": "1.3.6.1.5.5.7.3.3",
  "email protection": "1.3.6.1.5.5.7.3.4",
  "s/mime": "1.3.6.1.5.5.7.3.4",
  "ipsec end system": "1.3.6.1.5.5.7.3.5",
  "ipsec tunnel": "1.3.6.1.5.5.7.3.6",
  "ipsec user": "1.3.6.1.5.5.7.3.7",
  timestamping: "1.3.6.1.5.5.7.3.8",
  "ocsp signing": "1.3.6.1.5.5.7.3.9",
  "microsoft sgc": "1.3.6.1.4.1.311.10.3.3",
  "netscape sgc": "2.16.840.1.113730.4.1",
};

/** Key usage bits plus extended key usage OIDs, resolved from cfssl names. */
export interface Usages {
  keyUsage: number;
  extKeyUsage: string[];
}

/**
 * Resolves cfssl usage names. An unknown name is an error (cfssl drops it silently, which turns a
 * typo such as `server-auth` into a certificate no server accepts).
 */
export function parseUsages(names: readonly string[], where: InputLocation = {}): Usages {
  const out: Usages = { keyUsage: 0, extKeyUsage: [] };
  names.forEach((name, i) => {
    const key = name.trim().toLowerCase();
    const bit = KEY_USAGES[key];
    const oid = EXT_KEY_USAGES[key];
    if (bit !== undefined) out.keyUsage |= bit;
    else if (oid !== undefined) {
      if (!out.extKeyUsage.includes(oid)) out.extKeyUsage.push(oid);
    } else {
      const field = where.field === undefined ? undefined : `${where.field}[${i}]`;
      throw new InputError(`unknown usage; known: ${[...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].join(", ")}`, {
        ...where,
        field,
        value: name,
      });
    }
  });
  return out;
}

const KU_NAMES: [number, string][] = [
  [F.digitalSignature, "digital signature"],
  [F.nonRepudiation, "content commitment"],
  [F.keyEncipherment, "key encipherment"],
  [F.dataEncipherment, "data encipherment"],
  [F.keyAgreement, "key agreement"],
  [F.keyCertSign, "cert sign"],
  [F.cRLSign, "crl sign"],
  [F.encipherOnly, "encipher only"],
  [F.decipherOnly, "decipher only"],
];

/** Names of the bits set in a key usage value, in cfssl's vocabulary. */
export function keyUsageNames(bits: number): string[] {
  return KU_NAMES.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);
}

/** The cfssl name of an extended key usage OID, or the OID itself. */
export function extKeyUsageName(oid: string): string {
  if (oid === EXT_KEY_USAGES["email protection"]) return "email protection";
  return Object.entries(EXT_KEY_USAGES).find(([, o]) => o === oid)?.[0] ?? oid;
}
