import { certificatePem, issueCertificate, kubeadmValidity, parseCertificate } from "../certificate.js";
import { InputError, PkiError } from "../errors.js";
import { describeCertificate } from "../inspect.js";
import { KeyPair } from "../keys.js";
import { readIfExists, writeFileAtomic } from "../store.js";
import { parseUsages } from "../usages.js";
import { x509 } from "../x509.js";
import { LEAF_DEFS } from "./certlist.js";
import { certPaths } from "./layout.js";
import { loadSigner } from "../cfssl/gencert.js";

/** Options of {@link renewCertificates}. */
export interface RenewOptions {
  /** Validity of the renewed certificates, in ms (default 8760h). */
  validityMs?: number;
  now?: Date;
}

/** What renewing one certificate did. */
export interface RenewResult {
  name: string;
  notAfter: Date;
  warnings: string[];
}

/**
 * kubeadm's `certs renew NAME|all`: each certificate is re-issued with a new key of the same
 * algorithm, and the existing certificate is the source of truth for its subject, SANs and usages.
 * CAs are never renewed (CA rotation is a manual operation).
 */
export async function renewCertificates(dir: string, which: string, options: RenewOptions = {}): Promise<RenewResult[]> {
  const now = options.now ?? new Date();
  const defs = which === "all" ? LEAF_DEFS : LEAF_DEFS.filter((d) => d.name === which);
  if (defs.length === 0) {
    throw new InputError(`unknown certificate; renewable: all, ${LEAF_DEFS.map((d) => d.name).join(", ")}`, { field: "NAME", value: which }, { hint: "CAs are never renewed: rotating a CA means re-issuing everything it signed" });
  }
  const results: RenewResult[] = [];
  for (const def of defs) {
    const p = certPaths(dir, def.name);
    const pem = await readIfExists(p.crt);
    if (pem === undefined) {
      if (which === "all") continue;
      throw new PkiError(`${p.crt}: missing, nothing to renew`, { hint: "run `dk-bootstrap certs` to make it" });
    }
    const caPaths = certPaths(dir, def.ca!);
    const [caCert, caKey] = await Promise.all([readIfExists(caPaths.crt), readIfExists(caPaths.key)]);
    if (caCert === undefined || caKey === undefined) throw new PkiError(`${caPaths.key}: the CA key is missing, ${def.name} must be renewed where the CA is`);
    const signer = await loadSigner(caCert, caKey, { cert: caPaths.crt, key: caPaths.key }, now);
    const old = parseCertificate(pem);
    const info = await describeCertificate(old);
    const oldKeyPem = await readIfExists(p.key);
    const key = await KeyPair.generate(oldKeyPem ? (await KeyPair.fromPem(oldKeyPem, { file: p.key })).spec : signer.key.spec);
    const cert = await issueCertificate(
      {
        subject: old.subjectName,
        publicKey: key.publicKey,
        sans: info.sans,
        validity: kubeadmValidity(now, options.validityMs ?? 8760 * 3_600_000),
        usages: { keyUsage: old.getExtension(x509.KeyUsagesExtension)?.usages ?? 0, extKeyUsage: parseUsages(info.extKeyUsage).extKeyUsage },
      },
      signer,
    );
    await writeFileAtomic(p.key, key.privateKeyPem(), { mode: 0o600, dirMode: 0o700 });
    await writeFileAtomic(p.crt, certificatePem(cert), { mode: 0o644, dirMode: 0o700 });
    const warnings = cert.notAfter > signer.cert.notAfter ? [`${def.name} outlives its CA ${def.ca}, which ends ${signer.cert.notAfter.toISOString()}`] : [];
    results.push({ name: def.name, notAfter: cert.notAfter, warnings });
  }
  return results;
}
