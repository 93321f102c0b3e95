import { x509 } from "./x509.js";

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
  return new x509.Name(rdns);
}

/** True when two names are the same bytes: how Go (and so Kubernetes) matches a certificate to its issuer. */
export function sameName(a: x509.Name, b: x509.Name): boolean {
  return Buffer.from(a.toArrayBuffer()).equals(Buffer.from(b.toArrayBuffer()));
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
