import { KeyPair, decodeText, fromBase64, parseCertificate, verifyChain, type x509 } from "@dk-bootstrap/pki";
import { type Config, entryIndex, findEntry } from "./model.js";

/** One problem found by {@link checkKubeconfig}, naming the entry it is about. */
export interface KubeconfigProblem {
  /** e.g. `contexts[admin]`, `users[admin].client-key-data`. */
  where: string;
  problem: string;
}

/** Reads a file a kubeconfig names (`certificate-authority`, `client-key`...): its text, or why it can't be read. */
export type KubeconfigFileReader = (path: string) => { text?: string; error?: string };

/** The reader where there are no files (a page): a kubeconfig that names one instead of embedding it is told so. */
export const noFileReader: KubeconfigFileReader = (path) => ({ error: `cannot read ${path}: files named in a kubeconfig are not readable here` });

/** Embedded data (base64), else the named file through `read`. */
export function dataOrFile(data: string | undefined, path: string | undefined, read: KubeconfigFileReader): { text?: string; error?: string } {
  if (data !== undefined) return { text: decodeText(fromBase64(data), "utf8") };
  if (path === undefined) return {};
  return read(path);
}

/**
 * Checks a kubeconfig offline: every context names an existing cluster and user, referenced files
 * exist (read through `read`; the Node entry's checkKubeconfig reads the disk), each client certificate matches its key, is valid at `now`, and is issued by the CA of every
 * cluster it is used with. Returns the problems; none means the file is usable.
 */
export async function checkKubeconfig(cfg: Config, now: Date = new Date(), read: KubeconfigFileReader = noFileReader): Promise<KubeconfigProblem[]> {
  const problems: KubeconfigProblem[] = [];
  const add = (where: string, problem: string) => problems.push({ where, problem });
  if (cfg["current-context"] && !findEntry(cfg, "contexts", cfg["current-context"]))
    add("current-context", `names the missing context "${cfg["current-context"]}"`);
  const cas = new Map<string, x509.X509Certificate>();
  for (const { name, cluster } of cfg.clusters ?? []) {
    if (!cluster.server) add(`clusters[${name}].server`, "is empty");
    const ca = dataOrFile(cluster["certificate-authority-data"], cluster["certificate-authority"], read);
    if (ca.error) add(`clusters[${name}].certificate-authority`, ca.error);
    else if (ca.text !== undefined) {
      try {
        cas.set(name, parseCertificate(ca.text));
      } catch {
        add(`clusters[${name}].certificate-authority`, "is not a PEM certificate");
      }
    }
  }
  const clients = new Map<string, x509.X509Certificate>();
  for (const { name, user } of cfg.users ?? []) {
    const cert = dataOrFile(user["client-certificate-data"], user["client-certificate"], read);
    const key = dataOrFile(user["client-key-data"], user["client-key"], read);
    for (const [what, r] of [
      ["client-certificate", cert],
      ["client-key", key],
    ] as const)
      if (r.error) add(`users[${name}].${what}`, r.error);
    if (cert.text === undefined || key.text === undefined) {
      if ((cert.text === undefined) !== (key.text === undefined)) add(`users[${name}]`, "has a client certificate or key without the other");
      continue;
    }
    try {
      const c = parseCertificate(cert.text);
      const k = await KeyPair.fromPem(key.text);
      if (!(await k.matches(c.publicKey.rawData))) add(`users[${name}].client-key`, "does not match the client certificate");
      if (now < c.notBefore || now > c.notAfter)
        add(`users[${name}].client-certificate`, `is not valid now (${c.notBefore.toISOString()} to ${c.notAfter.toISOString()})`);
      clients.set(name, c);
    } catch (e) {
      add(`users[${name}]`, (e as Error).message);
    }
  }
  const clusterNames = entryIndex(cfg, "clusters");
  const userNames = entryIndex(cfg, "users");
  for (const { name, context } of cfg.contexts ?? []) {
    if (!clusterNames.has(context.cluster)) add(`contexts[${name}].cluster`, `names the missing cluster "${context.cluster}"`);
    if (!userNames.has(context.user)) add(`contexts[${name}].user`, `names the missing user "${context.user}"`);
    const ca = cas.get(context.cluster);
    const client = clients.get(context.user);
    if (ca && client) {
      const chain = await verifyChain(client, [ca], [], now);
      if (chain.length > 0) add(`contexts[${name}]`, `user "${context.user}" is not issued by cluster "${context.cluster}"'s CA: ${chain[0]}`);
    }
  }
  return problems;
}
