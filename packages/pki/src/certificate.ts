import {
  EXT,
  authorityKeyIdentifier,
  basicConstraints,
  caFields,
  certificateDer,
  extKeyUsage,
  extension,
  generalNames,
  keyUsage,
  nameDer,
  publicKeyBits,
  signatureScheme,
  tbsCertificate,
} from "./certificate-der.js";
import { type Bytes, fromHex, octetString, time, toHex } from "./der.js";
import { InputError, type InputLocation } from "./errors.js";
import { toPem } from "./key-der.js";
import { KeyPair, signatureParams } from "./keys.js";
import { type SubjectName, fromX509Name } from "./name.js";
import { pemBlockDer, readEveryPart } from "./pem.js";
import { noSans, type SubjectAltNames, sansOf } from "./san.js";
import { KEY_USAGES, type Usages } from "./usages.js";
import { crypto, x509 } from "./x509.js";

const MINUTE = 60_000;
/** cfssl and kubeadm both start a certificate's life 5 minutes early, to absorb clock skew between hosts. */
export const BACKDATE_MS = 5 * MINUTE;

/** A certificate's validity window. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** kubeadm's rule: notBefore = now − 5 min, notAfter = now + validity. */
export function kubeadmValidity(now: Date, validityMs: number): Validity {
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + validityMs) };
}

/** cfssl's rule: notBefore = now rounded to the minute − 5 min, notAfter = notBefore + expiry. */
export function cfsslValidity(now: Date, expiryMs: number, backdateMs = BACKDATE_MS): Validity {
  const rounded = Math.round(now.getTime() / MINUTE) * MINUTE;
  const notBefore = new Date(rounded - backdateMs);
  return { notBefore, notAfter: new Date(notBefore.getTime() + expiryMs) };
}

/**
 * A random positive serial of 20 bytes with minimal DER: the top bit is cleared so it is not negative,
 * and the first byte is never zero so no byte can be dropped (Go and OpenSSL refuse non-minimal serials).
 */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return toHex(bytes);
}

/**
 * What issuing, PEM and the CA cap read of a certificate: its DER and its notAfter. An X509Certificate is one, and so is
 * what {@link issueCertificateDer} returns, which nothing has parsed.
 */
export interface CertificateDer {
  readonly rawData: ArrayBuffer;
  readonly notAfter: Date;
}

/** A certificate as issued, not parsed: its DER and its validity (whole seconds, as the DER holds them). */
export interface IssuedDer extends CertificateDer {
  readonly notBefore: Date;
}

/** A CA that can sign: its certificate and key. */
export interface Signer {
  cert: x509.X509Certificate;
  key: KeyPair;
}

/** A CA as {@link issueCertificateDer} needs it: its certificate, parsed or as issued, and its key. A {@link Signer} is one. */
export interface CaSigner {
  cert: CertificateDer;
  key: KeyPair;
}

/** Everything that goes into a certificate. */
export interface CertificateTemplate {
  /** The subject; a parsed Name (e.g. from a CSR) is copied byte for byte. */
  subject: SubjectName | x509.Name;
  /** The subject's public key. */
  publicKey: CryptoKey;
  /** Subject alternative names; a kind left out (`{ dns: ["web"] }`) has none. */
  sans?: Partial<SubjectAltNames>;
  validity: Validity;
  /** CA certificates: path length constraint (none when undefined). */
  ca?: { pathLen?: number };
  /** Leaf usages; CAs always get keyCertSign + cRLSign, unless `exactCaUsages`. */
  usages?: Usages;
  /** A CA gets exactly `usages`, key usage and extended key usage, as cfssl's `ca_constraint` profiles give them. */
  exactCaUsages?: boolean;
  /** Serial as hex; random when absent. */
  serial?: string;
}

/**
 * Issues a certificate. With `signer`, it is signed by that CA and its issuer is the CA's subject, byte
 * for byte (Go matches parents by raw bytes), and it ends no later than the CA: a later notAfter is capped
 * at the CA's, as Kubernetes' CSR signer does ({@link outlivesCaWarning} says so). Without, `selfKey`
 * signs it (a root CA, or a self-signed leaf).
 * Every certificate gets a SKI, every non-self-signed one an AKI (OpenSSL's -x509_strict checks both),
 * BasicConstraints is critical, and so is KeyUsage.
 * The TBSCertificate is written as DER by hand and signed with WebCrypto: an ASN.1 schema library costs a
 * short-lived process more than the signatures do (see der.ts).
 */
export async function issueCertificate(tpl: CertificateTemplate, signer: Signer | { selfKey: KeyPair }): Promise<x509.X509Certificate> {
  return issuedCertificate(await issueCertificateDer(tpl, signer));
}

/**
 * Issues a certificate as {@link issueCertificate} does, and returns its DER and validity without an X509Certificate:
 * what a run that only writes certificates needs (the CLI's bundle then never loads @peculiar/x509).
 */
export async function issueCertificateDer(tpl: CertificateTemplate, signer: CaSigner | { selfKey: KeyPair }): Promise<IssuedDer> {
  const selfSigned = "selfKey" in signer;
  const signingKey = selfSigned ? signer.selfKey : signer.key;
  const ca = selfSigned ? undefined : await signerFields(signer.cert);
  // Not `instanceof x509.Name`: that would load the library for a plain subject.
  const subject = isX509Name(tpl.subject) ? new Uint8Array(tpl.subject.toArrayBuffer()) : nameDer(tpl.subject);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", tpl.publicKey));
  const extensions: Uint8Array[] = [];
  if (tpl.ca) {
    extensions.push(extension(EXT.basicConstraints, true, basicConstraints(true, tpl.ca.pathLen)));
    if (tpl.exactCaUsages) {
      if (tpl.usages?.keyUsage) extensions.push(extension(EXT.keyUsage, true, keyUsage(tpl.usages.keyUsage)));
      if (tpl.usages?.extKeyUsage.length) extensions.push(extension(EXT.extKeyUsage, false, extKeyUsage(tpl.usages.extKeyUsage)));
    } else extensions.push(extension(EXT.keyUsage, true, keyUsage(KEY_USAGES["cert sign"] | KEY_USAGES["crl sign"] | (tpl.usages?.keyUsage ?? 0))));
  } else {
    const usages = tpl.usages ?? { keyUsage: 0, extKeyUsage: [] };
    // keyEncipherment means "this key decrypts session keys": only RSA keys can (RFC 8813, RFC 8410).
    const flags = tpl.publicKey.algorithm.name.startsWith("RSA") ? usages.keyUsage : usages.keyUsage & ~KEY_USAGES["key encipherment"];
    if (flags !== 0) extensions.push(extension(EXT.keyUsage, true, keyUsage(flags)));
    if (usages.extKeyUsage.length > 0) extensions.push(extension(EXT.extKeyUsage, false, extKeyUsage(usages.extKeyUsage)));
    extensions.push(extension(EXT.basicConstraints, true, basicConstraints(false)));
  }
  // RFC 5280 4.2.1.2's method 1: SHA-1 of the subjectPublicKey bits.
  extensions.push(extension(EXT.subjectKeyIdentifier, false, octetString(await sha1(publicKeyBits(spki)))));
  if (ca) extensions.push(extension(EXT.authorityKeyIdentifier, false, authorityKeyIdentifier(ca.keyId)));
  const sans = generalNames(tpl.sans ?? noSans());
  if (sans) extensions.push(extension(EXT.subjectAltName, false, sans));

  const params = signatureParams(signingKey.spec);
  const scheme = signatureScheme(signingKey.spec, params);
  const validity = { notBefore: tpl.validity.notBefore, notAfter: selfSigned ? tpl.validity.notAfter : cappedAtCa(tpl.validity.notAfter, signer.cert) };
  const tbs = tbsCertificate({
    serial: fromHex(tpl.serial ?? randomSerial()),
    signature: scheme.algorithmIdentifier,
    issuer: ca ? ca.subject : subject,
    validity: [time(validity.notBefore), time(validity.notAfter)],
    subject,
    spki,
    extensions,
  });
  const signature = new Uint8Array(await crypto.subtle.sign(params, signingKey.privateKey, tbs));
  const der = certificateDer(tbs, scheme.algorithmIdentifier, scheme.encode(signature));
  // As the DER holds them: whole seconds.
  const second = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);
  return { rawData: der.buffer as ArrayBuffer, notBefore: second(validity.notBefore), notAfter: second(validity.notAfter) };
}

function isX509Name(subject: SubjectName | x509.Name): subject is x509.Name {
  return typeof (subject as Partial<x509.Name>).toArrayBuffer === "function";
}

/** RFC 5280 4.2.1.2's key identifier, method 1: SHA-1 of the subjectPublicKey bits. */
const sha1 = (bits: Bytes) => crypto.subtle.digest("SHA-1", bits).then((d) => new Uint8Array(d));

/** What a leaf takes from its CA's certificate: the subject's raw bytes (its issuer) and key identifier (its AKI). */
async function signerFields(ca: CertificateDer): Promise<{ subject: Bytes; keyId: Bytes }> {
  let fields: ReturnType<typeof caFields>;
  try {
    fields = caFields(new Uint8Array(ca.rawData));
  } catch {
    // DER the library reads leniently but DER's rules refuse (an indefinite or a 5-byte length): the
    // library's own reading of the same fields, as certificates were issued before.
    const cert = new x509.X509Certificate(ca.rawData);
    return { subject: new Uint8Array(cert.subjectName.toArrayBuffer()), keyId: fromHex(await keyIdOf(cert)) };
  }
  return { subject: fields.subject, keyId: fields.subjectKeyId ?? (await sha1(fields.publicKeyBits)) };
}

/** What the base class's constructor is given instead of parsed ASN.1: nothing to parse yet. */
const NOT_PARSED = Object.freeze({});

let issuedClass: (new (issued: IssuedDer) => x509.X509Certificate) | undefined;

/**
 * The X509Certificate of an issued DER, parsed only when a part of it is read. Most runs write a certificate as PEM and
 * never read it back, and parsing costs a certificate about as much as issuing it. Its DER and its validity are known
 * without parsing; the rest (`asn`, which every other getter of X509Certificate reads) is parsed on first use. The
 * class is made on the first call, not when this module loads, which would load the library.
 */
export function issuedCertificate(issued: IssuedDer): x509.X509Certificate {
  issuedClass ??= issuedCertificateClass();
  return new issuedClass(issued);
}

function issuedCertificateClass(): new (issued: IssuedDer) => x509.X509Certificate {
  class IssuedCertificate extends x509.X509Certificate {
    readonly #issued: IssuedDer;

    constructor(issued: IssuedDer) {
      // An ASN.1 object rather than bytes: the base class takes it as parsed (see `asn` below).
      super(NOT_PARSED as never);
      this.#issued = issued;
    }

    override get rawData(): ArrayBuffer {
      return this.#issued.rawData;
    }

    override get notBefore(): Date {
      return this.#issued.notBefore;
    }

    override get notAfter(): Date {
      return this.#issued.notAfter;
    }

    /** The DER parsed by the library; nothing while the base class's constructor runs (it hands `asn` to onInit, which ignores it). */
    parsed(): unknown {
      if (!(#issued in this)) return NOT_PARSED;
      return (new x509.X509Certificate(this.#issued.rawData) as unknown as { asn: unknown }).asn;
    }
  }
  // The base class's constructor assigns `asn` (a protected property, so declared here and not in the class):
  // that first assignment is ignored, and reading it parses the DER once and keeps the result.
  Object.defineProperty(IssuedCertificate.prototype, "asn", {
    configurable: true,
    get(this: IssuedCertificate) {
      const asn = this.parsed();
      if (asn !== NOT_PARSED) Object.defineProperty(this, "asn", { value: asn, writable: true, configurable: true });
      return asn;
    },
    set(this: IssuedCertificate, value: unknown) {
      if (value !== NOT_PARSED) Object.defineProperty(this, "asn", { value, writable: true, configurable: true });
    },
  });
  return IssuedCertificate;
}

/** The subject key identifier of a certificate: its SKI extension, else SHA-1 of its public key as RFC 5280 suggests. */
export async function keyIdOf(cert: x509.X509Certificate): Promise<string> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return ski.keyId;
  return toHex(new Uint8Array(await cert.publicKey.getKeyIdentifier(crypto)));
}

/**
 * Parses one PEM `CERTIFICATE` (the first block of the text) or DER certificate, reading every part we
 * use so that damage anywhere is refused here: `where` names the file in the error.
 */
export function parseCertificate(pemOrDer: string | Uint8Array, where: InputLocation = {}): x509.X509Certificate {
  const der: Uint8Array<ArrayBuffer> = typeof pemOrDer === "string" ? pemBlockDer(pemOrDer, ["CERTIFICATE"], "certificate", where) : new Uint8Array(pemOrDer);
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch (cause) {
    throw new InputError("not a readable certificate: its DER structure is malformed", where, { cause });
  }
  readEveryPart("certificate", where, {
    "its serial number": () => cert.serialNumber,
    "its subject": () => fromX509Name(cert.subjectName) && cert.subject,
    "its issuer": () => fromX509Name(cert.issuerName) && cert.issuer,
    "its validity": () => cert.notBefore.getTime() + cert.notAfter.getTime(),
    "its signature algorithm": () => cert.signatureAlgorithm,
    "its public key": () => cert.publicKey.algorithm,
    "an extension": () => sansOf(cert.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension)),
  });
  return cert;
}

/**
 * A leaf's notAfter, no later than its CA's: past it the leaf's chain no longer verifies whatever its own
 * dates say, so a later date would only make expiry checks lie. cfssl 1.2 and kubeadm issue past the CA;
 * Kubernetes' own CSR signer (kube-controller-manager) caps, and so do we.
 */
export function cappedAtCa(notAfter: Date, ca: CertificateDer): Date {
  return notAfter > ca.notAfter ? ca.notAfter : notAfter;
}

/**
 * The note for a certificate {@link issueCertificate} capped at its CA's notAfter (it ends when its CA
 * does, not when its requested validity would): the operator learns that the CA decides when it stops.
 * The name is older than the cap, when such a certificate was issued past its CA with a warning.
 */
export function outlivesCaWarning(name: string, notAfter: Date, ca: CertificateDer): string[] {
  return notAfter >= ca.notAfter ? [`${name} is capped at its CA's expiry, ${ca.notAfter.toISOString()} (the requested validity goes past the CA)`] : [];
}

/** PEM text of a certificate: 64 base64 characters a line and the trailing newline, as cfssl and OpenSSL write it. */
export function certificatePem(cert: CertificateDer): string {
  return toPem("CERTIFICATE", new Uint8Array(cert.rawData));
}
