import { InputError } from "../errors.js";
import { Fields, parseJsonFile } from "../json.js";
import { HOUR_MS, formatDuration, parseDuration } from "../duration.js";
import { type UsageName, type Usages, checkUsages, parseUsages } from "../usages.js";

/** A signing profile of a cfssl config. */
export interface SigningProfile {
  usageNames: string[];
  usages: Usages;
  expiryMs: number;
  /** `ca_constraint`: the profile issues intermediate CAs. */
  ca?: { pathLen?: number };
}

/** cfssl's config JSON (`signing.default`, `signing.profiles`), checked. */
export interface SigningConfig {
  default: SigningProfile;
  profiles: Record<string, SigningProfile>;
}

const DEFAULT_USAGES: UsageName[] = ["signing", "key encipherment", "server auth", "client auth"];

/** What cfssl signs with when no `-config` is given: server and client auth, 8760h. */
export const DEFAULT_SIGNING_CONFIG: SigningConfig = {
  default: { usageNames: DEFAULT_USAGES, usages: parseUsages(DEFAULT_USAGES), expiryMs: 8760 * HOUR_MS },
  profiles: {},
};

/** Reads and checks a cfssl config JSON. Unknown usage names are errors, where cfssl drops them. */
export function parseConfigJson(text: string, file: string): SigningConfig {
  const root = Fields.of(parseJsonFile(text, file), file);
  const signing = root.object("signing");
  if (!signing) throw new InputError('missing the "signing" section', { file, field: "signing" });
  const defF = signing.object("default");
  const defaultProfile = readProfile(defF, DEFAULT_SIGNING_CONFIG.default, DEFAULT_SIGNING_CONFIG.default.expiryMs);
  const profiles: Record<string, SigningProfile> = {};
  const profilesF = signing.object("profiles");
  for (const name of Object.keys(profilesF?.obj ?? {})) {
    const p = profilesF!.object(name)!;
    const profile = readProfile(p, undefined, defaultProfile.expiryMs);
    if (profile.usageNames.length === 0) throw p.error("usages", "a profile needs at least one usage");
    profiles[name] = profile;
  }
  return { default: defaultProfile, profiles };
}

function readProfile(f: Fields | undefined, fallback: SigningProfile | undefined, defaultExpiry: number): SigningProfile {
  if (!f) return fallback!;
  const names = f.strings("usages") ?? [];
  const expiry = f.string("expiry");
  const profile: SigningProfile = {
    usageNames: names,
    usages: checkUsages(names, { file: f.file, field: f.at("usages") }),
    expiryMs: expiry === undefined ? defaultExpiry : parseDuration(expiry, { file: f.file, field: f.at("expiry") }),
  };
  const cc = f.object("ca_constraint");
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
