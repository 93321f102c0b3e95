import { readFileSync } from "node:fs";
import { isIP } from "@dk-bootstrap/pki";
import { type KubeconfigFileReader, type KubeconfigProblem, checkKubeconfig as checkWith, dataOrFile } from "./check-offline.js";
import { type Config, findEntry } from "./model.js";

/** Reads the files a kubeconfig names from the disk. */
const diskReader: KubeconfigFileReader = (path) => {
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (e) {
    return { error: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
};

/**
 * Checks a kubeconfig offline: every context names an existing cluster and user, referenced files
 * exist, each client certificate matches its key, is valid at `now`, and is issued by the CA of every
 * cluster it is used with. Returns the problems; none means the file is usable.
 */
export function checkKubeconfig(cfg: Config, now: Date = new Date()): Promise<KubeconfigProblem[]> {
  return checkWith(cfg, now, diskReader);
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
  const ca = dataOrFile(cluster["certificate-authority-data"], cluster["certificate-authority"], diskReader).text;
  const cert = dataOrFile(user["client-certificate-data"], user["client-certificate"], diskReader).text;
  const key = dataOrFile(user["client-key-data"], user["client-key"], diskReader).text;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const servername = cluster["tls-server-name"] ?? host;
  // Loaded here, not with the package: node:tls costs every command that imports it ~3 ms at start, and only this connects.
  const { checkServerIdentity, connect } = await import("node:tls");
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
