import { type Signer, cfsslValidity, certificatePem, issueCertificate, outlivesCaWarning, parseCertificate } from "../certificate.js";
import { createCsr, csrPem, parseCsr } from "../csr.js";
import { HOUR_MS } from "../duration.js";
import { InputError, PkiError } from "../errors.js";
import { describeCertificate, keyMatchesCertificate } from "../inspect.js";
import { KeyPair } from "../keys.js";
import { goCanonicalName, toX509Name } from "../name.js";
import { type SubjectAltNames, classifyHosts, noSans } from "../san.js";
import { x509 } from "../x509.js";
import { type SigningProfile, SigningPolicyError } from "./config-json.js";
import { type CfsslCsrRequest, type CfsslSubject, csrSubject } from "./csr-json.js";

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
 * 5 years), with cfssl's quirk kept: a CA keeps the IP SANs of `hosts` and drops the others. `hostnames`
 * (`-hostname`) replace the JSON's hosts, in the CSR as in the certificate; a `ca` section asks for a CA in the CSR.
 */
export async function gencertInitCa(req: CfsslCsrRequest, now: Date = new Date(), hostnames?: string[]): Promise<GencertResult> {
  // cfssl's initca validator: a CA needs a subject (a CN or a names value); an empty one is refused before any key is made.
  if (req.CN === "" && req.names.every((n) => Object.values(n).every((v) => v === undefined || v === "")))
    throw new InputError("missing subject information: a CA needs a CN or a names entry, as cfssl requires", { field: "CN" });
  const key = await KeyPair.generate(req.key);
  const subject = csrSubject(req);
  const sans = classifyHosts(req.hosts, { field: "hosts" });
  const ca = req.ca?.pathLen === undefined ? {} : { pathLen: req.ca.pathLen };
  // cfssl puts -hostname's hosts in the CSR only; the certificate keeps the IP addresses of the JSON's hosts.
  const csr = await createCsr(subject, hostnames ? classifyHosts(hostnames, { field: "-hostname" }) : sans, key, req.ca ? ca : undefined);
  const cert = await issueCertificate(
    { subject, publicKey: key.publicKey, sans: { ...noSans(), ip: sans.ip }, validity: cfsslValidity(now, req.ca?.expiryMs ?? CA_DEFAULT_EXPIRY_MS), ca },
    { selfKey: key },
  );
  return { cert: certificatePem(cert), csr: csrPem(csr), key: key.privateKeyPem(), warnings: [] };
}

/** `cfssl genkey` (without -initca): a new key and its CSR, no certificate; a `ca` section is refused, as cfssl refuses it. */
export async function genkey(req: CfsslCsrRequest): Promise<{ csr: string; key: string }> {
  if (req.ca) throw new InputError("a ca section is only read with -initca", { field: "ca" });
  const key = await KeyPair.generate(req.key);
  const csr = await createCsr(csrSubject(req), classifyHosts(req.hosts, { field: "hosts" }), key);
  return { csr: csrPem(csr), key: key.privateKeyPem() };
}

/**
 * `cfssl gencert -ca -ca-key`: a new key, its CSR, and a certificate signed under `profile`. A JSON with a `ca`
 * section is refused, as cfssl refuses it.
 */
export async function gencert(
  req: CfsslCsrRequest,
  signer: Signer,
  profile: SigningProfile,
  options: { hostnames?: string[]; now?: Date } = {},
): Promise<GencertResult> {
  // cfssl: "ca section only permitted in initca" (cli/gencert); an intermediate CA is a ca_constraint profile's.
  if (req.ca) throw new InputError("a ca section is only read by gencert -initca: sign an intermediate CA under a ca_constraint profile", { field: "ca" });
  const key = await KeyPair.generate(req.key);
  const subject = csrSubject(req);
  // cfssl sets the request's hosts to -hostname's before it makes the CSR: the CSR printed carries them, as the certificate.
  const sans = options.hostnames ? classifyHosts(options.hostnames, { field: "-hostname" }) : classifyHosts(req.hosts, { field: "hosts" });
  const csr = await createCsr(subject, sans, key);
  const { cert, warnings } = await signUnderProfile(toX509Name(subject), key.publicKey, sans, signer, profile, options.now ?? new Date());
  return { cert, csr: csrPem(csr), key: key.privateKeyPem(), warnings };
}

/**
 * `cfssl sign`: signs an existing PEM CSR under `profile`. The subject is written as cfssl writes it (Go's
 * order and string types, see {@link goCanonicalName}); the CSR's SANs are kept unless `hostnames` replace them;
 * its other requested extensions are ignored, but a request for a CA is checked against the policy.
 */
export async function signCsr(
  csrText: string,
  signer: Signer,
  profile: SigningProfile,
  options: { hostnames?: string[]; now?: Date; file?: string; subject?: CfsslSubject } = {},
): Promise<{ cert: string; warnings: string[] }> {
  const parsed = await parseCsr(csrText, options.file === undefined ? {} : { file: options.file });
  const bc = parsed.csr.extensions.find((e): e is x509.BasicConstraintsExtension => e instanceof x509.BasicConstraintsExtension);
  checkCaRequest(bc?.ca ? { pathLen: bc.pathLength ?? -1 } : undefined, signer, profile);
  const sans = options.hostnames ? classifyHosts(options.hostnames, { field: "-hostname" }) : parsed.sans;
  const subject = goCanonicalName(parsed.csr.subjectName, options.subject && subjectValues(options.subject));
  return signUnderProfile(subject, parsed.publicKey, sans, signer, profile, options.now ?? new Date());
}

/** A SUBJECT file's values by OID, as signer.Subject.Name() reads them (empty values skipped). */
function subjectValues(s: CfsslSubject): Map<string, string[]> {
  const out = new Map<string, string[]>([
    ["2.5.4.3", [s.CN]],
    ["2.5.4.5", [s.SerialNumber]],
  ]);
  const oids = { C: "2.5.4.6", ST: "2.5.4.8", L: "2.5.4.7", O: "2.5.4.10", OU: "2.5.4.11" } as const;
  for (const n of s.names) for (const [k, oid] of Object.entries(oids)) out.set(oid, [...(out.get(oid) ?? []), n[k as keyof typeof oids] ?? ""]);
  for (const [oid, v] of out)
    out.set(
      oid,
      v.filter((x) => x !== ""),
    );
  return out;
}

/**
 * cfssl's policy for a CSR that asks to be a CA (local.go Sign): only a `ca_constraint` profile may sign it, and
 * never past the signer's own path length. A CSR that does not ask is signed as the profile says.
 */
function checkCaRequest(request: { pathLen: number } | undefined, signer: Signer, profile: SigningProfile): void {
  if (!request) return;
  if (!profile.ca)
    throw new SigningPolicyError("policy violation: the CSR asks for a CA certificate and the profile is not a CA profile (ca_constraint.is_ca)");
  const own = signer.cert.getExtension(x509.BasicConstraintsExtension)?.pathLength;
  if (own === 0 || (own !== undefined && request.pathLen >= own)) {
    throw new SigningPolicyError(`policy violation: the CSR asks for a CA with path length ${request.pathLen}, and the signing CA allows ${own} below it`);
  }
}

async function signUnderProfile(
  subject: x509.Name,
  publicKey: CryptoKey,
  requested: SubjectAltNames,
  signer: Signer,
  profile: SigningProfile,
  now: Date,
): Promise<{ cert: string; warnings: string[] }> {
  // cfssl's CA profiles drop DNS, email and URI SANs and keep IP ones (signer.go FillTemplate).
  const sans = profile.ca ? { ...noSans(), ip: requested.ip } : requested;
  checkWhitelist(profile, subject, sans);
  const validity = cfsslValidity(now, profile.expiryMs, profile.backdateMs);
  const cert = await issueCertificate(
    { subject, publicKey, sans, validity, usages: profile.usages, ...(profile.ca ? { ca: profile.ca, exactCaUsages: true } : {}) },
    signer,
  );
  const warnings = outlivesCaWarning("the certificate", cert.notAfter, signer.cert);
  if (sans.dns.length + sans.ip.length + sans.email.length + sans.uri.length === 0 && profile.usages.extKeyUsage.includes("1.3.6.1.5.5.7.3.1")) {
    warnings.push('no "hosts": a server certificate without SANs is refused by every Go client');
  }
  return { cert: certificatePem(cert), warnings };
}

/** cfssl's `name_whitelist`: the CN (when there is one), every DNS name and every email address must match. */
function checkWhitelist(profile: SigningProfile, subject: x509.Name, sans: SubjectAltNames): void {
  const re = profile.nameWhitelist;
  if (!re) return;
  const cn = subject.getField("CN").pop();
  for (const name of [...(cn ? [cn] : []), ...sans.dns, ...sans.email]) {
    if (!re.test(name)) throw new SigningPolicyError(`policy violation: "${name}" does not match the profile's name_whitelist ${re.source}`);
  }
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
