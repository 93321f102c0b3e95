import { InputError, type InputLocation } from "./errors.js";
import { KeyPair, signatureParams } from "./keys.js";
import { pemBlockDer, readEveryPart } from "./pem.js";
import { type SubjectName, fromX509Name, toX509Name } from "./name.js";
import { type SubjectAltNames, sansOf, toGeneralNames } from "./san.js";
import { crypto, x509 } from "./x509.js";

/** A PKCS#10 request, parsed and with its self-signature checked. */
export interface ParsedCsr {
  csr: x509.Pkcs10CertificateRequest;
  subject: SubjectName;
  sans: SubjectAltNames;
  publicKey: CryptoKey;
}

/**
 * Makes a PKCS#10 CSR for `key`, carrying its SANs in an extensionRequest as cfssl's CSRs do. With `ca`, it also
 * asks for a CA (BasicConstraints CA:TRUE, critical, with the path length if any), as cfssl's CSR for a CA JSON
 * with a `ca` section does (csr.go appendCAInfoToCSR).
 */
export async function createCsr(
  subject: SubjectName,
  sans: Partial<SubjectAltNames>,
  key: KeyPair,
  ca?: { pathLen?: number },
): Promise<x509.Pkcs10CertificateRequest> {
  const list = toGeneralNames(sans);
  const extensions: x509.Extension[] = list.length > 0 ? [new x509.SubjectAlternativeNameExtension(list)] : [];
  if (ca) extensions.push(new x509.BasicConstraintsExtension(true, ca.pathLen, true));
  return x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: toX509Name(subject),
      keys: { privateKey: key.privateKey, publicKey: key.publicKey },
      signingAlgorithm: signatureParams(key.spec),
      extensions,
    },
    crypto,
  );
}

/**
 * Parses a PEM CSR (`CERTIFICATE REQUEST`, or the older `NEW CERTIFICATE REQUEST`) and verifies its
 * signature: a CSR that is damaged anywhere, or whose signature doesn't hold, is refused. `where` names it in errors.
 */
export async function parseCsr(pem: string, where: InputLocation = {}): Promise<ParsedCsr> {
  const der = pemBlockDer(pem, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"], "certificate request", where);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (cause) {
    throw new InputError("not a readable PKCS#10 certificate request: its DER structure is malformed", where, { cause });
  }
  const sanExt = () => csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
  readEveryPart("certificate request", where, {
    "its subject": () => fromX509Name(csr.subjectName) && csr.subject,
    "its signature algorithm": () => csr.signatureAlgorithm,
    "its attributes": () => csr.attributes,
    "an extension": () => sansOf(sanExt()),
  });
  let publicKey: CryptoKey;
  try {
    publicKey = await csr.publicKey.export(crypto);
  } catch (cause) {
    throw new InputError("malformed certificate request: its public key is damaged or of an unsupported kind (RSA, ECDSA P-256/384/521, Ed25519)", where, {
      cause,
    });
  }
  if (!(await verifies(csr))) throw new InputError("the certificate request's signature does not verify", where);
  return { csr, subject: fromX509Name(csr.subjectName), sans: sansOf(sanExt()), publicKey };
}

/** The CSR's self-signature holds; a signature WebCrypto can't even check (a damaged one) does not. */
async function verifies(csr: x509.Pkcs10CertificateRequest): Promise<boolean> {
  try {
    return await csr.verify(crypto);
  } catch {
    return false;
  }
}

/** PEM text of a CSR. */
export function csrPem(csr: x509.Pkcs10CertificateRequest): string {
  return `${csr.toString("pem").replace(/\r\n/g, "\n").trimEnd()}\n`;
}
