import { bytesToBigInt, decodeText, toBase64 } from "../bytes.js";
import { InputError, type InputLocation } from "../errors.js";
import { oidText, tlv } from "../name.js";
import { goJson, goUrl, goIp, type GoValue } from "./go-values.js";

/**
 * What `cfssl certinfo -csr` prints: cfssl marshals Go's x509.CertificateRequest as it is (cli/certinfo), so this
 * is that struct's JSON, field for field, as encoding/json's MarshalIndent writes it (two-space indent, big
 * integers as bare numbers, []byte as base64, nil slices as null, `<>&` escaped). `der` is a CSR already read and
 * checked (its signature verified), as cfssl's helpers.ParseCSRPEM does before printing.
 */
export function certinfoCsrJson(der: Uint8Array, where: InputLocation = {}): string {
  try {
    return csrJson(der);
  } catch (cause) {
    // parseCsr has read it already; what still fails here is a part only Go's reading looks into.
    throw new InputError("malformed certificate request: a part of it does not parse as Go reads it", where, { cause });
  }
}

function csrJson(der: Uint8Array): string {
  const top = node(der, 0);
  const [info, , sig] = children(der, top);
  const [version, subject, spki, attrs] = children(der, info!);
  const [keyAlg, keyBits] = children(der, spki!);
  const keyOid = oidText(content(der, children(der, keyAlg!)[0]!));
  const rawAttributes = attrs && attrs.tag === 0xa0 ? children(der, attrs) : [];
  const extensions = requestedExtensions(der, rawAttributes);
  const sans = subjectAltNames(der, extensions);
  const b64 = (n: Node) => toBase64(der.subarray(n.at, n.end));
  const out: GoValue = {
    Raw: b64(top),
    RawTBSCertificateRequest: b64(info!),
    RawSubjectPublicKeyInfo: b64(spki!),
    RawSubject: b64(subject!),
    Version: Number(integer(der, version!)),
    Signature: toBase64(content(der, sig!).subarray(1)),
    SignatureAlgorithm: signatureAlgorithm(der, children(der, top)[1]!),
    PublicKeyAlgorithm: PUBLIC_KEY_ALGORITHMS[keyOid] ?? 0,
    PublicKey: publicKey(keyOid, content(der, keyBits!).subarray(1)),
    Subject: pkixName(der, subject!),
    Attributes: nullIfEmpty(rawAttributes.flatMap((a) => attributeSet(der, a))),
    Extensions: nullIfEmpty(extensions.map((e) => ({ Id: oidArray(der, e.id), Critical: e.critical, Value: base64(der, e.value) }))),
    ExtraExtensions: null,
    DNSNames: nullIfEmpty(sans.dns),
    EmailAddresses: nullIfEmpty(sans.email),
    IPAddresses: nullIfEmpty(sans.ip),
    URIs: nullIfEmpty(sans.uri),
  };
  return `${goJson(out, "")}\n`;
}

interface Node {
  tag: number;
  /** Where the header starts. */
  at: number;
  start: number;
  end: number;
}

function node(der: Uint8Array, at: number): Node {
  return { ...tlv(der, at), at };
}

function children(der: Uint8Array, parent: Node): Node[] {
  const out: Node[] = [];
  for (let at = parent.start; at < parent.end; at = out[out.length - 1]!.end) out.push(node(der, at));
  return out;
}

const content = (der: Uint8Array, n: Node) => der.subarray(n.start, n.end);
const base64 = (der: Uint8Array, n: Node) => toBase64(content(der, n));
const oidArray = (der: Uint8Array, n: Node) => oidText(content(der, n)).split(".").map(Number);
const nullIfEmpty = <T extends GoValue>(list: T[]): T[] | null => (list.length === 0 ? null : list);

/** A DER INTEGER, two's complement. */
function integer(der: Uint8Array, n: Node): bigint {
  const bytes = content(der, n);
  const value = bytesToBigInt(bytes);
  return bytes.length > 0 && bytes[0]! >= 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value;
}

/** A big integer as Go's *big.Int marshals it: a bare JSON number, whatever its size. */
const bigNumber = (v: bigint): GoValue => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** Go's x509.SignatureAlgorithm numbers (crypto/x509 x509.go), by OID. */
const SIGNATURE_ALGORITHMS: Record<string, number> = {
  "1.2.840.113549.1.1.2": 1,
  "1.2.840.113549.1.1.4": 2,
  "1.2.840.113549.1.1.5": 3,
  "1.2.840.113549.1.1.11": 4,
  "1.2.840.113549.1.1.12": 5,
  "1.2.840.113549.1.1.13": 6,
  "1.2.840.10040.4.3": 7,
  "2.16.840.1.101.3.4.3.2": 8,
  "1.2.840.10045.4.1": 9,
  "1.2.840.10045.4.3.2": 10,
  "1.2.840.10045.4.3.3": 11,
  "1.2.840.10045.4.3.4": 12,
  "1.3.101.112": 16,
};
const PSS_BY_HASH: Record<string, number> = { "2.16.840.1.101.3.4.2.1": 13, "2.16.840.1.101.3.4.2.2": 14, "2.16.840.1.101.3.4.2.3": 15 };
/** Go's x509.PublicKeyAlgorithm numbers, by OID. */
const PUBLIC_KEY_ALGORITHMS: Record<string, number> = { "1.2.840.113549.1.1.1": 1, "1.2.840.10040.4.1": 2, "1.2.840.10045.2.1": 3, "1.3.101.112": 4 };

function signatureAlgorithm(der: Uint8Array, alg: Node): number {
  const [oid, params] = children(der, alg);
  const text = oidText(content(der, oid!));
  if (text !== "1.2.840.113549.1.1.10") return SIGNATURE_ALGORITHMS[text] ?? 0;
  // RSASSA-PSS: the hash is the first, [0]-tagged, parameter.
  const hash = params && params.tag === 0x30 ? children(der, params).find((p) => p.tag === 0xa0) : undefined;
  const hashOid = hash ? oidText(content(der, children(der, children(der, hash)[0]!)[0]!)) : "";
  return PSS_BY_HASH[hashOid] ?? 0;
}

/** The public key as Go holds it: rsa.PublicKey{N, E}, ecdsa.PublicKey{Curve, X, Y} (a curve marshals as {}), ed25519's bytes. */
function publicKey(oid: string, bits: Uint8Array): GoValue {
  if (oid === "1.2.840.113549.1.1.1") {
    const [n, e] = children(bits, node(bits, 0));
    return { N: bigNumber(integer(bits, n!)), E: Number(integer(bits, e!)) };
  }
  if (oid === "1.2.840.10045.2.1") {
    const size = (bits.length - 1) / 2;
    const coord = (b: Uint8Array) => bigNumber(bytesToBigInt(b));
    return { Curve: {}, X: coord(bits.subarray(1, 1 + size)), Y: coord(bits.subarray(1 + size)) };
  }
  if (oid === "1.3.101.112") return toBase64(bits);
  return null;
}

/** pkix.Name after FillFromRDNSequence: the known string attributes in their fields, every attribute in Names. */
function pkixName(der: Uint8Array, name: Node): GoValue {
  const fields: Record<string, string[]> = { "6": [], "10": [], "11": [], "7": [], "8": [], "9": [], "17": [] };
  let serial = "";
  let cn = "";
  const names: GoValue[] = [];
  for (const rdn of children(der, name)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      const oid = oidArray(der, type!);
      const v = goAny(der, value!);
      names.push({ Type: oid, Value: v });
      if (typeof v !== "string" || oid.length !== 4 || oid[0] !== 2 || oid[1] !== 5 || oid[2] !== 4) continue;
      if (oid[3] === 3) cn = v;
      else if (oid[3] === 5) serial = v;
      else fields[String(oid[3])]?.push(v);
    }
  }
  const list = (k: string) => nullIfEmpty(fields[k]!);
  return {
    Country: list("6"),
    Organization: list("10"),
    OrganizationalUnit: list("11"),
    Locality: list("7"),
    Province: list("8"),
    StreetAddress: list("9"),
    PostalCode: list("17"),
    SerialNumber: serial,
    CommonName: cn,
    Names: nullIfEmpty(names),
    ExtraNames: null,
  };
}

/** A value Go's encoding/asn1 reads into an `any`: strings, integers, OIDs, bytes, times; nil for anything else. */
function goAny(der: Uint8Array, n: Node): GoValue {
  const bytes = content(der, n);
  switch (n.tag) {
    case 0x0c: // UTF8String
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // T61String
    case 0x16: // IA5String
      return decodeText(bytes, "utf8");
    case 0x1e: // BMPString
      return decodeText(bytes, "utf16be");
    case 0x02:
      return bigNumber(integer(der, n));
    case 0x03:
      return { Bytes: toBase64(bytes.subarray(1)), BitLength: (bytes.length - 1) * 8 - (bytes[0] ?? 0) };
    case 0x04:
      return toBase64(bytes);
    case 0x06:
      return oidArray(der, n);
    default:
      return null;
  }
}

/** One attribute as pkix.AttributeTypeAndValueSET, or none where Go can't read it so (a challengePassword, say). */
function attributeSet(der: Uint8Array, attr: Node): GoValue[] {
  try {
    const [type, values] = children(der, attr);
    if (attr.tag !== 0x30 || type?.tag !== 0x06 || values?.tag !== 0x31) return [];
    const value = children(der, values).map((seq) => {
      if (seq.tag !== 0x30) throw new Error("not a SEQUENCE");
      return children(der, seq).map((atv) => {
        const [t, v] = children(der, atv);
        if (atv.tag !== 0x30 || t?.tag !== 0x06 || !v) throw new Error("not an AttributeTypeAndValue");
        return { Type: oidArray(der, t), Value: goAny(der, v) };
      });
    });
    return [{ Type: oidArray(der, type), Value: value }];
  } catch {
    return [];
  }
}

interface RequestedExtension {
  id: Node;
  critical: boolean;
  value: Node;
}

/** The extensions of the extensionRequest attributes (PKCS#9), in order. */
function requestedExtensions(der: Uint8Array, attributes: Node[]): RequestedExtension[] {
  const out: RequestedExtension[] = [];
  for (const attr of attributes) {
    const [type, values] = children(der, attr);
    if (!type || oidText(content(der, type)) !== "1.2.840.113549.1.9.14" || !values) continue;
    const first = children(der, values)[0];
    if (!first) continue;
    for (const ext of children(der, first)) {
      const parts = children(der, ext);
      const critical = parts.length === 3 && der[parts[1]!.start] !== 0;
      out.push({ id: parts[0]!, critical, value: parts[parts.length - 1]! });
    }
  }
  return out;
}

/** DNSNames, EmailAddresses, IPAddresses (as net.IP prints them) and URIs (as url.URL structs) of the SAN extension. */
function subjectAltNames(der: Uint8Array, extensions: RequestedExtension[]): { dns: string[]; email: string[]; ip: string[]; uri: GoValue[] } {
  const sans = { dns: [] as string[], email: [] as string[], ip: [] as string[], uri: [] as GoValue[] };
  for (const ext of extensions) {
    if (oidText(content(der, ext.id)) !== "2.5.29.17") continue;
    const value = content(der, ext.value);
    for (const name of children(value, node(value, 0))) {
      const bytes = content(value, name);
      const text = decodeText(bytes, "latin1");
      if (name.tag === 0x81) sans.email.push(text);
      else if (name.tag === 0x82) sans.dns.push(text);
      else if (name.tag === 0x86) sans.uri.push(goUrl(text));
      else if (name.tag === 0x87) sans.ip.push(goIp(bytes));
    }
  }
  return sans;
}
