import { InputError, type InputLocation } from "./errors.js";

/**
 * RFC 5280's key usage bits, numbered as @peculiar/x509's KeyUsageFlags numbers them (a test compares the two): spelled
 * out so that loading this module does not load the library, which the CLI's bundle loads only when first used.
 */
const F = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

/** cfssl's key usage names and the bits they set. */
export const KEY_USAGES = {
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
} as const satisfies Record<string, number>;

/** cfssl's extended key usage names and their OIDs. */
export const EXT_KEY_USAGES = {
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
} as const satisfies Record<string, string>;

/** A key usage, by cfssl's name: `"digital signature"`, `"key encipherment"`, `"cert sign"`... */
export type KeyUsageName = keyof typeof KEY_USAGES;
/** An extended key usage, by cfssl's name: `"server auth"`, `"client auth"`... */
export type ExtKeyUsageName = keyof typeof EXT_KEY_USAGES;
/** A usage name as cfssl's config JSON writes it: a key usage or an extended key usage. */
export type UsageName = KeyUsageName | ExtKeyUsageName;

/** Key usage bits plus extended key usage OIDs, resolved from cfssl names. */
export interface Usages {
  keyUsage: number;
  extKeyUsage: string[];
}

/**
 * Resolves cfssl usage names, typed: `parseUsages(["server-auth"])` does not compile. For names from
 * untrusted text (a JSON file, a command line), {@link checkUsages} says which one is wrong and where.
 */
export function parseUsages(names: readonly UsageName[]): Usages {
  return checkUsages(names);
}

/** True when `name` is one of cfssl's usage names, as written (lower case, spaces). */
export function isUsageName(name: string): name is UsageName {
  return Object.hasOwn(KEY_USAGES, name) || Object.hasOwn(EXT_KEY_USAGES, name);
}

/**
 * Resolves usage names read from untrusted text, case and surrounding spaces ignored as cfssl does. An
 * unknown name is an error naming it and its place (cfssl drops it silently, which turns a typo such as
 * `server-auth` into a certificate no server accepts).
 */
export function checkUsages(names: readonly string[], where: InputLocation = {}): Usages {
  const out: Usages = { keyUsage: 0, extKeyUsage: [] };
  names.forEach((name, i) => {
    const key = String(name).trim().toLowerCase();
    if (Object.hasOwn(KEY_USAGES, key)) out.keyUsage |= KEY_USAGES[key as KeyUsageName];
    else if (Object.hasOwn(EXT_KEY_USAGES, key)) {
      const oid = EXT_KEY_USAGES[key as ExtKeyUsageName];
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

const KU_NAMES: [number, KeyUsageName][] = [
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
export function keyUsageNames(bits: number): KeyUsageName[] {
  return KU_NAMES.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);
}

/** The cfssl name of an extended key usage OID, or the OID itself when cfssl has no name for it. */
export function extKeyUsageName(oid: string): string {
  if (oid === EXT_KEY_USAGES["email protection"]) return "email protection";
  return Object.entries(EXT_KEY_USAGES).find(([, o]) => o === oid)?.[0] ?? oid;
}
