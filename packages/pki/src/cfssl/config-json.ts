import { InputError, PkiError } from "../errors.js";
import { Fields, parseJsonFile } from "../json.js";
import { HOUR_MS, formatDuration, parseDuration } from "../duration.js";
import { type UsageName, type Usages, checkUsages, parseUsages } from "../usages.js";

/** A signing profile of a cfssl config. */
export interface SigningProfile {
  usageNames: string[];
  usages: Usages;
  expiryMs: number;
  /** `backdate`: how far notBefore goes back from the minute (cfssl's default 5 minutes when absent). */
  backdateMs?: number;
  /** `ca_constraint`: the profile issues intermediate CAs. */
  ca?: { pathLen?: number };
  /** `name_whitelist`: the CN, DNS names and email addresses must each match it. */
  nameWhitelist?: RegExp;
}

/** cfssl's config JSON (`signing.default`, `signing.profiles`), checked. */
export interface SigningConfig {
  default: SigningProfile;
  profiles: Record<string, SigningProfile>;
}

/** A request the signing policy refuses, as cfssl refuses it ("Policy violation request", "does not match policy whitelist"). */
export class SigningPolicyError extends PkiError {}

const DEFAULT_USAGES: UsageName[] = ["signing", "key encipherment", "server auth", "client auth"];

/** What cfssl signs with when no `-config` is given: server and client auth, 8760h. */
export const DEFAULT_SIGNING_CONFIG: SigningConfig = {
  default: { usageNames: DEFAULT_USAGES, usages: parseUsages(DEFAULT_USAGES), expiryMs: 8760 * HOUR_MS },
  profiles: {},
};

/**
 * What dk-bootstrap does not do, by field: refused with one line rather than signed without it. `remote`,
 * `auth_keys` and the like belong to cfssl's signing server (`cfssl serve`, `multirootca`): a local signature
 * would skip the server and its authentication. The rest are extensions or checks dk-bootstrap does not write.
 */
const REMOTE = "dk-bootstrap signs locally only; this belongs to cfssl's remote signing server (cfssl serve): use cfssl";
const UNSUPPORTED_ROOT: Record<string, string> = { auth_keys: REMOTE, remotes: REMOTE };
const UNSUPPORTED_PROFILE: Record<string, string> = {
  remote: REMOTE,
  auth_key: REMOTE,
  prev_auth_key: REMOTE,
  auth_remote: REMOTE,
  issuer_urls: "not supported by dk-bootstrap (no authority information access extension)",
  ocsp_url: "not supported by dk-bootstrap (no OCSP)",
  crl_url: "not supported by dk-bootstrap (no CRL distribution point)",
  policies: "not supported by dk-bootstrap (no certificate policies)",
  ocsp_no_check: "not supported by dk-bootstrap (no OCSP)",
  not_before: "not supported by dk-bootstrap: use expiry",
  not_after: "not supported by dk-bootstrap: use expiry",
  ct_log_servers: "not supported by dk-bootstrap (no certificate transparency)",
  lint_error_level: "not supported by dk-bootstrap (no zlint)",
  ignored_lints: "not supported by dk-bootstrap (no zlint)",
  copy_extensions: "not supported by dk-bootstrap (a CSR's extensions are never copied)",
  allowed_extensions: "not supported by dk-bootstrap (a CSR's extensions are never copied)",
  whitelist: "not supported by dk-bootstrap (CSR field whitelist)",
  cert_store: "not supported by dk-bootstrap (no certificate database)",
  client_provides_serial_numbers: "not supported by dk-bootstrap (serials are always random)",
};
const NAME_CONSTRAINTS = ["permitted_dns_domains", "excluded_dns_domains", "permitted_ip_ranges", "excluded_ip_ranges", "permitted_email_addresses"].concat([
  "excluded_email_addresses",
  "permitted_uri_domains",
  "excluded_uri_domains",
  "permitted_dns_domains_critical",
]);

/**
 * Reads and checks a cfssl config JSON as cfssl does (every profile needs an `expiry`, named profiles a usage; a
 * missing default is cfssl's default). Unknown usage names are errors, where cfssl drops them; fields for
 * cfssl's server or for extensions dk-bootstrap does not write are refused by name.
 */
export function parseConfigJson(text: string, file: string): SigningConfig {
  const root = Fields.of(parseJsonFile(text, file), file);
  for (const [k, why] of Object.entries(UNSUPPORTED_ROOT)) if (root.has(k)) throw root.error(k, why);
  const signing = root.object("signing");
  if (!signing) throw new InputError('missing the "signing" section', { file, field: "signing" });
  const defF = signing.object("default");
  const defaultProfile = defF ? readProfile(defF) : DEFAULT_SIGNING_CONFIG.default;
  const profiles: Record<string, SigningProfile> = {};
  const profilesF = signing.object("profiles");
  for (const name of Object.keys(profilesF?.obj ?? {})) {
    const p = profilesF!.object(name)!;
    const profile = readProfile(p);
    if (profile.usageNames.length === 0) throw p.error("usages", "a profile needs at least one usage");
    profiles[name] = profile;
  }
  return { default: defaultProfile, profiles };
}

function readProfile(f: Fields): SigningProfile {
  for (const [k, why] of Object.entries(UNSUPPORTED_PROFILE)) if (f.has(k) && f.get(k) !== false && f.get(k) !== "") throw f.error(k, why);
  const names = f.strings("usages") ?? [];
  const expiry = f.string("expiry");
  // cfssl: "empty expiry string" (config.go populate), for the default profile and every named one.
  if (expiry === undefined || expiry === "") throw f.error("expiry", 'missing: every profile needs an expiry, such as "8760h"');
  const profile: SigningProfile = {
    usageNames: names,
    usages: checkUsages(names, { file: f.file, field: f.at("usages") }),
    expiryMs: parseDuration(expiry, { file: f.file, field: f.at("expiry") }),
  };
  const backdate = f.string("backdate");
  if (backdate) profile.backdateMs = parseDuration(backdate, { file: f.file, field: f.at("backdate") });
  const whitelist = f.string("name_whitelist");
  if (whitelist) {
    try {
      profile.nameWhitelist = new RegExp(whitelist, "u");
    } catch {
      throw f.error("name_whitelist", "not a valid regular expression", whitelist);
    }
  }
  const cc = f.object("ca_constraint");
  for (const k of NAME_CONSTRAINTS) if (cc?.has(k)) throw cc.error(k, "not supported by dk-bootstrap (no name constraints)");
  if (cc?.boolean("is_ca")) {
    const max = cc.number("max_path_len");
    const zero = cc.boolean("max_path_len_zero") ?? false;
    profile.ca = max !== undefined && (max > 0 || zero) ? { pathLen: max } : zero ? { pathLen: 0 } : {};
  }
  return profile;
}

/**
 * The named profile, or the default one; an unknown name is an error listing the known ones, and so is
 * a profile with no usages (cfssl refuses it too: "no key usage available").
 */
export function selectProfile(config: SigningConfig, name: string | undefined, file = "config"): SigningProfile {
  const known = Object.keys(config.profiles);
  if (name === undefined || name === "") {
    if (config.default.usageNames.length > 0) return config.default;
    throw new InputError(`the default profile has no usages${known.length ? `: pass -profile (${known.join(", ")})` : ""}`, {
      file,
      field: "signing.default.usages",
    });
  }
  const p = config.profiles[name];
  if (!p) {
    throw new InputError(`unknown profile; ${known.length ? `known: ${known.join(", ")}` : "the config defines none"}`, {
      file,
      field: "signing.profiles",
      value: name,
    });
  }
  return p;
}

/** Writes a signing config as cfssl's config JSON, 4-space indented as `cfssl print-defaults config` prints it. */
export function formatConfigJson(config: SigningConfig): string {
  const profile = (p: SigningProfile): Record<string, unknown> => ({
    expiry: formatDuration(p.expiryMs),
    ...(p.usageNames.length > 0 ? { usages: p.usageNames } : {}),
    ...(p.ca
      ? { ca_constraint: { is_ca: true, ...(p.ca.pathLen !== undefined ? { max_path_len: p.ca.pathLen, max_path_len_zero: p.ca.pathLen === 0 } : {}) } }
      : {}),
  });
  const profiles = Object.fromEntries(Object.entries(config.profiles).map(([name, p]) => [name, profile(p)]));
  return `${JSON.stringify({ signing: { default: profile(config.default), profiles } }, null, 4)}\n`;
}

const profileOf = (usageNames: UsageName[], hours: number): SigningProfile => ({ usageNames, usages: parseUsages(usageNames), expiryMs: hours * HOUR_MS });

/** What `cfssl print-defaults config` prints: a 168h default, `www` (server) and `client` profiles. */
export const PRINT_DEFAULTS_CONFIG: SigningConfig = {
  default: profileOf([], 168),
  profiles: { www: profileOf(["signing", "key encipherment", "server auth"], 8760), client: profileOf(["signing", "key encipherment", "client auth"], 8760) },
};
