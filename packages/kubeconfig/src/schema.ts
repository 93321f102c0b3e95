import { InputError, fromBase64, toBase64 } from "@dk-bootstrap/pki";
import type { Config } from "./model.js";

/**
 * The kubeconfig v1 schema as client-go decodes it (clientcmd/api/v1 types.go, through encoding/json):
 * a value of the wrong type is refused with its field path, `*-data` fields must be base64, unknown
 * fields are dropped (kubectl drops them when it rewrites a file), and the fields Go always writes
 * (not omitempty) get their zero value.
 */
type Type = "string" | "bool" | "bytes" | "any" | { list: Type } | { map: Type } | Struct;
interface Struct {
  fields: Record<string, Type>;
  /** Not omitempty in the Go struct: present, with its zero value, after decoding. */
  always?: Record<string, () => unknown>;
}

const extensions: Type = { list: { fields: { name: "string", extension: "any" }, always: { name: () => "", extension: () => null } } };
const strings: Type = { list: "string" };

const CLUSTER: Struct = {
  fields: {
    server: "string",
    "tls-server-name": "string",
    "insecure-skip-tls-verify": "bool",
    "certificate-authority": "string",
    "certificate-authority-data": "bytes",
    "proxy-url": "string",
    "disable-compression": "bool",
    extensions,
  },
  always: { server: () => "" },
};

const EXEC: Struct = {
  fields: {
    command: "string",
    args: strings,
    env: { list: { fields: { name: "string", value: "string" }, always: { name: () => "", value: () => "" } } },
    apiVersion: "string",
    installHint: "string",
    provideClusterInfo: "bool",
    interactiveMode: "string",
  },
  always: { command: () => "", args: () => null, env: () => null, provideClusterInfo: () => false },
};

const USER: Struct = {
  fields: {
    "client-certificate": "string",
    "client-certificate-data": "bytes",
    "client-key": "string",
    "client-key-data": "bytes",
    token: "string",
    tokenFile: "string",
    as: "string",
    "as-uid": "string",
    "as-groups": strings,
    "as-user-extra": { map: strings },
    username: "string",
    password: "string",
    "auth-provider": { fields: { name: "string", config: { map: "string" } }, always: { name: () => "", config: () => null } },
    exec: EXEC,
    extensions,
  },
};

const CONTEXT: Struct = {
  fields: { cluster: "string", user: "string", namespace: "string", extensions },
  always: { cluster: () => "", user: () => "" },
};

const named = (inner: string, body: Struct): Type => ({
  list: { fields: { name: "string", [inner]: body }, always: { name: () => "", [inner]: () => zero(body) } },
});

const CONFIG: Struct = {
  fields: {
    kind: "string",
    apiVersion: "string",
    preferences: { fields: { colors: "bool", extensions } },
    clusters: named("cluster", CLUSTER),
    users: named("user", USER),
    contexts: named("context", CONTEXT),
    "current-context": "string",
    extensions,
  },
  always: { preferences: () => ({}), clusters: () => null, users: () => null, contexts: () => null, "current-context": () => "" },
};

/** Go's names for JSON values, as encoding/json's "cannot unmarshal X into ... of type Y" says them. */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "object" && v !== null) return "object";
  return typeof v === "boolean" ? "bool" : typeof v === "number" ? "number" : "string";
}

function typeName(t: Type): string {
  if (typeof t === "string") return t === "bytes" ? "base64 string" : t === "bool" ? "boolean" : t;
  if ("list" in t) return "list";
  return "mapping";
}

/** Go's base64.StdEncoding as encoding/json uses it for []byte: padded, newlines skipped. The offset of the first bad byte, or -1. */
function badBase64(s: string): number {
  const stripped = s.replace(/[\r\n]/g, "");
  if (/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(stripped)) return -1;
  const i = stripped.search(/[^A-Za-z0-9+/]/);
  return i >= 0 ? i : stripped.length - (stripped.length % 4);
}

function decode(v: unknown, t: Type, path: string, file: string): unknown {
  // A RawExtension keeps a null (kubectl writes `extension: null`); a null elsewhere is Go's zero value.
  if (t === "any") return v ?? undefined;
  if (v === null || v === undefined) return undefined;
  const wrong = () => new InputError(`cannot unmarshal ${jsonKind(v)} into a field of type ${typeName(t)}`, { file, field: path });
  if (t === "string") {
    if (typeof v !== "string") throw wrong();
    return v;
  }
  if (t === "bool") {
    if (typeof v !== "boolean") throw wrong();
    return v;
  }
  if (t === "bytes") {
    if (typeof v !== "string") throw wrong();
    const bad = badBase64(v);
    if (bad >= 0) throw new InputError(`illegal base64 data at input byte ${bad}`, { file, field: path });
    return toBase64(fromBase64(v.replace(/[\r\n]/g, "")));
  }
  if ("list" in t) {
    if (!Array.isArray(v)) throw wrong();
    return v.map((x, i) => decode(x, t.list, `${path}[${i}]`, file) ?? zero(t.list));
  }
  if (typeof v !== "object" || Array.isArray(v)) throw wrong();
  const obj = v as Record<string, unknown>;
  if ("map" in t) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) out[k] = decode(obj[k], t.map, `${path}.${k}`, file) ?? zero(t.map);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(t.fields)) {
    const d = decode(obj[k], t.fields[k]!, path === "" ? k : `${path}.${k}`, file);
    if (d !== undefined) out[k] = d;
  }
  for (const [k, z] of Object.entries(t.always ?? {})) if (out[k] === undefined) out[k] = z();
  return out;
}

/** What a JSON null inside a list or map decodes to in Go: the element type's zero value. */
function zero(t: Type): unknown {
  if (t === "string" || t === "bytes") return "";
  if (t === "bool") return false;
  if (t === "any") return null;
  if ("list" in t || "map" in t) return null;
  return decode({}, t, "", "");
}

/** Decodes a parsed document into a kubeconfig as client-go would, or throws an {@link InputError} naming the field. */
export function decodeConfig(doc: unknown, file: string): Config {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new InputError(`a kubeconfig must be a YAML mapping, not ${Array.isArray(doc) ? "a list" : "a scalar"}`, { file });
  return decode(doc, CONFIG, "", file) as Config;
}
