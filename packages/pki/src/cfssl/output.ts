import { bytesToBigInt, toBase64 } from "../bytes.js";
import { certificatePem } from "../certificate.js";
import { InputError, type InputLocation } from "../errors.js";
import { colonHex, describeCertificate } from "../inspect.js";
import { type NameAttribute, nameAttributes, oidText, tlv } from "../name.js";
import { pemBlockDer } from "../pem.js";
import { x509 } from "../x509.js";

/** The subject/issuer object of cfssl certinfo's JSON (certinfo.go Name), in its key order. */
export interface CfsslCertinfoName {
  common_name?: string;
  serial_number?: string;
  country?: string;
  organization?: string;
  organizational_unit?: string;
  locality?: string;
  province?: string;
  street_address?: string;
  postal_code?: string;
  names?: string[];
}

/** cfssl certinfo's JSON for a certificate. */
export interface CfsslCertinfo {
  subject: CfsslCertinfoName;
  issuer: CfsslCertinfoName;
  serial_number: string;
  sans?: string[];
  not_before: string;
  not_after: string;
  sigalg: string;
  authority_key_id: string;
  subject_key_id: string;
  pem: string;
}

/**
 * The one certificate of a PEM file, as cfssl's helpers.ParseCertificatePEM reads it: text before the block is
 * skipped, anything after it (a second certificate, say) is refused, as cfssl refuses it; a PKCS#7 block (what a
 * CA's "p7b" download holds) gives its certificate when it holds exactly one.
 */
export function onlyCertificatePem(text: string, where: InputLocation): string {
  const label = /-----BEGIN ([^-\r\n]*)-----/.exec(text)?.[1] ?? "CERTIFICATE";
  const end = `-----END ${label}-----`;
  const at = text.indexOf(end);
  if (at >= 0 && text.slice(at + end.length).trim() !== "") throw new InputError("the PEM file should contain only one object (a certificate)", where);
  if (label !== "PKCS7") return text;
  const certs = pkcs7Certificates(pemBlockDer(text, ["PKCS7"], "PKCS#7 object", where), where);
  if (certs.length !== 1) throw new InputError(`the PKCS7 object in the PEM file should contain only one certificate (it has ${certs.length})`, where);
  return `-----BEGIN CERTIFICATE-----\n${toBase64(certs[0]!).replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END CERTIFICATE-----\n`;
}

/** The certificates of a PKCS#7 SignedData (RFC 2315: ContentInfo { signedData, [0] { ..., [0] certificates } }). */
function pkcs7Certificates(der: Uint8Array, where: InputLocation): Uint8Array[] {
  try {
    const info = tlv(der, 0);
    const type = tlv(der, info.start);
    if (oidText(der.subarray(type.start, type.end)) !== "1.2.840.113549.1.7.2")
      throw new InputError("only PKCS #7 Signed Data Content Info supported for certificate parsing", where);
    const signedData = tlv(der, tlv(der, type.end).start);
    for (let at = signedData.start; at < signedData.end; at = tlv(der, at).end) {
      if (der[at] !== 0xa0) continue;
      const set = tlv(der, at);
      const out: Uint8Array[] = [];
      for (let c = set.start; c < set.end; c = tlv(der, c).end) out.push(der.slice(c, tlv(der, c).end));
      return out;
    }
    return [];
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw new InputError("malformed PKCS#7 object: its DER structure is damaged", where, { cause });
  }
}

/**
 * Go's x509 refuses an RSA key whose AlgorithmIdentifier lacks its NULL parameters (RFC 3279 2.3.1; crypto/x509
 * parsePublicKey), and so cfssl refuses the certificate or CSR that carries it: refused here too, not described.
 */
export function checkGoReadsKey(spki: ArrayBuffer | Uint8Array, where: InputLocation): void {
  const der = spki instanceof Uint8Array ? spki : new Uint8Array(spki);
  const alg = tlv(der, tlv(der, 0).start);
  const oid = tlv(der, alg.start);
  if (oidText(der.subarray(oid.start, oid.end)) !== "1.2.840.113549.1.1.1") return;
  const params = der.subarray(oid.end, alg.end);
  if (params.length !== 2 || params[0] !== 0x05 || params[1] !== 0x00)
    throw new InputError("its RSA key's algorithm has no NULL parameters (RFC 3279), which Go's x509, and so cfssl, refuses", where);
}

/** The JSON `cfssl certinfo -cert` prints, with its key names and order. */
export async function certinfoJson(cert: x509.X509Certificate): Promise<CfsslCertinfo> {
  const info = await describeCertificate(cert);
  const sans = [...info.sans.dns, ...info.sans.ip];
  return {
    subject: certinfoName(cert.subjectName),
    issuer: certinfoName(cert.issuerName),
    serial_number: goSerial(cert),
    ...(sans.length > 0 ? { sans } : {}),
    not_before: goTime(info.notBefore),
    not_after: goTime(info.notAfter),
    sigalg: goSignatureName(cert),
    authority_key_id: colonHex(info.authorityKeyId ?? ""),
    subject_key_id: colonHex(info.subjectKeyId ?? ""),
    // Re-encoded from the DER, as cfssl does: 64-column lines and a final newline, whatever the file had.
    pem: certificatePem(cert),
  };
}

const FIELDS: [string, keyof CfsslCertinfoName][] = [
  ["2.5.4.3", "common_name"],
  ["2.5.4.5", "serial_number"],
  ["2.5.4.6", "country"],
  ["2.5.4.10", "organization"],
  ["2.5.4.11", "organizational_unit"],
  ["2.5.4.7", "locality"],
  ["2.5.4.8", "province"],
  ["2.5.4.9", "street_address"],
  ["2.5.4.17", "postal_code"],
];

/** Go's pkix.Name as certinfo prints it: known fields joined by ",", CN the last one, and every value in the certificate's order. */
function certinfoName(name: x509.Name): CfsslCertinfoName {
  const attrs: NameAttribute[] = nameAttributes(name).flat();
  const out: Record<string, string | string[]> = {};
  for (const [oid, key] of FIELDS) {
    const values = attrs.filter((a) => a.oid === oid).map((a) => a.value);
    if (values.length === 0) continue;
    const text = key === "common_name" || key === "serial_number" ? values[values.length - 1]! : values.join(",");
    if (text !== "") out[key] = text;
  }
  if (attrs.length > 0) out.names = attrs.map((a) => a.value);
  return out as CfsslCertinfoName;
}

/**
 * The serial as Go's big.Int prints it, read from the DER INTEGER itself: it is signed, so a first byte >= 0x80 is
 * a negative serial, and a positive one with that high bit keeps a leading 00 byte (x509's serialNumber drops it,
 * which made one of cfssl's serials in 256 print negative).
 */
function goSerial(cert: x509.X509Certificate): string {
  const der = new Uint8Array(cert.rawData);
  const tbs = tlv(der, tlv(der, 0).start);
  let field = tlv(der, tbs.start);
  if (der[tbs.start] === 0xa0) field = tlv(der, field.end); // the [0] version comes first
  const bytes = der.subarray(field.start, field.end);
  const value = bytesToBigInt(bytes);
  return (bytes.length > 0 && bytes[0]! >= 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value).toString(10);
}

/** Go's names of signature algorithms (x509.SignatureAlgorithm.String, as cfssl's helpers.SignatureString prints them), by OID. */
const SIGNATURE_NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.4": "MD5WithRSA",
  "1.2.840.113549.1.1.5": "SHA1WithRSA",
  "1.2.840.113549.1.1.11": "SHA256WithRSA",
  "1.2.840.113549.1.1.12": "SHA384WithRSA",
  "1.2.840.113549.1.1.13": "SHA512WithRSA",
  "1.2.840.10040.4.3": "DSAWithSHA1",
  "2.16.840.1.101.3.4.3.2": "DSAWithSHA256",
  "1.2.840.10045.4.1": "ECDSAWithSHA1",
  "1.2.840.10045.4.3.2": "ECDSAWithSHA256",
  "1.2.840.10045.4.3.3": "ECDSAWithSHA384",
  "1.2.840.10045.4.3.4": "ECDSAWithSHA512",
  "1.3.101.112": "Ed25519",
};

/** The signature algorithm's OID, read from the DER: Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, signature }. */
function signatureOid(cert: x509.X509Certificate): string {
  const der = new Uint8Array(cert.rawData);
  const tbs = tlv(der, tlv(der, 0).start);
  const algorithm = tlv(der, tbs.end);
  const oid = tlv(der, algorithm.start);
  return oidText(der.subarray(oid.start, oid.end));
}

/** RSASSA-PSS names its hash in its parameters; Go prints SHA256WithRSAPSS etc. */
function goSignatureName(cert: x509.X509Certificate): string {
  const oid = signatureOid(cert);
  if (oid === "1.2.840.113549.1.1.10") {
    const hash = ((cert.signatureAlgorithm as { hash?: { name: string } }).hash?.name ?? "").replace("-", "");
    return `${hash}WithRSAPSS`;
  }
  return SIGNATURE_NAMES[oid] ?? "Unknown Signature";
}

/** Go's RFC 3339 time as encoding/json writes it: no fractional seconds when there are none. */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, "Z");
}

/** The files `cfssljson -bare NAME` writes from gencert's or sign's JSON, with their modes. */
export function bareFiles(
  base: string,
  output: { cert?: string; csr?: string; key?: string },
): { path: string; content: string; mode: number; isKey: boolean }[] {
  const files: { path: string; content: string; mode: number; isKey: boolean }[] = [];
  if (output.cert) files.push({ path: `${base}.pem`, content: output.cert, mode: 0o644, isKey: false });
  if (output.key) files.push({ path: `${base}-key.pem`, content: output.key, mode: 0o600, isKey: true });
  if (output.csr) files.push({ path: `${base}.csr`, content: output.csr, mode: 0o644, isKey: false });
  return files;
}
