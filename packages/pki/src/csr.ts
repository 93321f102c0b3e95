import { InputError, type InputLocation } from "./errors.js";
import { KeyPair, signatureParams } from "./keys.js";
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

/** Makes a PKCS#10 CSR for `key`, carrying its SANs in an extensionRequest as cfssl's CSRs do. */
export async function createCsr(subject: SubjectName, sans: SubjectAltNames, key: KeyPair): Promise<x509.Pkcs10CertificateRequest> {
  const list = toGeneralNames(sans);
  return x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: toX509Name(subject),
      keys: { privateKey: key.privateKey, publicKey: key.publicKey },
      signingAlgorithm: signatureParams(key.spec),
      extensions: list.length > 0 ? [new x509.SubjectAlternativeNameExtension(list)] : [],
    },
    crypto,
  );
}

/** Parses a PEM CSR and verifies its signature: a CSR whose signature doesn't hold is refused. `where` names it in errors. */
export async function parseCsr(pem: string, where: InputLocation = {}): Promise<ParsedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (cause) {
    throw new InputError("not a readable PKCS#10 certificate request", where, { cause });
  }
  if (!(await csr.verify(crypto))) throw new InputError("the certificate request's signature does not verify", where);
  const publicKey = await csr.publicKey.export(crypto);
  const sanExt = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
  return { csr, subject: fromX509Name(csr.subjectName), sans: sansOf(sanExt), publicKey };
}

/** PEM text of a CSR. */
export function csrPem(csr: x509.Pkcs10CertificateRequest): string {
  return `${csr.toString("pem").replace(/\r\n/g, "\n").trimEnd()}\n`;
}
