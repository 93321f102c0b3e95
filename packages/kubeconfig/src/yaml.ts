import { InputError } from "@dk-bootstrap/pki";
import { type Config, emptyConfig, goStringCompare, withCanonicalExtensions } from "./model.js";
import { decodeYaml, resolvePlain } from "./goyaml.js";
import { goFloat } from "./json.js";
import { decodeConfig } from "./schema.js";

/**
 * Serializes a kubeconfig byte for byte as kubectl writes it: kubectl goes JSON → YAML through
 * sigs.k8s.io/yaml (go-yaml v2), so keys are sorted at every level, sequences are not indented under
 * their key, lines never wrap, and strings that YAML 1.1 would read as something else are quoted.
 */
export function toYaml(cfg: Config): string {
  return emit(normalize(cfg), 0);
}

/** The fields kubectl always writes (not omitempty in clientcmd v1), in the order of the Go struct. */
function normalize(cfg: Config): unknown {
  const out: Record<string, unknown> = { ...withCanonicalExtensions(cfg) };
  out.apiVersion ??= "v1";
  out.kind ??= "Config";
  out.preferences ??= {};
  for (const s of ["clusters", "users", "contexts"] as const) if (!cfg[s] || cfg[s]!.length === 0) out[s] = null;
  out["current-context"] ??= "";
  if (out.clusters)
    out.clusters = (out.clusters as NonNullable<Config["clusters"]>).map((c) => ({ ...c, cluster: { ...c.cluster, server: c.cluster.server ?? "" } }));
  // kubectl goes through a map, so entries come out sorted by name (already sorted: a linear pass).
  for (const s of ["clusters", "users", "contexts"] as const) {
    if (Array.isArray(out[s])) out[s] = [...(out[s] as { name: string }[])].sort((a, b) => goStringCompare(a.name, b.name));
  }
  return out;
}

function emit(value: unknown, indent: number): string {
  const pad = " ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]\n";
    return value
      .map((item) => {
        const body = isBlock(item) ? emit(item, indent + 2).slice(indent + 2) : `${scalar(item, indent + 2)}\n`;
        return `${pad}- ${body}`;
      })
      .join("");
  }
  if (isObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort(goYamlKeyCompare);
    if (keys.length === 0) return "{}\n";
    return keys
      .map((k) => {
        const v = value[k];
        const key = scalar(k, indent);
        if (isBlock(v)) return Array.isArray(v) ? `${pad}${key}:\n${emit(v, indent)}` : `${pad}${key}:\n${emit(v, indent + 2)}`;
        return `${pad}${key}: ${scalar(v, indent + 2)}\n`;
      })
      .join("");
  }
  return `${scalar(value, indent)}\n`;
}

/**
 * go-yaml v2's order of map keys (sorter.go, keyList.Less), which kubectl's YAML goes through: letters
 * by code point and after anything else, runs of digits by their number (`k2` before `k10`). It is not
 * a total order for some keys (`0755` < `0o17` < `10` < `0755`): there kubectl's own output changes
 * from run to run (Go sorts the keys in the random order of a map), and ours is one of its outputs.
 */
export function goYamlKeyCompare(a: string, b: string): number {
  // Fast path for the usual keys: at the first difference, two ASCII characters neither of which is a digit.
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 128 || y >= 128 || (x >= 48 && x <= 57) || (y >= 48 && y <= 57)) return slowKeyCompare(a, b);
    const xl = (x | 32) >= 97 && (x | 32) <= 122;
    const yl = (y | 32) >= 97 && (y | 32) <= 122;
    return xl === yl ? x - y : xl ? 1 : -1;
  }
  return a.length === b.length ? 0 : slowKeyCompare(a, b);
}

function slowKeyCompare(a: string, b: string): number {
  const ar = [...a];
  const br = [...b];
  const letter = (c: string) => /^\p{L}$/u.test(c);
  const digit = (c: string | undefined) => c !== undefined && /^\p{Nd}$/u.test(c);
  const cmp = (x: string, y: string) => x.codePointAt(0)! - y.codePointAt(0)!;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = letter(ar[i]!);
    const bl = letter(br[i]!);
    if (al && bl) return cmp(ar[i]!, br[i]!);
    if (al || bl) return bl ? -1 : 1;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === "0" || br[i] === "0") {
      for (let j = i - 1; j >= 0 && digit(ar[j]); j--) {
        if (ar[j] !== "0") {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && digit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai]!.codePointAt(0)! - 48);
    for (; bi < br.length && digit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi]!.codePointAt(0)! - 48);
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai - bi;
    return cmp(ar[i]!, br[i]!);
  }
  return ar.length - br.length;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A non-empty map or list is written as a block under its key; empty ones inline as {} and []. */
function isBlock(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return isObject(v) && Object.values(v).some((x) => x !== undefined);
}

function scalar(v: unknown, indent: number): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") return yamlNumber(v);
  if (Array.isArray(v)) return "[]";
  if (isObject(v)) return "{}";
  return quoteString(String(v), indent);
}

/**
 * kubectl writes YAML from JSON text (sigs.k8s.io/yaml), so a number is what go-yaml makes of its
 * JSON form: an integer stays one (`-0` becomes `0`), anything else is a float in Go's shortest 'g'
 * form (`0.00001` becomes `1e-05`), infinities as `.inf`.
 */
function yamlNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? ".nan" : n > 0 ? ".inf" : "-.inf";
  const json = Object.is(n, -0) ? "-0" : String(n);
  if (/^-?\d+$/.test(json)) return String(Number(json) + 0);
  return goFloat(n);
}

/** go-yaml v2's isBase60Float: YAML 1.1 sexagesimal numbers, quoted on output though v2 no longer reads them as numbers. */
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/**
 * go-yaml v2's parseTimestamp: the formats `2006-1-2T15:4:5.999999999Z07:00` (or `t`), `2006-1-2 15:4:5.999999999`
 * and `2006-1-2`, with Go's time.Parse ranges. Such text would read back as a timestamp, so it is quoted.
 */
function isGoYamlTimestamp(s: string): boolean {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$/.exec(
      s,
    );
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, min, sec] = [m[4] ?? m[7] ?? "0", m[5] ?? m[8] ?? "0", m[6] ?? m[9] ?? "0"].map(Number) as [number, number, number];
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= days && h <= 23 && min <= 59 && sec <= 59;
}

/** What libyaml does not print as it is: controls, DEL, C1, surrogates, the BOM, U+FFFE/U+FFFF, and past the BMP. */
const UNPRINTABLE = /[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufefe\uff00-\ufffd]/u;

/**
 * go-yaml v2's choice of style: double quotes when the plain text would not read back as a string,
 * plain when libyaml's emitter allows it in block context, else single quotes, else double quotes;
 * multi-line text as a literal block.
 */
export function quoteString(s: string, indent = 0): string {
  // Quoted when the plain text would read back as something else (go-yaml v2's encoder asks its own resolve()).
  if (s === "" || typeof resolvePlain(s) !== "string" || BASE60.test(s) || isGoYamlTimestamp(s)) return doubleQuoted(s);
  // libyaml allows no block scalar for text with a space before a break or at its end: double quotes then.
  if (s.includes("\n") && !/[^\n\x20-\x7e\u00a0-\ud7ff\ue000-\ufefe\uff00-\ufffd]| \n| $/u.test(s)) return literal(s, indent);
  if (plainAllowed(s)) return s;
  if (!UNPRINTABLE.test(s)) return `'${s.replace(/'/g, "''")}'`;
  return doubleQuoted(s);
}

/** libyaml's short escapes (yaml_emitter_write_double_quoted). */
const ESCAPES: Record<string, string> = {
  "\0": "0",
  "\x07": "a",
  "\b": "b",
  "\t": "t",
  "\n": "n",
  "\v": "v",
  "\f": "f",
  "\r": "r",
  "\x1b": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\u2028": "L",
  "\u2029": "P",
};

/**
 * A double-quoted scalar as libyaml writes one: escaped are what it does not print (controls, DEL, C1, the BOM, and every
 * character past the BMP, which kubectl writes as \U0001F600), the breaks, the quote and the backslash. JSON's form differs
 * on those, and a raw DEL or C1 control is refused when read (by kubectl too).
 */
function doubleQuoted(s: string): string {
  // go-yaml's is_bom looks at the text's first bytes wherever it is asked: text that starts with a BOM is escaped whole.
  const escape = s.startsWith("\ufeff") ? /./gsu : /[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufefe\uff00-\ufffd]|["\\\u2028\u2029]/gu;
  const escaped = s.replace(escape, (c) => {
    const code = c.codePointAt(0)!;
    const [letter, width] = code <= 0xff ? ["x", 2] : code <= 0xffff ? ["u", 4] : ["U", 8];
    return `\\${ESCAPES[c] ?? `${letter}${code.toString(16).toUpperCase().padStart(width, "0")}`}`;
  });
  return `"${escaped}"`;
}

/**
 * A literal block whose lines are `indent` deep, its parent's two deeper. libyaml's hints: the indentation said when the
 * text starts with a space or a break (a reader could not tell it), keep (+) for more than one final break, strip (-) for none.
 */
function literal(s: string, indent: number): string {
  const hint = s[0] === " " || s[0] === "\n" ? "2" : "";
  const chomp = !s.endsWith("\n") ? "-" : s === "\n" || s.endsWith("\n\n") ? "+" : "";
  const pad = " ".repeat(indent);
  const body = (s.endsWith("\n") ? s.slice(0, -1) : s)
    .split("\n")
    .map((l) => (l === "" ? "" : pad + l))
    .join("\n");
  return `|${hint}${chomp}\n${body}`;
}

/** libyaml's yaml_emitter_analyze_scalar, reduced to the block-context plain check. */
function plainAllowed(s: string): boolean {
  // Base64 (the -data fields, most of a kubeconfig's bytes) has none of the characters the checks below look for:
  // one native scan instead of a loop over each character, which costs a short-lived run milliseconds.
  if (/^[A-Za-z0-9+/=]+$/.test(s)) return true;
  if (s.startsWith("---") || s.startsWith("...")) return false;
  // libyaml's leading and trailing spaces and breaks (not JavaScript's \s, which has U+00A0 and U+FEFF).
  if (/^[ \r\n\u2028\u2029]|[ \r\n\u2028\u2029]$/.test(s)) return false;
  if (UNPRINTABLE.test(s)) return false;
  const first = s[0]!;
  const next = s[1];
  if ("#,[]{}&*!|>'\"%@`".includes(first)) return false;
  if ((first === "?" || first === ":" || first === "-") && (next === undefined || next === " ")) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === ":" && (s[i + 1] === undefined || s[i + 1] === " ")) return false;
    if (c === "#" && s[i - 1] === " ") return false;
  }
  return true;
}

/**
 * Parses a kubeconfig (YAML or JSON) as kubectl loads it: go-yaml v2's YAML 1.1 and alias limits
 * (see {@link decodeYaml}), client-go's field types (see {@link decodeConfig}), no two entries of a
 * section with one name. Errors are one line naming the file, and the field or line.
 */
export function parseKubeconfig(text: string, file: string): Config {
  let doc: unknown;
  try {
    doc = decodeYaml(text);
  } catch (e) {
    const mark = (e as { mark?: { line: number; column: number } }).mark;
    const reason = ((e as { reason?: string }).reason ?? (e as Error).message).split("\n")[0];
    throw new InputError(`malformed YAML${mark ? ` at line ${mark.line + 1} column ${mark.column + 1}` : ""}: ${reason}`, { file });
  }
  if (doc === undefined || doc === null) return emptyConfig();
  const cfg = decodeConfig(doc, file);
  // client-go's scheme knows one kind at one version; empty ones are defaulted.
  if (cfg.apiVersion && cfg.apiVersion !== "v1")
    throw new InputError(`no kind "${cfg.kind || "Config"}" is registered for version "${cfg.apiVersion}"`, { file, field: "apiVersion" });
  if (cfg.kind && cfg.kind !== "Config") throw new InputError(`no kind "${cfg.kind}" is registered for version "v1"`, { file, field: "kind" });
  // client-go turns these lists into maps and refuses a name twice (extensions included).
  const unique = (list: { name: string }[] | null | undefined, field: string) => {
    const seen = new Set<string>();
    for (const e of list ?? []) {
      if (seen.has(e.name)) throw new InputError(`duplicate name "${e.name}" in list`, { file, field });
      seen.add(e.name);
    }
  };
  unique(cfg.extensions, "extensions");
  unique(cfg.preferences.extensions, "preferences.extensions");
  for (const [section, inner] of [
    ["clusters", "cluster"],
    ["users", "user"],
    ["contexts", "context"],
  ] as const) {
    unique(cfg[section], section);
    (cfg[section] ?? []).forEach((e, i) =>
      unique((e as unknown as Record<string, { extensions?: { name: string }[] }>)[inner]!.extensions, `${section}[${i}].${inner}.extensions`),
    );
  }
  return cfg;
}
