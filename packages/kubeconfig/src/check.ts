import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { checkServerIdentity, connect } from "node:tls";
import { KeyPair, parseCertificate, verifyChain, type x509 } from "@dk-bootstrap/pki";
import { type Config, entryIndex, findEntry } from "./model.js";

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
  if (cfg["current-context"] && !findEntry(cfg, "contexts", cfg["current-context"]))
    add("current-context", `names the missing context "${cfg["current-context"]}"`);
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

/**
 * Connects to the server of a context (the current one by default) and checks what a client would:
 * the TLS handshake, the server's certificate against the cluster's CA and server name (or
 * tls-server-name), and the client certificate being accepted. Resolves to the problems found.
 */
export async function connectCheck(cfg: Config, contextName = cfg["current-context"], timeoutMs = 5000): Promise<KubeconfigProblem[]> {
  const where = `contexts[${contextName}]`;
  const ctx = findEntry(cfg, "contexts", contextName);
  const cluster = ctx && findEntry(cfg, "clusters", ctx.context.cluster)?.cluster;
  if (!ctx || !cluster) return [{ where, problem: "no such context, or its cluster is missing" }];
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    return [{ where: `clusters[${ctx.context.cluster}].server`, problem: `not a URL: ${cluster.server}` }];
  }
  if (url.protocol !== "https:") return [{ where: `clusters[${ctx.context.cluster}].server`, problem: "not an https:// URL" }];
  const user = findEntry(cfg, "users", ctx.context.user)?.user ?? {};
  const ca = bytes(cluster["certificate-authority-data"], cluster["certificate-authority"]).text;
  const cert = bytes(user["client-certificate-data"], user["client-certificate"]).text;
  const key = bytes(user["client-key-data"], user["client-key"]).text;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const servername = cluster["tls-server-name"] ?? host;
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      ...(isIP(servername) ? {} : { servername }),
      rejectUnauthorized: !cluster["insecure-skip-tls-verify"],
      checkServerIdentity: (_host, peer) => checkServerIdentity(servername, peer),
    });
    const done = (problems: KubeconfigProblem[]) => {
      socket.destroy();
      resolve(problems);
    };
    socket.setTimeout(timeoutMs, () => done([{ where, problem: `${cluster.server}: no TLS handshake within ${timeoutMs} ms` }]));
    // A server that refuses the client certificate closes the connection right after the handshake (TLS 1.3): wait for data or close.
    socket.once("secureConnect", () => {
      socket.write(`GET /version HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
    });
    socket.once("data", () => done([]));
    socket.once("error", (e) => done([{ where, problem: `${cluster.server}: ${e.message}` }]));
    socket.once("end", () => done([{ where, problem: `${cluster.server}: the server closed the connection (client certificate refused?)` }]));
  });
}
