import { isIP } from "./ip.js";
import { InputError, type InputLocation } from "./errors.js";
import type { x509 } from "./x509.js";

/** Subject alternative names, split by kind. */
export interface SubjectAltNames {
  dns: string[];
  ip: string[];
  email: string[];
  uri: string[];
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;
const EMAIL = /^[^\s@<>()"]+@[^\s@<>()"]+$/;
const URI = /^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i;

/** An empty set of SANs. */
export function noSans(): SubjectAltNames {
  return { dns: [], ip: [], email: [], uri: [] };
}

/** Every kind of SAN, from SANs as a caller writes them (`{ dns: ["web"] }`): a kind left out is empty. Copies the lists. */
export function completeSans(sans: Partial<SubjectAltNames> = {}): SubjectAltNames {
  return { dns: [...(sans.dns ?? [])], ip: [...(sans.ip ?? [])], email: [...(sans.email ?? [])], uri: [...(sans.uri ?? [])] };
}

/**
 * Sorts cfssl `hosts` entries into SANs, first match wins as in cfssl: an IP literal (v4 or v6), an
 * email address, a URI with a scheme and `//`, else a DNS name (a leading `*.` wildcard allowed).
 * Where cfssl would emit anything, an entry that is none of these is an error naming the entry.
 * Duplicates are dropped, first occurrence kept.
 */
export function classifyHosts(hosts: readonly string[], where: InputLocation = {}): SubjectAltNames {
  const sans = noSans();
  hosts.forEach((raw, i) => {
    const host = raw.trim();
    const at = { ...where, field: where.field === undefined ? undefined : `${where.field}[${i}]`, value: raw };
    let list: string[];
    if (isIP(host)) list = sans.ip;
    else if (host.includes("@")) {
      if (!EMAIL.test(host)) throw new InputError("invalid email address in hosts", at);
      list = sans.email;
    } else if (host.includes("://")) {
      if (!URI.test(host)) throw new InputError("invalid URI in hosts", at);
      list = sans.uri;
    } else {
      if (!isDnsName(host)) throw new InputError("invalid host: not an IP address, DNS name, email or URI", at);
      list = sans.dns;
    }
    const value = isIP(host) === 6 ? host.toLowerCase() : host;
    if (!list.includes(value)) list.push(value);
  });
  return sans;
}

/** RFC 1123 host names (case-insensitive, underscores tolerated as Go does), with an optional leading `*.`. */
export function isDnsName(name: string): boolean {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return false;
  const labels = bare.split(".");
  if (labels[0] === "*" && labels.length > 1) labels.shift();
  return labels.every((l) => LABEL.test(l));
}

/** All SANs as a flat list in the order Go writes them: DNS, email, IP, URI. */
export function sanList(partial: Partial<SubjectAltNames>): string[] {
  const sans = completeSans(partial);
  return [...sans.dns, ...sans.email, ...sans.ip, ...sans.uri];
}

/** SANs as @peculiar/x509 general names, in Go's order: DNS, email, IP, URI. */
export function toGeneralNames(partial: Partial<SubjectAltNames>): x509.JsonGeneralName[] {
  const sans = completeSans(partial);
  return [
    ...sans.dns.map((value) => ({ type: "dns" as const, value })),
    ...sans.email.map((value) => ({ type: "email" as const, value })),
    ...sans.ip.map((value) => ({ type: "ip" as const, value })),
    ...sans.uri.map((value) => ({ type: "url" as const, value })),
  ];
}

/** Splits a SAN extension (of a certificate or a CSR) by kind. */
export function sansOf(ext: x509.SubjectAlternativeNameExtension | null | undefined): SubjectAltNames {
  const sans = noSans();
  for (const n of ext?.names.items ?? []) {
    if (n.type === "dns") sans.dns.push(n.value);
    else if (n.type === "ip") sans.ip.push(n.value);
    else if (n.type === "email") sans.email.push(n.value);
    else if (n.type === "url") sans.uri.push(n.value);
  }
  return sans;
}
