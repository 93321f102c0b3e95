// Where each file of the cluster PKI lives, relative to the cluster folder, as kubeadm lays out /etc/kubernetes:
// one list for the folder on disk (layout.ts joins it to the folder) and for the PKI made in memory (make.ts).

/** A certificate's and its key's paths under the cluster folder: `pki/<name>.crt` and `pki/<name>.key`. */
export function certFiles(name: string): { crt: string; key: string } {
  return { crt: `pki/${name}.crt`, key: `pki/${name}.key` };
}

/** The service-account key pair's paths under the cluster folder. */
export const SA_FILES: Readonly<{ key: string; pub: string }> = { key: "pki/sa.key", pub: "pki/sa.pub" };

/** The mode of a private key's file (and of a kubeconfig, which embeds one). */
export const KEY_MODE = 0o600;
/** The mode of a certificate's or a public key's file. */
export const CERT_MODE = 0o644;
