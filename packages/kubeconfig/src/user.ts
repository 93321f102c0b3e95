import { join } from "node:path";
import {
  KeyPair,
  type Signer,
  certificatePem,
  issueCertificate,
  kubeadmValidity,
  loadSigner,
  parseUsages,
  readIfExists,
  InputError,
  HOUR_MS,
} from "@dk-bootstrap/pki";
import { DEFAULT_KUBECONFIG_SPEC, type KubeconfigSpec, embeddedKubeconfig } from "./components.js";
import type { Config } from "./model.js";
import { parseKubeconfig } from "./yaml.js";

/** Options of {@link userKubeconfig}: kubeadm kubeconfig user's flags. */
export interface UserKubeconfigOptions {
  /** The user's name: the certificate's CN. */
  clientName: string;
  /** Groups: the certificate's O values. */
  orgs?: string[];
  /** Certificate validity (default 8760h). */
  validityMs?: number;
  /** Cluster name and server; by default those of `<dir>/admin.conf`, else the workshop's. */
  spec?: KubeconfigSpec;
  now?: Date;
}

/**
 * kubeadm's `kubeconfig user`: a new key and a client certificate signed by the cluster CA of the
 * cluster folder `dir`, in a kubeconfig that embeds them, for a user who is not a component.
 */
export async function userKubeconfig(dir: string, o: UserKubeconfigOptions): Promise<Config> {
  if (!o.clientName) throw new InputError("a client name is needed", { field: "--client-name" });
  const now = o.now ?? new Date();
  const files = { cert: join(dir, "pki", "ca.crt"), key: join(dir, "pki", "ca.key") };
  const [caPem, keyPem] = await Promise.all([readIfExists(files.cert), readIfExists(files.key)]);
  if (caPem === undefined || keyPem === undefined)
    throw new InputError(
      "no cluster CA here (pki/ca.crt and pki/ca.key)",
      { file: dir },
      { hint: "run `dk-bootstrap certs --dir DIR` first, or point --dir at the cluster folder" },
    );
  const signer: Signer = await loadSigner(caPem, keyPem, files, now);
  const spec = o.spec ?? (await specOfAdminConf(dir)) ?? DEFAULT_KUBECONFIG_SPEC;
  const key = await KeyPair.generate(signer.key.spec);
  const cert = await issueCertificate(
    {
      subject: { CN: o.clientName, ...(o.orgs?.length ? { O: o.orgs } : {}) },
      publicKey: key.publicKey,
      validity: kubeadmValidity(now, o.validityMs ?? 8760 * HOUR_MS),
      usages: parseUsages(["digital signature", "key encipherment", "client auth"]),
    },
    signer,
  );
  return embeddedKubeconfig(spec, o.clientName, { ca: caPem, cert: certificatePem(cert), key: key.privateKeyPem() });
}

async function specOfAdminConf(dir: string): Promise<KubeconfigSpec | undefined> {
  const path = join(dir, "admin.conf");
  const text = await readIfExists(path);
  if (text === undefined) return undefined;
  const cluster = parseKubeconfig(text, path).clusters?.[0];
  return cluster ? { clusterName: cluster.name, server: cluster.cluster.server } : undefined;
}
