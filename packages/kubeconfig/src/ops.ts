import { readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { InputError } from "@dk-bootstrap/pki";
import { type AuthInfo, type Cluster, type Config, type Context, findEntry, putEntry, removeEntry } from "./model.js";

/** Reads a file to embed as kubectl does: the raw bytes, base64, no PEM check. */
function embed(path: string, flag: string): string {
  try {
    statSync(path);
  } catch {
    throw new InputError(`could not stat ${flag} file ${path}`, { field: `--${flag}` });
  }
  try {
    return readFileSync(path).toString("base64");
  } catch (e) {
    // kubectl embeds nothing from a folder and says nothing; an empty CA or key is never what was meant.
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "EISDIR" ? "it is a folder, not a file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new InputError(`could not read ${flag} file ${path}: ${why}`, { field: `--${flag}` });
  }
}

const abs = (p: string, cwd: string) => (isAbsolute(p) ? p : resolve(cwd, p));

/** The flags of `kubectl config set-cluster`. */
export interface SetClusterOptions {
  server?: string;
  certificateAuthority?: string;
  embedCerts?: boolean;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
  /** Folder relative paths are resolved against (the current folder). */
  cwd?: string;
}

/** `kubectl config set-cluster`, with its side effects: a new server clears tls-server-name, a CA clears insecure mode and vice versa. */
export function setCluster(cfg: Config, name: string, o: SetClusterOptions): void {
  const cwd = o.cwd ?? process.cwd();
  if (o.insecureSkipTlsVerify && o.certificateAuthority)
    throw new InputError("you cannot specify a certificate authority and insecure mode at the same time", { field: "--insecure-skip-tls-verify" });
  if (o.embedCerts && !o.certificateAuthority) throw new InputError("you must specify a --certificate-authority to embed", { field: "--embed-certs" });
  const c: Cluster = { ...(findEntry(cfg, "clusters", name)?.cluster ?? { server: "" }) };
  if (o.server !== undefined) {
    c.server = o.server;
    if (o.tlsServerName === undefined) delete c["tls-server-name"];
  }
  if (o.tlsServerName !== undefined) set(c, "tls-server-name", o.tlsServerName);
  if (o.proxyUrl !== undefined) set(c, "proxy-url", o.proxyUrl);
  if (o.insecureSkipTlsVerify !== undefined) {
    set(c, "insecure-skip-tls-verify", o.insecureSkipTlsVerify || undefined);
    if (o.insecureSkipTlsVerify) {
      delete c["certificate-authority"];
      delete c["certificate-authority-data"];
    }
  }
  if (o.certificateAuthority !== undefined) {
    const path = abs(o.certificateAuthority, cwd);
    if (o.embedCerts) {
      c["certificate-authority-data"] = embed(path, "certificate-authority");
      delete c["certificate-authority"];
    } else {
      c["certificate-authority"] = path;
      delete c["certificate-authority-data"];
    }
    delete c["insecure-skip-tls-verify"];
  }
  putEntry(cfg, "clusters", { name, cluster: c });
}

/** The flags of `kubectl config set-credentials`. */
export interface SetCredentialsOptions {
  clientCertificate?: string;
  clientKey?: string;
  embedCerts?: boolean;
  token?: string;
  username?: string;
  password?: string;
  authProvider?: string;
  /** `k=v` sets, `k-` removes. */
  authProviderArgs?: string[];
  execCommand?: string;
  execApiVersion?: string;
  /** Replaces the whole list, as kubectl does. */
  execArgs?: string[];
  /** `K=V` merges by name, `K-` removes. */
  execEnv?: string[];
  execInteractiveMode?: "Never" | "IfAvailable" | "Always";
  execProvideClusterInfo?: boolean;
  cwd?: string;
}

/** `kubectl config set-credentials`: one authentication method at a time, exec args replaced and env merged. */
export function setCredentials(cfg: Config, name: string, o: SetCredentialsOptions): void {
  const cwd = o.cwd ?? process.cwd();
  if (o.token !== undefined && (o.username !== undefined || o.password !== undefined)) {
    throw new InputError("you cannot specify more than one authentication method at the same time", { field: "--token" });
  }
  const u: AuthInfo = { ...(findEntry(cfg, "users", name)?.user ?? {}) };
  for (const [flag, field] of [
    ["clientCertificate", "client-certificate"],
    ["clientKey", "client-key"],
  ] as const) {
    const value = o[flag];
    if (value === undefined) continue;
    const path = abs(value, cwd);
    if (o.embedCerts) {
      u[`${field}-data`] = embed(path, field);
      delete u[field];
    } else {
      u[field] = path;
      delete u[`${field}-data`];
    }
  }
  if (o.token !== undefined) {
    set(u, "token", o.token);
    delete u.username;
    delete u.password;
  }
  if (o.username !== undefined || o.password !== undefined) {
    if (o.username !== undefined) set(u, "username", o.username);
    if (o.password !== undefined) set(u, "password", o.password);
    delete u.token;
  }
  if (o.authProvider !== undefined || o.authProviderArgs !== undefined) {
    const ap = { name: o.authProvider ?? u["auth-provider"]?.name ?? "", config: { ...(u["auth-provider"]?.config ?? {}) } };
    for (const arg of o.authProviderArgs ?? []) {
      if (arg.endsWith("-") && !arg.includes("=")) delete ap.config[arg.slice(0, -1)];
      else {
        const eq = arg.indexOf("=");
        if (eq <= 0) throw new InputError("expected key=value or key-", { field: "--auth-provider-arg", value: arg });
        ap.config[arg.slice(0, eq)] = arg.slice(eq + 1);
      }
    }
    u["auth-provider"] = { name: ap.name, config: Object.keys(ap.config).length > 0 ? ap.config : null };
  }
  const execTouched = [o.execCommand, o.execApiVersion, o.execArgs, o.execEnv, o.execInteractiveMode, o.execProvideClusterInfo].some((v) => v !== undefined);
  if (execTouched) {
    const ex = u.exec ? { ...u.exec } : { command: "", args: null, env: null, provideClusterInfo: false };
    if (o.execCommand !== undefined) ex.command = o.execCommand;
    if (o.execApiVersion !== undefined) ex.apiVersion = o.execApiVersion;
    if (o.execArgs !== undefined) ex.args = o.execArgs;
    if (o.execInteractiveMode !== undefined) ex.interactiveMode = o.execInteractiveMode;
    if (o.execProvideClusterInfo !== undefined) ex.provideClusterInfo = o.execProvideClusterInfo;
    for (const kv of o.execEnv ?? []) {
      const env = [...(ex.env ?? [])];
      if (kv.endsWith("-") && !kv.includes("=")) ex.env = env.filter((e) => e.name !== kv.slice(0, -1));
      else {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new InputError("expected NAME=VALUE or NAME-", { field: "--exec-env", value: kv });
        const entry = { name: kv.slice(0, eq), value: kv.slice(eq + 1) };
        const i = env.findIndex((e) => e.name === entry.name);
        if (i >= 0) env[i] = entry;
        else env.push(entry);
        ex.env = env;
      }
    }
    u.exec = ex;
  }
  putEntry(cfg, "users", { name, user: u });
}

/** `kubectl config set-context NAME`: returns whether it was created or modified. */
export function setContext(cfg: Config, name: string, o: { cluster?: string; user?: string; namespace?: string }): "created" | "modified" {
  const existing = findEntry(cfg, "contexts", name);
  const c: Context = { ...(existing?.context ?? { cluster: "", user: "" }) };
  if (o.cluster !== undefined) c.cluster = o.cluster;
  if (o.user !== undefined) c.user = o.user;
  if (o.namespace !== undefined) set(c, "namespace", o.namespace);
  putEntry(cfg, "contexts", { name, context: c });
  return existing ? "modified" : "created";
}

/** `kubectl config use-context`: the context must exist. */
export function useContext(cfg: Config, name: string, file = "kubeconfig"): void {
  if (!findEntry(cfg, "contexts", name)) throw new InputError(`no context exists with the name: "${name}"`, { file });
  cfg["current-context"] = name;
}

/** `kubectl config rename-context`, which also moves current-context. */
export function renameContext(cfg: Config, from: string, to: string, file = "kubeconfig"): void {
  const entry = findEntry(cfg, "contexts", from);
  if (!entry) throw new InputError(`cannot rename the context "${from}", it's not in ${file}`, { file });
  if (findEntry(cfg, "contexts", to)) throw new InputError(`cannot rename the context "${from}", the context "${to}" already exists in ${file}`, { file });
  removeEntry(cfg, "contexts", from);
  putEntry(cfg, "contexts", { name: to, context: entry.context });
  if (cfg["current-context"] === from) cfg["current-context"] = to;
}

/** `kubectl config delete-cluster|delete-user|delete-context`: nothing cascades. */
export function deleteEntry(cfg: Config, section: "clusters" | "users" | "contexts", name: string, file = "kubeconfig"): void {
  const kind = section.slice(0, -1);
  if (!removeEntry(cfg, section, name)) throw new InputError(`cannot delete ${kind} ${name}, not in ${file}`, { file });
}

/**
 * `kubectl config get-contexts`: kubectl's table, the current one starred, byte for byte: Go's
 * tabwriter (padding 3, minimum width 6, widths in runes) pads every cell but the last of a line, so
 * a row whose last cells are empty ends in spaces.
 */
export function contextsTable(cfg: Config, only?: string): string {
  const rows = [
    ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"],
    ...(cfg.contexts ?? [])
      .filter((c) => only === undefined || c.name === only)
      .map((c) => [cfg["current-context"] === c.name ? "*" : "", c.name, c.context.cluster ?? "", c.context.user ?? "", c.context.namespace ?? ""]),
  ];
  const runes = (x: string) => [...x].length;
  const widths = [0, 1, 2, 3].map((i) => Math.max(6, ...rows.map((r) => runes(r[i]!) + 3)));
  return rows.map((r) => r.map((cell, i) => (i < 4 ? cell + " ".repeat(widths[i]! - runes(cell)) : cell)).join("") + "\n").join("");
}

/** Exec plugin API versions whose interactiveMode defaults to IfAvailable, for backward compatibility. */
const LEGACY_EXEC = ["client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1alpha1"];

/**
 * `kubectl config view`: with `minify`, only the current context, its cluster and its user (an error
 * when there is no current context); with `flatten`, the files it names are read into the `*-data`
 * fields (which implies `raw`); without `raw`, certificate data shows as `DATA+OMITTED` and tokens
 * and passwords as `REDACTED`.
 */
export function viewConfig(cfg: Config, o: { minify?: boolean; raw?: boolean; flatten?: boolean } = {}): Config {
  let out: Config = { ...cfg };
  if (o.minify) {
    const ctx = findEntry(out, "contexts", out["current-context"]);
    if (!ctx) throw new InputError("current-context must exist in order to minify");
    const cluster = findEntry(out, "clusters", ctx.context.cluster);
    const user = findEntry(out, "users", ctx.context.user);
    out = { ...out, contexts: [ctx], clusters: cluster ? [cluster] : null, users: user ? [user] : null };
  }
  // Each helper gets a copy of the entry's body and returns it when it changed it: a view of 200,000 clusters stays cheap.
  const clusters = (f: (c: Cluster) => Cluster | undefined) => out.clusters && out.clusters.map((e) => ({ ...e, cluster: f({ ...e.cluster }) ?? e.cluster }));
  const users = (f: (u: AuthInfo) => AuthInfo | undefined) => out.users && out.users.map((e) => ({ ...e, user: f({ ...e.user }) ?? e.user }));
  // kubectl views the config after client-go's defaulting (SetDefaults_ExecConfig), which its writes don't apply.
  out = {
    ...out,
    users: users((u) =>
      u.exec && !u.exec.interactiveMode && LEGACY_EXEC.includes(u.exec.apiVersion ?? "")
        ? { ...u, exec: { ...u.exec, interactiveMode: "IfAvailable" } }
        : undefined,
    ),
  };
  if (o.flatten) {
    return {
      ...out,
      clusters: clusters((c) => inline(c, "certificate-authority")),
      users: users((u) => inline(inline(u, "client-certificate"), "client-key")),
    };
  }
  if (o.raw) return out;
  return {
    ...out,
    clusters: clusters((c) => (c["certificate-authority-data"] ? { ...c, "certificate-authority-data": "DATA+OMITTED" } : undefined)),
    users: users((u) => {
      const secret = ["client-certificate-data", "client-key-data", "token", "password"] as const;
      if (!secret.some((f) => u[f])) return undefined;
      for (const f of secret) if (u[f]) u[f] = f.endsWith("-data") ? "DATA+OMITTED" : "REDACTED";
      return u;
    }),
  };
}

/** Moves a referenced file into its `-data` field, as `--flatten` does, in `obj` (a copy). */
function inline<K extends string, T extends Partial<Record<K | `${K}-data`, string>>>(obj: T, field: K): T {
  const path = obj[field];
  if (path === undefined) return obj;
  (obj as Record<string, string>)[`${field}-data`] = embed(path, field);
  delete obj[field];
  return obj;
}

function set<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value === undefined || value === "") delete obj[key];
  else obj[key] = value;
}
