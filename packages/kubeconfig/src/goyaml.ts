import { EVENT_ID, type Event, SCALAR_STYLE, getScalarValue, parseEvents } from "js-yaml";

/**
 * YAML read the way kubectl reads a kubeconfig: sigs.k8s.io/yaml's YAMLToJSON over go-yaml v2. Plain
 * scalars resolve by YAML 1.1's rules as go-yaml v2 has them (`yes`, `n`, `off` are booleans, `0755` is
 * an octal number, timestamps stay strings), keys become strings, and aliases are expanded under
 * go-yaml's limits: an anchor that contains itself, and documents whose decoding is mostly alias
 * expansion (billion laughs), are refused before they cost anything.
 */
export class YamlDecodeError extends Error {}

/** libyaml accepts printable characters only (yaml_parser_update_buffer): tab, newlines, and no C0/C1 controls, DEL or U+FFFE/FFFF. */
const CONTROL = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}\ud800-\udfff]/u;
/** A tag as libyaml scans it: a handle (`!`, `!!`, `!name!`) and URI characters, or a verbatim `!<...>`. */
const TAG = /^(?:!<[^>]+>|(?:!|!!|![0-9A-Za-z_-]+!)[0-9A-Za-z_\-;/?:@&=+$,.!~*'()[\]%]*)$/;

const NULLS = new Set(["~", "null", "Null", "NULL", ""]);
const TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"]);
const FALSE = new Set(["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"]);
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/;
const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const TIMESTAMP = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$/;

/** go-yaml v2's resolve() of a plain scalar, as YAMLToJSON then sees it. */
export function resolvePlain(s: string): string | number | boolean | null {
  if (NULLS.has(s)) return null;
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(s)) return NaN;
  if (!/^[-+.0-9]/.test(s)) return s;
  // A leading dot is tried as a Go float as it is (no underscores dropped), as go-yaml v2 does.
  if (s.startsWith(".")) return /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(s) ? Number(s) : s;
  // Unmarshalled into interface{}, go-yaml v2 keeps a timestamp as its text.
  if (TIMESTAMP.test(s)) return s;
  const plain = s.replace(/_/g, "");
  if (GO_INT.test(plain)) {
    const neg = plain.startsWith("-");
    const body = plain.replace(/^[-+]/, "");
    const digits = /^0[oO]?[0-7]+$/.test(body) && body !== "0" ? `0o${body.replace(/^0[oO]?/, "")}` : body;
    const n = Number(digits);
    return neg ? -n : n;
  }
  if (YAML_FLOAT.test(plain)) return Number(plain);
  return s;
}

// go-yaml's limits (yaml.v2 decode.go, allowedAliasRatio): up to 400,000 decodes 99% may come from
// aliases, from 4,000,000 only 10%, scaled linearly in between.
const RATIO_LOW = 400_000;
const RATIO_HIGH = 4_000_000;
function allowedAliasRatio(decodes: number): number {
  if (decodes <= RATIO_LOW) return 0.99;
  if (decodes >= RATIO_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodes - RATIO_LOW) / (RATIO_HIGH - RATIO_LOW));
}

/** Nesting, aliases followed included; a kubeconfig needs a handful of levels, and the walks after this one recurse. */
const MAX_DEPTH = 1000;

/**
 * Decodes the first YAML document of `text` into JSON values as kubectl sees them; undefined for an
 * empty document. One walk over js-yaml's event stream, no tree in between (a 14 MB file is 1.8
 * million events): an alias is expanded by walking its anchor's events again, as go-yaml decodes its
 * node again, and each decode is counted as go-yaml counts them.
 */
export function decodeYaml(text: string): unknown {
  if (CONTROL.test(text)) throw new YamlDecodeError("control characters are not allowed");
  const events: Event[] = parseEvents(text, {});
  if (events.length === 0) return undefined;
  if (events[0]!.type !== EVENT_ID.DOCUMENT) throw new YamlDecodeError("expected a document");
  if (events[1]?.type === EVENT_ID.POP) return undefined;
  const slice = (s: number, e: number) => (s < 0 ? "" : text.slice(s, e));
  // Anchors are registered by the first, in-order walk only, and an alias is bound to the anchor
  // defined before it (as go-yaml's parser binds it), whatever is redefined later.
  const anchors = new Map<string, number>();
  const bound = new Map<number, number>();
  const inside = new Set<number>();
  let decodes = 0;
  let aliasDecodes = 0;
  let aliasDepth = 0;
  let pos = 0; // the event after the node just walked

  const walk = (i: number, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new YamlDecodeError(`exceeded max depth of ${MAX_DEPTH}`);
    decodes++;
    if (aliasDepth > 0) aliasDecodes++;
    if (aliasDecodes > 100 && decodes > 1000 && aliasDecodes / decodes > allowedAliasRatio(decodes))
      throw new YamlDecodeError("document contains excessive aliasing");
    const ev = events[i]!;
    if ("tagStart" in ev && ev.tagStart >= 0 && !TAG.test(slice(ev.tagStart, ev.tagEnd)))
      throw new YamlDecodeError("did not find expected whitespace or line break");
    if ("anchorStart" in ev && ev.anchorStart >= 0 && ev.type !== EVENT_ID.ALIAS && aliasDepth === 0) anchors.set(slice(ev.anchorStart, ev.anchorEnd), i);
    switch (ev.type) {
      case EVENT_ID.SCALAR: {
        pos = i + 1;
        const value = getScalarValue(text, ev);
        const tag = slice(ev.tagStart, ev.tagEnd);
        if (ev.style !== SCALAR_STYLE.PLAIN || tag === "!!str" || tag === "tag:yaml.org,2002:str") return value;
        return resolvePlain(value);
      }
      case EVENT_ID.ALIAS: {
        let target = bound.get(i);
        if (target === undefined) {
          const name = slice(ev.anchorStart, ev.anchorEnd);
          target = anchors.get(name);
          if (target === undefined) throw new YamlDecodeError(`unknown anchor '${name}' referenced`);
          bound.set(i, target);
        }
        if (inside.has(i)) throw new YamlDecodeError(`anchor '${slice(ev.anchorStart, ev.anchorEnd)}' value contains itself`);
        inside.add(i);
        aliasDepth++;
        const v = walk(target, depth + 1);
        aliasDepth--;
        inside.delete(i);
        pos = i + 1;
        return v;
      }
      case EVENT_ID.SEQUENCE: {
        const out: unknown[] = [];
        pos = i + 1;
        while (events[pos]!.type !== EVENT_ID.POP) out.push(walk(pos, depth + 1));
        pos++;
        return out;
      }
      case EVENT_ID.MAPPING: {
        // No prototype: a key such as __proto__ is data, never a way into Object.prototype.
        const out = Object.create(null) as Record<string, unknown>;
        pos = i + 1;
        while (events[pos]!.type !== EVENT_ID.POP) {
          const k = events[pos]!;
          if (k.type === EVENT_ID.SCALAR && k.style === SCALAR_STYLE.PLAIN && k.tagStart < 0 && text.slice(k.valueStart, k.valueEnd) === "<<") {
            decodes++;
            merge(out, walk(pos + 1, depth + 1));
            continue;
          }
          const key = walk(pos, depth + 1);
          if (typeof key === "object" && key !== null) throw new YamlDecodeError("a mapping key must be a scalar");
          out[String(key)] = walk(pos, depth + 1);
        }
        pos++;
        return out;
      }
      default:
        throw new YamlDecodeError(`unexpected YAML event ${ev.type}`);
    }
  };
  // A second document: YAMLToJSON reads the first one only.
  return walk(1, 0);
}

/** `<<: *base` or `<<: [*a, *b]`: keys the mapping does not set come from the merged ones, the first merged winning. */
function merge(into: Record<string, unknown>, from: unknown): void {
  const sources = Array.isArray(from) ? from : [from];
  for (const s of sources) {
    if (typeof s !== "object" || s === null || Array.isArray(s)) throw new YamlDecodeError("map merge requires map or sequence of maps as the value");
    for (const [k, v] of Object.entries(s)) if (!(k in into)) into[k] = v;
  }
}
