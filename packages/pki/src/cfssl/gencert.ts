import { type Signer, cfsslValidity, certificatePem, issueCertificate, outlivesCaWarning, parseCertificate } from "../certificate.js";
import { createCsr, csrPem, parseCsr } from "../csr.js";
import { HOUR_MS } from "../duration.js";
import { PkiError } from "../errors.js";
import { describeCertificate, keyMatchesCertificate } from "../inspect.js";
import { KeyPair } from "../keys.js";
import type { SubjectName } from "../name.js";
import { type SubjectAltNames, classifyHosts, noSans } from "../san.js";
import { x509 } from "../x509.js";
import type { SigningProfile } from "./config-json.js";
import { type CfsslCsrRequest, csrSubject } from "./csr-json.js";

/** What `cfssl gencert` prints: the PEM certificate, CSR and private key. */
export interface GencertResult {
  cert: string;
  csr: string;
  key: string;
  /** Things a careful operator should know (a leaf capped at its CA's expiry, no hosts). */
  warnings: string[];
}

const CA_DEFAULT_EXPIRY_MS = 43_800 * HOUR_MS;

/**
 * `cfssl gencert -initca`: a new key and a self-signed CA, valid `ca.expiry` (default 43800h, cfssl's
 * 5 years), with cfssl's quirk kept: a CA keeps the IP SANs of `hosts` and drops the others.
 */
export async function gencertInitCa(req: CfsslCsrRequest, now: Date = new Date()): Promise<GencertResult> {
  const key = await KeyPair.generate(req.key);
  const subject = csrSubject(req);
  const sans = classifyHosts(req.hosts, { field: "hosts" });
  const csr = await createCsr(subject, sans, key);
  const cert = await issueCertificate(
    {
      subject,
      publicKey: key.publicKey,
      sans: { ...noSans(), ip: sans.ip },
      validity: cfsslValidity(now, req.ca?.expiryMs ?? CA_DEFAULT_EXPIRY_MS),
      ca: req.ca?.pathLen === undefined ? {} : { pathLen: req.ca.pathLen },
    },
    { selfKey: key },
  );
  return { cert: certificatePem(cert), csr: csrPem(csr), key: key.privateKeyPem(), warnings: [] };
}

/** `cfssl gencert -ca -ca-key`: a new key, its CSR, and a certificate signed under `profile`. */
export async function gencert(
  req: CfsslCsrRequest,
  signer: Signer,
  profile: SigningProfile,
  options: { hostnames?: string[]; now?: Date } = {},
): Promise<GencertResult> {
  const key = await KeyPair.generate(req.key);
  const subject = csrSubject(req);
  const csrSans = classifyHosts(req.hosts, { field: "hosts" });
  const csr = await createCsr(subject, csrSans, key);
  const sans = options.hostnames ? classifyHosts(options.hostnames, { field: "-hostname" }) : csrSans;
  const { cert, warnings } = await signUnderProfile(subject, key.publicKey, sans, signer, profile, options.now ?? new Date());
  return { cert, csr: csrPem(csr), key: key.privateKeyPem(), warnings };
}

/** `cfssl sign`: signs an existing PEM CSR under `profile`; its SANs are kept unless `hostnames` replace them. */
export async function signCsr(
  csrText: string,
  signer: Signer,
  profile: SigningProfile,
  options: { hostnames?: string[]; now?: Date; file?: string } = {},
): Promise<{ cert: string; warnings: string[] }> {
  const parsed = await parseCsr(csrText, options.file === undefined ? {} : { file: options.file });
  const sans = options.hostnames ? classifyHosts(options.hostnames, { field: "-hostname" }) : parsed.sans;
  return signUnderProfile(parsed.csr.subjectName, parsed.publicKey, sans, signer, profile, options.now ?? new Date());
}

async function signUnderProfile(
  subject: x509.Name | SubjectName,
  publicKey: CryptoKey,
  sans: SubjectAltNames,
  signer: Signer,
  profile: SigningProfile,
  now: Date,
): Promise<{ cert: string; warnings: string[] }> {
  const validity = cfsslValidity(now, profile.expiryMs);
  const cert = await issueCertificate({ subject, publicKey, sans, validity, usages: profile.usages, ...(profile.ca ? { ca: profile.ca } : {}) }, signer);
  const warnings = outlivesCaWarning("the certificate", cert.notAfter, signer.cert);
  if (sans.dns.length + sans.ip.length + sans.email.length + sans.uri.length === 0 && profile.usages.extKeyUsage.includes("1.3.6.1.5.5.7.3.1")) {
    warnings.push('no "hosts": a server certificate without SANs is refused by every Go client');
  }
  return { cert: certificatePem(cert), warnings };
}

/**
 * Loads a CA for signing from PEM texts, checking what cfssl doesn't: the key must be the
 * certificate's, the certificate a CA, and not expired at `now`.
 */
export async function loadSigner(certPem: string, keyPem: string, files: { cert: string; key: string }, now: Date = new Date()): Promise<Signer> {
  const cert = parseCertificate(certPem, { file: files.cert });
  const key = await KeyPair.fromPem(keyPem, { file: files.key });
  if (!(await keyMatchesCertificate(key, cert))) {
    throw new PkiError(`${files.key}: the CA key does not match the CA certificate ${files.cert}`, { hint: "pass the key that was made with this CA" });
  }
  const info = await describeCertificate(cert);
  if (!info.isCA) throw new PkiError(`${files.cert}: not a CA certificate (BasicConstraints CA:FALSE or absent)`);
  if (now > cert.notAfter)
    throw new PkiError(`${files.cert}: the CA expired on ${cert.notAfter.toISOString()}`, { hint: "make a new CA, or renew it with the same key" });
  if (now < cert.notBefore) throw new PkiError(`${files.cert}: the CA is not valid before ${cert.notBefore.toISOString()} (clock skew?)`);
  return { cert, key };
}
