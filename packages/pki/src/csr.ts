import { PkiError } from "./errors.js";
import { KeyPair, signatureParams } from "./keys.js";
import { type SubjectName, fromX509Name, toX509Name } from "./name.js";
import { noSans, type SubjectAltNames, toGeneralNames } from "./san.js";
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

/** Parses a PEM CSR and verifies its signature: a CSR whose signature doesn't hold is refused. */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (cause) {
    throw new PkiError("not a readable PKCS#10 certificate request", { cause });
  }
  if (!(await csr.verify(crypto))) throw new PkiError("the certificate request's signature does not verify");
  const publicKey = await csr.publicKey.export(crypto);
  return { csr, subject: fromX509Name(csr.subjectName), sans: sansOf(csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension) ?? null), publicKey };
}

/** Splits a SAN extension (of a certificate or a CSR) by kind. */
export function sansOf(ext: x509.SubjectAlternativeNameExtension | null): SubjectAltNames {
  const sans = noSans();
  for (const n of ext?.names.items ?? []) {
    if (n.type === "dns") sans.dns.push(n.value);
    else if (n.type === "ip") sans.ip.push(n.value);
    else if (n.type === "email") sans.email.push(n.value);
    else if (n.type === "url") sans.uri.push(n.value);
  }
  return sans;
}

/** PEM text of a CSR. */
export function csrPem(csr: x509.Pkcs10CertificateRequest): string {
  return `${csr.toString("pem").replace(/\r\n/g, "\n").trimEnd()}\n`;
}
