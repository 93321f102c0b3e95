import { join } from "node:path";

/** Where a certificate and its key live in a cluster folder: `<dir>/pki/<name>.crt` and `.key`, as kubeadm lays out /etc/kubernetes. */
export function certPaths(dir: string, name: string): { crt: string; key: string } {
  return { crt: join(dir, "pki", `${name}.crt`), key: join(dir, "pki", `${name}.key`) };
}

/** The service-account key pair: `<dir>/pki/sa.key` and `sa.pub`. */
export function saPaths(dir: string): { key: string; pub: string } {
  return { key: join(dir, "pki", "sa.key"), pub: join(dir, "pki", "sa.pub") };
}
