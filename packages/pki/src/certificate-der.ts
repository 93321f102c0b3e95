/**
 * The parts of an X.509 certificate we issue, as DER: names, extensions, SANs, the signature algorithm and value,
 * and the few fields read back from a CA certificate to sign under it. Written by hand (see der.ts for why); the
 * bytes are those @peculiar/x509's generator wrote before, extension by extension (test/certificate-der.test.ts
 * compares them). No `node:` module: the pki core also runs in browsers.
 */
import {
  type Bytes,
  TAG,
  bitString,
  boolean,
  children,
  context,
  ia5String,
  isPrintable,
  namedBits,
  nul,
  octetString,
  oid,
  printableString,
  readTlv,
  sequence,
  setOf,
  unsignedInteger,
  utf8String,
} from "./der.js";
import type { ResolvedKeySpec } from "./keys.js";
import type { SubjectName } from "./name.js";
import { type SubjectAltNames, completeSans } from "./san.js";

const NAME_OIDS = { C: "2.5.4.6", ST: "2.5.4.8", L: "2.5.4.7", O: "2.5.4.10", OU: "2.5.4.11", CN: "2.5.4.3" } as const;

/**
 * A subject as Go (and so cfssl and kubeadm) writes it: C, ST, L, O, OU, then CN, one RDN per attribute type,
 * several values of one type in one multi-valued RDN (its values in DER order), PrintableString when the text
 * allows it, else UTF8String. Empty values are left out.
 */
export function nameDer(subject: SubjectName): Bytes {
  const rdns: Uint8Array[] = [];
  const attribute = (type: keyof typeof NAME_OIDS, value: string) =>
    sequence(oid(NAME_OIDS[type]), isPrintable(value) ? printableString(value) : utf8String(value));
  for (const type of ["C", "ST", "L", "O", "OU"] as const) {
    const values = subject[type]?.filter((v) => v !== "") ?? [];
    if (values.length > 0) rdns.push(setOf(...values.map((v) => attribute(type, v))));
  }
  if (subject.CN) rdns.push(setOf(attribute("CN", subject.CN)));
  return sequence(...rdns);
}

/** One extension: its OID, critical only when it is (DER leaves out a FALSE default), and its value's DER. */
export function extension(id: string, critical: boolean, value: Uint8Array): Bytes {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** The extensions' OIDs (RFC 5280 4.2.1). */
export const EXT = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

/** BasicConstraints: cA only when TRUE (its default is FALSE), then the path length when there is one. */
export function basicConstraints(ca: boolean, pathLen?: number): Bytes {
  return sequence(...(ca ? [boolean(true)] : []), ...(pathLen === undefined ? [] : [unsignedInteger(pathLen)]));
}

/** KeyUsage from @peculiar/x509's KeyUsageFlags (digitalSignature = 1 is the first named bit). */
export const keyUsage = (flags: number): Bytes => namedBits(flags);

/** ExtendedKeyUsage: the purposes' OIDs, in the order given. */
export const extKeyUsage = (oids: readonly string[]): Bytes => sequence(...oids.map(oid));

/** AuthorityKeyIdentifier with the keyIdentifier only ([0] IMPLICIT OCTET STRING), as Go and OpenSSL's -x509_strict expect. */
export const authorityKeyIdentifier = (keyId: Uint8Array): Bytes => sequence(context(0, false, keyId));

/** SubjectAltName's GeneralNames in Go's order: dNSName [2], rfc822Name [1], iPAddress [7], uniformResourceIdentifier [6]. */
export function generalNames(partial: Partial<SubjectAltNames>): Uint8Array | undefined {
  const sans = completeSans(partial);
  const names = [
    ...sans.dns.map((n) => ia5Tagged(2, n)),
    ...sans.email.map((n) => ia5Tagged(1, n)),
    ...sans.ip.map((ip) => context(7, false, ipBytes(ip))),
    ...sans.uri.map((n) => ia5Tagged(6, n)),
  ];
  return names.length > 0 ? sequence(...names) : undefined;
}

/** An IA5String under an IMPLICIT context tag: the string's content with the tag replaced. */
function ia5Tagged(n: number, value: string): Bytes {
  const der = ia5String(value);
  der[0] = 0x80 | n;
  return der;
}

/**
 * An IP address's bytes as Go's x509 writes them: 4 for IPv4 and for an IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, which net.IP.To4 turns into IPv4), else 16, a dotted IPv4 tail included.
 */
export function ipBytes(ip: string): Bytes {
  const v4 = (s: string): number[] | undefined => {
    const parts = s.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.map(Number);
  };
  const four = v4(ip);
  if (four) return Uint8Array.from(four);
  const bad = () => new RangeError(`not an IP address: ${ip}`);
  const halves = ip.split("::");
  if (halves.length > 2) throw bad();
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    pieces.forEach((g, i) => {
      const tail = i === pieces.length - 1 ? v4(g) : undefined;
      if (tail) out.push((tail[0]! << 8) | tail[1]!, (tail[2]! << 8) | tail[3]!);
      else if (/^[0-9a-f]{1,4}$/i.test(g)) out.push(parseInt(g, 16));
      else throw bad();
    });
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) throw bad();
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const bytes = Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
  const mapped = bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  return mapped ? bytes.slice(12) : bytes;
}

/** The signature algorithm a key signs certificates with, as an AlgorithmIdentifier, and how WebCrypto's output becomes X.509's. */
export interface SignatureScheme {
  algorithmIdentifier: Uint8Array;
  /** WebCrypto's signature bytes as the certificate's signatureValue content. */
  encode(signature: Uint8Array): Uint8Array;
}

const SIGNATURE_OIDS: Record<string, Record<string, string>> = {
  ECDSA: { "SHA-256": "1.2.840.10045.4.3.2", "SHA-384": "1.2.840.10045.4.3.3", "SHA-512": "1.2.840.10045.4.3.4" },
  "RSASSA-PKCS1-v1_5": { "SHA-256": "1.2.840.113549.1.1.11", "SHA-384": "1.2.840.113549.1.1.12", "SHA-512": "1.2.840.113549.1.1.13" },
};

/**
 * The scheme of a signing key, by its spec and the WebCrypto parameters it signs with: ECDSA and Ed25519
 * identifiers have no parameters, RSA PKCS#1 v1.5's a NULL (RFC 5758, RFC 8410, RFC 4055). WebCrypto's ECDSA
 * signature is r||s, each half the curve's size; X.509 wants the DER ECDSA-Sig-Value, SEQUENCE { r, s }.
 */
export function signatureScheme(spec: ResolvedKeySpec, params: { name: string; hash?: unknown }): SignatureScheme {
  if (spec.algo === "ed25519") return { algorithmIdentifier: sequence(oid("1.3.101.112")), encode: (s) => s };
  const hash = typeof params.hash === "string" ? params.hash : ((params.hash as { name?: string } | undefined)?.name ?? "");
  const id = SIGNATURE_OIDS[params.name]?.[hash];
  if (!id) throw new Error(`no certificate signature algorithm for ${params.name} with ${hash}`);
  if (spec.algo === "rsa") return { algorithmIdentifier: sequence(oid(id), nul()), encode: (s) => s };
  return {
    algorithmIdentifier: sequence(oid(id)),
    encode: (s) => sequence(unsignedInteger(s.subarray(0, s.length / 2)), unsignedInteger(s.subarray(s.length / 2))),
  };
}

/** A whole certificate from its TBSCertificate, signature algorithm and signature value. */
export const certificateDer = (tbs: Uint8Array, algorithmIdentifier: Uint8Array, signature: Uint8Array): Bytes =>
  sequence(tbs, algorithmIdentifier, bitString(signature));

/** The fields of a certificate a CA signs with, read from its DER without an ASN.1 library. */
export interface CaFields {
  /** The subject's raw bytes: a leaf's issuer must be these bytes (Go matches parents by raw bytes). */
  subject: Bytes;
  /** The SubjectKeyIdentifier extension's key identifier, when there is one. */
  subjectKeyId?: Bytes;
  /** The subjectPublicKey bits, for a key identifier when the certificate has no SKI. */
  publicKeyBits: Bytes;
}

/** Reads a certificate's subject, SKI and public key bits; throws on DER it cannot walk. */
export function caFields(der: Bytes): CaFields {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.start, cert.end);
  const parts = children(der, tbs);
  // version [0] is there in every v3 certificate; serial, signature, issuer, validity, subject, spki follow.
  const at = parts[0]?.tag === 0xa0 ? 1 : 0;
  const [subject, spki] = [parts[at + 4], parts[at + 5]];
  const keyBits = spki && children(der, spki)[1];
  if (subject?.tag !== TAG.SEQUENCE || keyBits?.tag !== TAG.BIT_STRING) throw new RangeError("not a TBSCertificate");
  const out: CaFields = { subject: der.slice(subject.at, subject.end), publicKeyBits: der.slice(keyBits.start + 1, keyBits.end) };
  const exts = parts.find((p) => p.tag === 0xa3);
  if (exts) {
    const skiOid = oid(EXT.subjectKeyIdentifier);
    for (const ext of children(der, children(der, exts)[0]!)) {
      const fields = children(der, ext);
      const id = der.subarray(fields[0]!.at, fields[0]!.end);
      if (id.length !== skiOid.length || !id.every((b, i) => b === skiOid[i])) continue;
      const value = fields[fields.length - 1]!;
      const inner = readTlv(der, value.start, value.end);
      if (inner.tag === TAG.OCTET_STRING) out.subjectKeyId = der.slice(inner.start, inner.end);
    }
  }
  return out;
}

/** The subjectPublicKey bits of a DER SubjectPublicKeyInfo (a WebCrypto `spki` export). */
export function publicKeyBits(spki: Bytes): Bytes {
  const outer = readTlv(spki, 0);
  const bits = children(spki, outer)[1];
  if (!bits || bits.tag !== TAG.BIT_STRING) throw new RangeError("not a SubjectPublicKeyInfo");
  return spki.subarray(bits.start + 1, bits.end);
}

/** The TBSCertificate of a v3 certificate, fields in RFC 5280's order. */
export function tbsCertificate(f: {
  serial: Uint8Array;
  signature: Uint8Array;
  issuer: Uint8Array;
  validity: [Uint8Array, Uint8Array];
  subject: Uint8Array;
  spki: Uint8Array;
  extensions: Uint8Array[];
}): Bytes {
  return sequence(
    context(0, true, unsignedInteger(2)),
    unsignedInteger(f.serial),
    f.signature,
    f.issuer,
    sequence(...f.validity),
    f.subject,
    f.spki,
    ...(f.extensions.length > 0 ? [context(3, true, sequence(...f.extensions))] : []),
  );
}
