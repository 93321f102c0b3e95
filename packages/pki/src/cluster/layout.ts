import { join } from "node:path";
import { SA_FILES, certFiles } from "./files.js";

/** Where a certificate and its key live in a cluster folder: `<dir>/pki/<name>.crt` and `.key`, as kubeadm lays out /etc/kubernetes. */
export function certPaths(dir: string, name: string): { crt: string; key: string } {
  const files = certFiles(name);
  return { crt: join(dir, files.crt), key: join(dir, files.key) };
}

/** The service-account key pair: `<dir>/pki/sa.key` and `sa.pub`. */
export function saPaths(dir: string): { key: string; pub: string } {
  return { key: join(dir, SA_FILES.key), pub: join(dir, SA_FILES.pub) };
}
