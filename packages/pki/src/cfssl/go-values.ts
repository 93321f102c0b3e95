// Go's text forms of values cfssl prints as Go holds them: net.IP's String, url.URL's fields after url.Parse, and
// encoding/json's indented output. The leaf below certinfo-csr.ts (which only assembles the value): the printing
// rules are Go's, not the CSR's, so they sit apart and import nothing of the CSR.
import { toHex, utf8 } from "../bytes.js";

/** net.IP.String(): dotted IPv4 (an IPv4-mapped IPv6 address too), else RFC 5952 IPv6 (longest run of 2+ zero groups as ::). */
export function goIp(bytes: Uint8Array): string {
  const v4 = bytes.length === 4 ? bytes : bytes.length === 16 && bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff)) ? bytes.subarray(12) : null;
  if (v4) return Array.from(v4).join(".");
  if (bytes.length !== 16) return `?${toHex(bytes)}`;
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** url.Parse(text) as a *url.URL marshals (net/url, Go >= 1.19 field order; a Userinfo has no exported fields: {}). */
export function goUrl(text: string): GoValue {
  const hashAt = text.indexOf("#");
  const frag = hashAt < 0 ? "" : text.slice(hashAt + 1);
  let rest = hashAt < 0 ? text : text.slice(0, hashAt);
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(rest)?.[0].slice(0, -1) ?? "";
  rest = rest.slice(scheme === "" ? 0 : scheme.length + 1);
  let forceQuery = false;
  let rawQuery = "";
  if (rest.endsWith("?") && rest.split("?").length === 2) [forceQuery, rest] = [true, rest.slice(0, -1)];
  else if (rest.includes("?")) [rest, rawQuery] = [rest.slice(0, rest.indexOf("?")), rest.slice(rest.indexOf("?") + 1)];
  const url = { Scheme: scheme.toLowerCase(), Opaque: "", User: null as GoValue, Host: "", Path: "", RawPath: "", OmitHost: false };
  if (!rest.startsWith("/") && scheme !== "") url.Opaque = rest;
  else {
    if (rest.startsWith("//")) {
      const slash = rest.indexOf("/", 2);
      const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
      rest = slash < 0 ? "" : rest.slice(slash);
      const at = authority.lastIndexOf("@");
      if (at >= 0) url.User = {};
      url.Host = at >= 0 ? authority.slice(at + 1) : authority;
    } else if (scheme !== "" && rest.startsWith("/")) url.OmitHost = true;
    url.Path = unescape(rest);
    url.RawPath = escape(url.Path, "path") === rest ? "" : rest;
  }
  const fragment = unescape(frag);
  return { ...url, ForceQuery: forceQuery, RawQuery: rawQuery, Fragment: fragment, RawFragment: escape(fragment, "fragment") === frag ? "" : frag };
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s.replace(/%(?![0-9a-fA-F]{2})/g, "%25"));
  } catch {
    return s;
  }
}

/** net/url's escape for a path or a fragment (shouldEscape): unreserved and these sub-delimiters stay as they are. */
function escape(s: string, mode: "path" | "fragment"): string {
  const keep = mode === "path" ? /[A-Za-z0-9\-_.~$&+,/:;=@]/ : /[A-Za-z0-9\-_.~$&+,/:;=?@!()*]/;
  return Array.from(utf8(s))
    .map((b) => (b < 0x80 && keep.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");
}

/** A JSON value as Go's encoding/json writes it; bigint is a number too long for a double. */
export type GoValue = null | boolean | number | bigint | string | GoValue[] | { [key: string]: GoValue };

/** encoding/json's MarshalIndent(v, "", "  "), HTML-safe as Go's is by default. */
export function goJson(v: GoValue, indent: string): string {
  if (v === null) return "null";
  if (typeof v === "boolean" || typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "string") return goString(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) return v.length === 0 ? "[]" : `[\n${v.map((x) => inner + goJson(x, inner)).join(",\n")}\n${indent}]`;
  const keys = Object.keys(v);
  return keys.length === 0 ? "{}" : `{\n${keys.map((k) => `${inner}${goString(k)}: ${goJson(v[k]!, inner)}`).join(",\n")}\n${indent}}`;
}

function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || ch === "<" || ch === ">" || ch === "&" || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += "\ufffd";
    else out += ch;
  }
  return `${out}"`;
}
