import { toHex } from "./bytes.js";
import { keyIdOf } from "./certificate.js";
import type { KeyPair } from "./keys.js";
import { type SubjectName, fromX509Name, sameName } from "./name.js";
import { type SubjectAltNames, sansOf } from "./san.js";
import { type KeyUsageName, extKeyUsageName, keyUsageNames } from "./usages.js";
import { crypto, x509 } from "./x509.js";

/**
 * A structured view of a certificate, what `certinfo` and `check-expiration` print from: plain data only
 * (strings, numbers, booleans, arrays, plain objects and the two Dates), safe to log, compare or serialize.
 */
export interface CertificateInfo {
  subject: SubjectName;
  issuer: SubjectName;
  sans: SubjectAltNames;
  /** Serial as lowercase hex and as decimal (cfssl prints decimal). */
  serialHex: string;
  serialDecimal: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  pathLen: number | undefined;
  /** Key usages by cfssl's names. */
  keyUsage: KeyUsageName[];
  /** Extended key usages by cfssl's names, else as dotted OIDs. */
  extKeyUsage: string[];
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by `:`. */
  sha256: string;
  /** e.g. `SHA256WithRSA`, `ECDSAWithSHA256`, `Ed25519`: Go's names, as cfssl prints them. */
  signatureAlgorithm: string;
  selfSigned: boolean;
}

/** Describes a certificate. */
export async function describeCertificate(cert: x509.X509Certificate): Promise<CertificateInfo> {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  const serialHex = cert.serialNumber.toLowerCase();
  return {
    subject: fromX509Name(cert.subjectName),
    issuer: fromX509Name(cert.issuerName),
    sans: sansOf(cert.getExtension(x509.SubjectAlternativeNameExtension)),
    serialHex,
    serialDecimal: BigInt(`0x${serialHex || "0"}`).toString(10),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCA: bc?.ca ?? false,
    pathLen: bc?.pathLength,
    keyUsage: ku ? keyUsageNames(ku.usages) : [],
    // Array.from: the extension's list is an ASN.1 class (an Array subclass) that map() would keep.
    extKeyUsage: eku ? Array.from(eku.usages, (u) => extKeyUsageName(String(u))) : [],
    subjectKeyId: ski?.keyId,
    authorityKeyId: aki?.keyId,
    sha256: colonHex(new Uint8Array(await cert.getThumbprint("SHA-256", crypto))),
    signatureAlgorithm: goSignatureName(cert),
    selfSigned: sameName(cert.subjectName, cert.issuerName),
  };
}

/** Upper-case hex pairs joined by `:`, as fingerprints and key IDs are shown. */
export function colonHex(bytes: Uint8Array | string): string {
  const hex = typeof bytes === "string" ? bytes : toHex(bytes);
  return (hex.toUpperCase().match(/../g) ?? []).join(":");
}

function goSignatureName(cert: x509.X509Certificate): string {
  const alg = cert.signatureAlgorithm as { name: string; hash?: { name: string } };
  const hash = (alg.hash?.name ?? "").replace("-", "");
  if (alg.name === "RSASSA-PKCS1-v1_5") return `${hash}WithRSA`;
  if (alg.name === "ECDSA") return `ECDSAWith${hash}`;
  return alg.name;
}

/** True when the key pair's public key is the certificate's. */
export async function keyMatchesCertificate(key: KeyPair, cert: x509.X509Certificate): Promise<boolean> {
  return key.matches(cert.publicKey.rawData);
}

/** Milliseconds until the certificate expires (negative once it has). */
export function timeLeft(cert: x509.X509Certificate, now: Date = new Date()): number {
  return cert.notAfter.getTime() - now.getTime();
}

/**
 * Verifies `leaf` up to one of `roots` through `intermediates` the way Go's crypto/x509 does: parents
 * are found by raw subject bytes equal to the child's raw issuer bytes, every signature must hold,
 * every issuer must be a CA with keyCertSign (when KeyUsage is present), every certificate must be
 * valid at `now`, and path length constraints must hold. Returns the problems found, none when valid.
 */
export async function verifyChain(
  leaf: x509.X509Certificate,
  roots: readonly x509.X509Certificate[],
  intermediates: readonly x509.X509Certificate[] = [],
  now: Date = new Date(),
): Promise<string[]> {
  const problems: string[] = [];
  let child = leaf;
  let depth = 0; // non-self-issued intermediates below the current issuer
  for (let guard = 0; guard < 10; guard++) {
    if (now < child.notBefore || now > child.notAfter) problems.push(`${child.subject}: not valid at ${now.toISOString()}`);
    const issuer = child.issuerName;
    const root = roots.find((r) => sameName(r.subjectName, issuer));
    const parent = root ?? intermediates.find((c) => c !== child && sameName(c.subjectName, issuer));
    if (!parent) {
      problems.push(`${child.subject}: signed by unknown authority "${child.issuer}"`);
      return problems;
    }
    problems.push(...(await issuerProblems(child, parent, depth)));
    if (root) {
      if (now < root.notBefore || now > root.notAfter) problems.push(`${root.subject}: CA not valid at ${now.toISOString()}`);
      return problems;
    }
    child = parent;
    depth++;
  }
  problems.push("chain too long");
  return problems;
}

async function issuerProblems(child: x509.X509Certificate, parent: x509.X509Certificate, depth: number): Promise<string[]> {
  const out: string[] = [];
  const bc = parent.getExtension(x509.BasicConstraintsExtension);
  const ku = parent.getExtension(x509.KeyUsagesExtension);
  if (!bc?.ca) out.push(`${parent.subject}: not a CA (BasicConstraints CA:FALSE or absent)`);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) out.push(`${parent.subject}: KeyUsage lacks keyCertSign`);
  if (bc?.pathLength !== undefined && depth > bc.pathLength) out.push(`${parent.subject}: path length ${bc.pathLength} exceeded`);
  const aki = child.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  if (aki && aki.toLowerCase() !== (await keyIdOf(parent)).toLowerCase()) out.push(`${child.subject}: authority key ID does not match its issuer's key ID`);
  if (!(await signedBy(child, parent))) out.push(`${child.subject}: signature does not verify with ${parent.subject}'s key`);
  return out;
}

/** A signature WebCrypto can't even check (a damaged key or signature) does not verify either. */
async function signedBy(child: x509.X509Certificate, parent: x509.X509Certificate): Promise<boolean> {
  try {
    return await child.verify({ publicKey: parent.publicKey, signatureOnly: true }, crypto);
  } catch {
    return false;
  }
}
