import { compareBytes, concatBytes, decodeText, equalBytes } from "./bytes.js";
import { x509 } from "./x509.js";
import { isPrintable } from "./der.js";

/**
 * A certificate subject as cfssl's CSR JSON describes it: each attribute may hold several values
 * (several `names[]` entries, or several `O` groups for Kubernetes).
 */
export interface SubjectName {
  CN?: string;
  C?: string[];
  ST?: string[];
  L?: string[];
  O?: string[];
  OU?: string[];
}

/** Go's `pkix.Name` order, which cfssl and kubeadm both produce: C, ST, L, O, OU, then CN. */
const ORDER = ["C", "ST", "L", "O", "OU"] as const;

/**
 * Encodes a subject the way Go does: one RDN per attribute type, several values of one type in one
 * multi-valued RDN (`O=a + O=b`), PrintableString when the text allows it, else UTF8String.
 */
export function toX509Name(subject: SubjectName): x509.Name {
  const rdns: x509.JsonName = [];
  for (const type of ORDER) {
    const values = subject[type]?.filter((v) => v !== "");
    if (values && values.length > 0) rdns.push({ [type]: values });
  }
  if (subject.CN) rdns.push({ CN: [subject.CN] });
  return derSorted(new x509.Name(rdns));
}

/**
 * The name with each multi-valued RDN's values in DER order (a SET OF is sorted by its encodings, X.690 11.6), as
 * Go's encoding/asn1 writes it: `O=Two + O=Over`, not the order they were given in.
 */
function derSorted(name: x509.Name): x509.Name {
  const der = new Uint8Array(name.toArrayBuffer());
  const seq = tlv(der, 0);
  let sorted = false;
  for (let at = seq.start; at < seq.end;) {
    const set = tlv(der, at);
    const parts: Uint8Array[] = [];
    for (let a = set.start; a < set.end; a = tlv(der, a).end) parts.push(der.slice(a, tlv(der, a).end));
    if (parts.length > 1) {
      parts.sort(compareBytes);
      der.set(concatBytes(...parts), set.start);
      sorted = true;
    }
    at = set.end;
  }
  return sorted ? new x509.Name(der) : name;
}

/** True when two names are the same bytes: how Go (and so Kubernetes) matches a certificate to its issuer. */
export function sameName(a: x509.Name, b: x509.Name): boolean {
  return equalBytes(new Uint8Array(a.toArrayBuffer()), new Uint8Array(b.toArrayBuffer()));
}

/** Reads a parsed name back into the cfssl shape (unknown attribute types are left out). */
export function fromX509Name(name: x509.Name): SubjectName {
  const out: SubjectName = {};
  const cn = name.getField("CN");
  if (cn.length > 0) out.CN = cn[0]!;
  for (const type of ORDER) {
    const values = name.getField(type);
    if (values.length > 0) out[type] = values;
  }
  return out;
}

/** One attribute of a DER Name: its OID, its ASN.1 string tag (0x13 PrintableString, 0x0c UTF8String ...) and its text. */
export interface NameAttribute {
  oid: string;
  tag: number;
  value: string;
}

/** A DER TLV at `at`: its tag, where its content starts and ends. */
export function tlv(der: Uint8Array, at: number): { tag: number; start: number; end: number } {
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > der.length) throw new Error("truncated DER");
  return { tag, start, end: start + len };
}

/** The dotted text of a DER OBJECT IDENTIFIER's content bytes. */
export function oidText(bytes: Uint8Array): string {
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let v = 0;
  for (const b of bytes.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

function stringText(tag: number, bytes: Uint8Array): string {
  if (tag === 0x1e) return decodeText(bytes, "utf16be"); // BMPString
  if (tag === 0x1c) return decodeText(bytes, "utf32be"); // UniversalString
  return decodeText(bytes, tag === 0x14 ? "latin1" : "utf8");
}

/** The RDNs of a DER Name, in order, each a list of attributes (several for a multi-valued RDN). */
export function nameAttributes(name: x509.Name | Uint8Array): NameAttribute[][] {
  const der = name instanceof Uint8Array ? name : new Uint8Array(name.toArrayBuffer());
  const seq = tlv(der, 0);
  const rdns: NameAttribute[][] = [];
  for (let at = seq.start; at < seq.end;) {
    const set = tlv(der, at);
    const rdn: NameAttribute[] = [];
    for (let a = set.start; a < set.end;) {
      const atv = tlv(der, a);
      const oid = tlv(der, atv.start);
      const value = tlv(der, oid.end);
      rdn.push({ oid: oidText(der.subarray(oid.start, oid.end)), tag: value.tag, value: stringText(value.tag, der.subarray(value.start, value.end)) });
      a = atv.end;
    }
    rdns.push(rdn);
    at = set.end;
  }
  return rdns;
}

/** The attributes Go's pkix.Name keeps, in the order its ToRDNSequence writes them. */
const GO_ORDER = [
  ["2.5.4.6", "C"],
  ["2.5.4.8", "ST"],
  ["2.5.4.7", "L"],
  ["2.5.4.9", "2.5.4.9"], // street address
  ["2.5.4.17", "2.5.4.17"], // postal code
  ["2.5.4.10", "O"],
  ["2.5.4.11", "OU"],
  ["2.5.4.3", "CN"],
  ["2.5.4.5", "2.5.4.5"], // serial number
] as const;

/**
 * A name as cfssl's `sign` writes a CSR's subject into the certificate: Go reads it into a pkix.Name (C, ST, L,
 * street, postal code, O, OU keep every value in order; CN and serialNumber keep the last) and writes that back in
 * Go's order, each type one RDN (multi-valued when it has several values), PrintableString when the text allows it,
 * else UTF8String; every other attribute (an emailAddress say) follows, one RDN each, in the CSR's order, as current
 * cfssl keeps them (signer.go ParseCertificateRequest: ExtraNames; 1.2 dropped them). With `subject` (values by OID,
 * cfssl sign's SUBJECT file), the name is that one, taking from the CSR only the CN, C, ST, L, O, OU and serial number
 * it leaves empty, as cfssl's PopulateSubjectFromCSR does (so the CSR's street, postal code and other attributes are
 * dropped).
 */
export function goCanonicalName(name: x509.Name, subject?: ReadonlyMap<string, readonly string[]>): x509.Name {
  const values = new Map<string, string[]>();
  const extra: x509.JsonAttributeAndObjectValue[] = [];
  for (const attr of nameAttributes(name).flat()) {
    if (!GO_ORDER.some(([oid]) => oid === attr.oid)) {
      // Go re-encodes the string it read: PrintableString when the text allows it, else UTF8String.
      extra.push({ [attr.oid]: [isPrintable(attr.value) ? { printableString: attr.value } : { utf8String: attr.value }] });
      continue;
    }
    const single = attr.oid === "2.5.4.3" || attr.oid === "2.5.4.5";
    if (single) values.set(attr.oid, [attr.value]);
    else values.set(attr.oid, [...(values.get(attr.oid) ?? []), attr.value]);
  }
  if (subject) {
    for (const [oid] of GO_ORDER) {
      const own = subject.get(oid) ?? [];
      values.set(oid, own.length > 0 ? [...own] : oid === "2.5.4.9" || oid === "2.5.4.17" ? [] : (values.get(oid) ?? []));
    }
  }
  const rdns: x509.JsonAttributeAndValue[] = [];
  for (const [oid, key] of GO_ORDER) {
    const v = values.get(oid)?.filter((s) => s !== "");
    if (v && v.length > 0) rdns.push({ [key]: v });
  }
  if (!subject) rdns.push(...extra);
  // Typed values ({ utf8String }) as @peculiar/x509 reads them; its JsonName type names only plain strings.
  return derSorted(new x509.Name(rdns as x509.JsonName));
}
