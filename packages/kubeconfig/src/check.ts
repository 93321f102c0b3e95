import { readFileSync } from "node:fs";
import { KeyPair, parseCertificate, verifyChain, type x509 } from "@dk-bootstrap/pki";
import { type Config, findEntry } from "./model.js";

/** One problem found by {@link checkKubeconfig}, naming the entry it is about. */
export interface KubeconfigProblem {
  /** e.g. `contexts[admin]`, `users[admin].client-key-data`. */
  where: string;
  problem: string;
}

function bytes(data: string | undefined, path: string | undefined): { text?: string; error?: string } {
  if (data !== undefined) return { text: Buffer.from(data, "base64").toString("utf8") };
  if (path === undefined) return {};
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (e) {
    return { error: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
}

/**
 * Checks a kubeconfig offline: every context names an existing cluster and user, referenced files
 * exist, each client certificate matches its key, is valid at `now`, and is issued by the CA of every
 * cluster it is used with. Returns the problems; none means the file is usable.
 */
export async function checkKubeconfig(cfg: Config, now: Date = new Date()): Promise<KubeconfigProblem[]> {
  const problems: KubeconfigProblem[] = [];
  const add = (where: string, problem: string) => problems.push({ where, problem });
  if (cfg["current-context"] && !findEntry(cfg, "contexts", cfg["current-context"])) add("current-context", `names the missing context "${cfg["current-context"]}"`);
  const cas = new Map<string, x509.X509Certificate>();
  for (const { name, cluster } of cfg.clusters ?? []) {
    if (!cluster.server) add(`clusters[${name}].server`, "is empty");
    const ca = bytes(cluster["certificate-authority-data"], cluster["certificate-authority"]);
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
    const cert = bytes(user["client-certificate-data"], user["client-certificate"]);
    const key = bytes(user["client-key-data"], user["client-key"]);
    for (const [what, r] of [["client-certificate", cert], ["client-key", key]] as const) if (r.error) add(`users[${name}].${what}`, r.error);
    if (cert.text === undefined || key.text === undefined) {
      if ((cert.text === undefined) !== (key.text === undefined)) add(`users[${name}]`, "has a client certificate or key without the other");
      continue;
    }
    try {
      const c = parseCertificate(cert.text);
      const k = await KeyPair.fromPem(key.text);
      if (!(await k.matches(c.publicKey.rawData))) add(`users[${name}].client-key`, "does not match the client certificate");
      if (now < c.notBefore || now > c.notAfter) add(`users[${name}].client-certificate`, `is not valid now (${c.notBefore.toISOString()} to ${c.notAfter.toISOString()})`);
      clients.set(name, c);
    } catch (e) {
      add(`users[${name}]`, (e as Error).message);
    }
  }
  for (const { name, context } of cfg.contexts ?? []) {
    if (!findEntry(cfg, "clusters", context.cluster)) add(`contexts[${name}].cluster`, `names the missing cluster "${context.cluster}"`);
    if (!findEntry(cfg, "users", context.user)) add(`contexts[${name}].user`, `names the missing user "${context.user}"`);
    const ca = cas.get(context.cluster);
    const client = clients.get(context.user);
    if (ca && client) {
      const chain = await verifyChain(client, [ca], [], now);
      if (chain.length > 0) add(`contexts[${name}]`, `user "${context.user}" is not issued by cluster "${context.cluster}"'s CA: ${chain[0]}`);
    }
  }
  return problems;
}
