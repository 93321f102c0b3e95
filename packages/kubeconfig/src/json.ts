import { type Config, goStringCompare, withCanonicalExtensions } from "./model.js";

/**
 * A kubeconfig as kubectl prints it with `-o json`: encoding/json over the clientcmd v1 structs, so
 * fields in the Go structs' order, `omitempty` fields left out when empty, maps (extensions) with
 * sorted keys, `<`, `>` and `&` escaped, four-space indentation.
 */
type Shape = { fields: [string, Shape | "value", "omitempty"?][] } | { list: Shape } | "value";

const ext: Shape = {
  list: {
    fields: [
      ["name", "value"],
      ["extension", "value"],
    ],
  },
};
const CLUSTER: Shape = {
  fields: [
    ["server", "value"],
    ["tls-server-name", "value", "omitempty"],
    ["insecure-skip-tls-verify", "value", "omitempty"],
    ["certificate-authority", "value", "omitempty"],
    ["certificate-authority-data", "value", "omitempty"],
    ["proxy-url", "value", "omitempty"],
    ["disable-compression", "value", "omitempty"],
    ["extensions", ext, "omitempty"],
  ],
};
const EXEC: Shape = {
  fields: [
    ["command", "value"],
    ["args", "value"],
    [
      "env",
      {
        list: {
          fields: [
            ["name", "value"],
            ["value", "value"],
          ],
        },
      },
    ],
    ["apiVersion", "value", "omitempty"],
    ["installHint", "value", "omitempty"],
    ["provideClusterInfo", "value"],
    ["interactiveMode", "value", "omitempty"],
  ],
};
const USER: Shape = {
  fields: [
    ...[
      "client-certificate",
      "client-certificate-data",
      "client-key",
      "client-key-data",
      "token",
      "tokenFile",
      "as",
      "as-uid",
      "as-groups",
      "as-user-extra",
    ].map((f) => [f, "value", "omitempty"] as [string, "value", "omitempty"]),
    ["username", "value", "omitempty"],
    ["password", "value", "omitempty"],
    [
      "auth-provider",
      {
        fields: [
          ["name", "value"],
          ["config", "value"],
        ],
      },
      "omitempty",
    ],
    ["exec", EXEC, "omitempty"],
    ["extensions", ext, "omitempty"],
  ],
};
const CONTEXT: Shape = {
  fields: [
    ["cluster", "value"],
    ["user", "value"],
    ["namespace", "value", "omitempty"],
    ["extensions", ext, "omitempty"],
  ],
};
const named = (inner: string, body: Shape): Shape => ({
  list: {
    fields: [
      ["name", "value"],
      [inner, body],
    ],
  },
});
const CONFIG: Shape = {
  fields: [
    ["kind", "value"],
    ["apiVersion", "value"],
    [
      "preferences",
      {
        fields: [
          ["colors", "value", "omitempty"],
          ["extensions", ext, "omitempty"],
        ],
      },
    ],
    ["clusters", named("cluster", CLUSTER)],
    ["users", named("user", USER)],
    ["contexts", named("context", CONTEXT)],
    ["current-context", "value"],
    ["extensions", ext, "omitempty"],
  ],
};

/** Go's omitempty: false, 0, "", null, and empty lists and maps are left out. */
function empty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

/**
 * The value with its structs in Go's field order, omitempty fields left out. Structs become `Map`s,
 * which keep their order (a plain object would put a key such as "1000" first); maps stay plain
 * objects, whose keys encoding/json sorts.
 */
function shape(v: unknown, s: Shape): unknown {
  if (v === undefined || v === null || s === "value") return v ?? null;
  if ("list" in s) return (v as unknown[]).map((x) => shape(x, s.list));
  const obj = v as Record<string, unknown>;
  const out = new Map<string, unknown>();
  for (const [k, inner, omit] of s.fields) {
    const x = obj[k];
    if (omit && (empty(x) || (typeof x === "object" && x !== null && Object.keys(x).length === 0))) continue;
    out.set(k, shape(x, inner));
  }
  return out;
}

/** A shaped value as plain JSON data (structs as objects), for JSONPath. */
function plain(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** A string as Go's encoding/json writes it (HTML-safe). */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * encoding/json's output: `indent` "" gives json.Marshal (compact), else json.MarshalIndent. A `Map`
 * is a struct, written in its order; a plain object is a map, written with its keys sorted by bytes.
 */
export function goJson(v: unknown, indent = "", depth = 0): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return goJsonString(v);
  if (typeof v === "number") return Number.isFinite(v) ? (Object.is(v, -0) ? "-0" : String(v)) : "null";
  if (typeof v === "boolean") return String(v);
  const nl = indent ? `\n${indent.repeat(depth + 1)}` : "";
  const end = indent ? `\n${indent.repeat(depth)}` : "";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[${v.map((x) => nl + goJson(x, indent, depth + 1)).join(",")}${end}]`;
  }
  const entries =
    v instanceof Map
      ? [...(v as Map<string, unknown>)]
      : Object.keys(v as object)
          .sort(goStringCompare)
          .map((k) => [k, (v as Record<string, unknown>)[k]] as const);
  if (entries.length === 0) return "{}";
  const sep = indent ? ": " : ":";
  return `{${entries.map(([k, x]) => `${nl}${goJsonString(k)}${sep}${goJson(x, indent, depth + 1)}`).join(",")}${end}}`;
}

/** The kubeconfig in kubectl's JSON field order (structs as `Map`s); the codec sets the kind and version whatever the file says. */
function shaped(cfg: Config): unknown {
  return shape({ ...withCanonicalExtensions(cfg), kind: "Config", apiVersion: "v1" }, CONFIG);
}

/** The kubeconfig as the JSON data kubectl's JSONPath runs on (what `-o json` prints, as plain objects). */
export function kubectlObject(cfg: Config): unknown {
  return plain(shaped(cfg));
}

/** `kubectl config view -o json`, byte for byte. */
export function toKubectlJson(cfg: Config): string {
  return `${goJson(shaped(cfg), "    ")}\n`;
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), which fmt's %v and go-yaml use: exponent form below 1e-4 and from 1e6 up (`1e+06`). */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "+Inf" : "-Inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const e = n.toExponential();
  const exp = Number(e.slice(e.indexOf("e") + 1));
  if (exp < -4 || exp >= 6) return e.replace(/e([+-])(\d)$/, "e$10$2");
  return String(n);
}
