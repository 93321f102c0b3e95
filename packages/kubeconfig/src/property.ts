import { InputError, fromBase64, toBase64, utf8 } from "@dk-bootstrap/pki";
import { type Config, findEntry, putEntry, removeEntry } from "./model.js";

type Kind = "string" | "bool" | "bytes";

/** The leaves `kubectl config set` can reach in each kind of entry, and how it reads their values. */
const FIELDS: Record<"clusters" | "users" | "contexts", Record<string, Kind>> = {
  clusters: {
    server: "string",
    "tls-server-name": "string",
    "insecure-skip-tls-verify": "bool",
    "certificate-authority": "string",
    "certificate-authority-data": "bytes",
    "proxy-url": "string",
    "disable-compression": "bool",
  },
  users: {
    "client-certificate": "string",
    "client-certificate-data": "bytes",
    "client-key": "string",
    "client-key-data": "bytes",
    token: "string",
    tokenFile: "string",
    as: "string",
    "as-uid": "string",
    username: "string",
    password: "string",
  },
  contexts: { cluster: "string", user: "string", namespace: "string" },
};

/** Fields kubectl always writes: unsetting one leaves it empty rather than absent. */
const REQUIRED: Record<string, string[]> = { clusters: ["server"], users: [], contexts: ["cluster", "user"] };
const INNER = { clusters: "cluster", users: "user", contexts: "context" } as const;
const EMPTY = { clusters: () => ({ server: "" }), users: () => ({}), contexts: () => ({ cluster: "", user: "" }) };

/** Go's strconv.ParseBool, which kubectl uses. */
function parseBool(value: string, path: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new InputError("expected a boolean", { field: path, value });
}

function parseBytes(value: string, path: string, raw: boolean): string {
  if (raw) return toBase64(utf8(value));
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new InputError("error decoding input value: not base64 (pass --set-raw-bytes to store the text as it is)", { field: path });
  }
  return toBase64(fromBase64(value));
}

function split(path: string): { section: "clusters" | "users" | "contexts"; name: string; field?: string } | undefined {
  const [section, name, field, ...more] = path.split(".");
  if (!(section === "clusters" || section === "users" || section === "contexts") || !name || more.length > 0) return undefined;
  return field === undefined ? { section, name } : { section, name, field };
}

function unlocatable(path: string): InputError {
  return new InputError(
    "unable to locate path: only current-context, preferences.colors and the string and boolean fields of clusters.NAME, users.NAME and contexts.NAME can be set",
    { field: path },
  );
}

/**
 * `kubectl config set PROPERTY VALUE`: a dotted path such as `clusters.x.server` or `current-context`.
 * A missing entry is created; certificate data is base64, or raw text with `rawBytes`.
 */
export function setProperty(cfg: Config, path: string, value: string, options: { rawBytes?: boolean } = {}): void {
  if (path === "current-context") {
    cfg["current-context"] = value;
    return;
  }
  if (path === "preferences.colors") {
    cfg.preferences = { ...cfg.preferences, colors: parseBool(value, path) };
    return;
  }
  const p = split(path);
  const kind = p?.field === undefined ? undefined : FIELDS[p.section][p.field];
  if (!p || !kind) throw unlocatable(path);
  const inner = INNER[p.section];
  const existing = findEntry(cfg, p.section, p.name) as Record<string, unknown> | undefined;
  const body: Record<string, unknown> = { ...((existing?.[inner] as object | undefined) ?? EMPTY[p.section]()) };
  body[p.field!] = kind === "bool" ? parseBool(value, path) : kind === "bytes" ? parseBytes(value, path, options.rawBytes ?? false) : value;
  putEntry(cfg, p.section, { name: p.name, [inner]: body } as never);
}

/** `kubectl config unset PROPERTY`: removes a field (extensions too), a whole entry with `clusters.NAME`, or a whole section. */
export function unsetProperty(cfg: Config, path: string): void {
  if (path === "current-context") {
    cfg["current-context"] = "";
    return;
  }
  if (path === "preferences.colors") {
    const { colors: _, ...rest } = cfg.preferences;
    cfg.preferences = rest;
    return;
  }
  // kubectl unsets whole sections too; kind and apiVersion are set again by its codec, so unsetting them changes nothing.
  if (path === "clusters" || path === "users" || path === "contexts") {
    cfg[path] = null;
    return;
  }
  if (path === "preferences") {
    cfg.preferences = {};
    return;
  }
  if (path === "kind" || path === "apiVersion") return;
  const p = split(path);
  if (!p || (p.field !== undefined && p.field !== "extensions" && !FIELDS[p.section][p.field])) throw unlocatable(path);
  const existing = findEntry(cfg, p.section, p.name) as Record<string, unknown> | undefined;
  if (!existing) throw new InputError(`current map key \`${p.name}\` is invalid`, { field: path });
  if (p.field === undefined) {
    removeEntry(cfg, p.section, p.name);
    return;
  }
  const inner = INNER[p.section];
  const body: Record<string, unknown> = { ...(existing[inner] as object) };
  if (REQUIRED[p.section]!.includes(p.field)) body[p.field] = "";
  else delete body[p.field];
  putEntry(cfg, p.section, { name: p.name, [inner]: body } as never);
}
