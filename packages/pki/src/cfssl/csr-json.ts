import { Fields, parseJsonFile } from "../json.js";
import { DEFAULT_KEY_SPEC, type KeyAlgorithm, type KeySpec, validateKeySpec } from "../keys.js";
import type { SubjectName } from "../name.js";
import { formatDuration, parseDuration } from "../duration.js";
import { classifyHosts } from "../san.js";

/** One entry of cfssl's `names[]`. */
export interface CfsslName {
  C?: string;
  ST?: string;
  L?: string;
  O?: string;
  OU?: string;
}

/** cfssl's CSR JSON (`cfssl print-defaults csr`), checked. */
export interface CfsslCsrRequest {
  CN: string;
  names: CfsslName[];
  hosts: string[];
  key: KeySpec;
  /** Only honoured by `gencert -initca`, as in cfssl. */
  ca?: { expiryMs?: number; pathLen?: number };
}

const NAME_KEYS = ["C", "ST", "L", "O", "OU"] as const;

/**
 * Fields of current cfssl's CSR JSON that dk-bootstrap does not write: refused by name rather than dropped, so that
 * a request never yields a certificate other than the one it asks for (cfssl 1.2 ignores them all silently).
 */
const UNSUPPORTED_NAME_FIELDS = ["OID", "E", "SerialNumber"];
const UNSUPPORTED_FIELDS = ["serialnumber", "extensions", "crl_url", "delegation_enabled"];

/**
 * Reads and checks a cfssl CSR JSON as cfssl reads it (keys in any case, `"cn"` is the CN; an empty subject is
 * allowed). `file` names it in errors.
 */
export function parseCsrJson(text: string, file: string): CfsslCsrRequest {
  const f = Fields.of(parseJsonFile(text, file), file);
  for (const k of UNSUPPORTED_FIELDS) if (f.has(k) && f.get(k) !== false) throw f.error(k, "not supported by dk-bootstrap: remove it, or use cfssl");
  const names = readNames(f);
  const keyF = f.object("key");
  let key = DEFAULT_KEY_SPEC;
  if (keyF) {
    const algo = keyF.string("algo") ?? "ecdsa";
    const size = keyF.number("size") ?? (algo === "rsa" ? 2048 : 256);
    key = validateKeySpec({ algo: algo as KeyAlgorithm, size }, { file, field: "key" });
  }
  // cfssl writes `""` as an empty DNS name, which RFC 5280 forbids and no client matches: it gives no SAN here.
  const hosts = (f.strings("hosts") ?? []).filter((h) => h.trim() !== "");
  const req: CfsslCsrRequest = { CN: f.string("CN") ?? "", names, hosts, key };
  classifyHosts(req.hosts, { file, field: "hosts" });
  const caF = f.object("ca");
  if (caF) {
    const expiry = caF.string("expiry");
    const pathlen = caF.number("pathlen");
    if (pathlen !== undefined && (!Number.isInteger(pathlen) || pathlen < 0)) throw caF.error("pathlen", "expected a whole number >= 0", pathlen);
    const zero = caF.boolean("pathlenzero") ?? false;
    req.ca = {};
    if (expiry !== undefined) req.ca.expiryMs = parseDuration(expiry, { file, field: "ca.expiry" });
    // cfssl: pathlen 0 means "no limit" unless pathlenzero says it really is 0.
    if (pathlen !== undefined && (pathlen > 0 || zero)) req.ca.pathLen = pathlen;
    else if (zero) req.ca.pathLen = 0;
  }
  return req;
}

/** cfssl sign's SUBJECT file (signer.Subject): a CN, `names[]` and a serial number that replace the CSR's own. */
export interface CfsslSubject {
  CN: string;
  names: CfsslName[];
  SerialNumber: string;
}

/** Reads cfssl sign's SUBJECT JSON as Go reads it (keys in any case, other keys ignored, as signer.Subject ignores them). */
export function parseSubjectJson(text: string, file: string): CfsslSubject {
  const f = Fields.of(parseJsonFile(text, file), file);
  return { CN: f.string("CN") ?? "", names: readNames(f), SerialNumber: f.string("SerialNumber") ?? "" };
}

function readNames(f: Fields): CfsslName[] {
  return f.objects("names").map((n) => {
    for (const k of UNSUPPORTED_NAME_FIELDS) if (n.has(k)) throw n.error(k, "not supported by dk-bootstrap: remove it, or use cfssl");
    const out: CfsslName = {};
    for (const k of NAME_KEYS) {
      const v = n.string(k);
      if (v !== undefined) out[k] = v;
    }
    return out;
  });
}

/** The subject a CSR JSON describes: each `names[]` entry adds its values, in order. */
export function csrSubject(req: CfsslCsrRequest): SubjectName {
  const s: SubjectName = {};
  if (req.CN) s.CN = req.CN;
  for (const n of req.names) {
    for (const k of NAME_KEYS) {
      const v = n[k];
      if (v) (s[k] ??= []).push(v);
    }
  }
  return s;
}

/** Writes a CSR request as cfssl's CSR JSON, 4-space indented as `cfssl print-defaults csr` prints it. */
export function formatCsrJson(req: CfsslCsrRequest): string {
  const out: Record<string, unknown> = { CN: req.CN, hosts: req.hosts, key: { algo: req.key.algo, size: req.key.size }, names: req.names };
  if (req.ca) {
    const ca: Record<string, unknown> = {};
    if (req.ca.expiryMs !== undefined) ca.expiry = formatDuration(req.ca.expiryMs);
    if (req.ca.pathLen !== undefined) Object.assign(ca, { pathlen: req.ca.pathLen }, req.ca.pathLen === 0 ? { pathlenzero: true } : {});
    out.ca = ca;
  }
  return `${JSON.stringify(out, null, 4)}\n`;
}

/** What `cfssl print-defaults csr` prints. */
export const DEFAULT_CSR_REQUEST: CfsslCsrRequest = {
  CN: "example.net",
  hosts: ["example.net", "www.example.net"],
  key: { algo: "ecdsa", size: 256 },
  names: [{ C: "US", ST: "CA", L: "San Francisco" }],
};
