/**
 * kubeconfig v1, as client-go's clientcmd/api/v1 types serialize it: the field names are the
 * YAML keys, so a parsed file and the model are the same object.
 */

/** A named extension: any JSON value, kept as it is. */
export interface NamedExtension {
  name: string;
  extension: unknown;
}

export interface Cluster {
  server: string;
  "tls-server-name"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "certificate-authority"?: string;
  /** Base64 of the PEM bytes. */
  "certificate-authority-data"?: string;
  "proxy-url"?: string;
  "disable-compression"?: boolean;
  extensions?: NamedExtension[];
}

export interface ExecEnvVar {
  name: string;
  value: string;
}

export interface ExecConfig {
  command: string;
  args: string[] | null;
  env: ExecEnvVar[] | null;
  apiVersion?: string;
  installHint?: string;
  provideClusterInfo: boolean;
  interactiveMode?: "Never" | "IfAvailable" | "Always";
}

export interface AuthProviderConfig {
  name: string;
  config: Record<string, string> | null;
}

export interface AuthInfo {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  as?: string;
  "as-uid"?: string;
  "as-groups"?: string[];
  "as-user-extra"?: Record<string, string[]>;
  username?: string;
  password?: string;
  "auth-provider"?: AuthProviderConfig;
  exec?: ExecConfig;
  extensions?: NamedExtension[];
}

export interface Context {
  cluster: string;
  user: string;
  namespace?: string;
  extensions?: NamedExtension[];
}

export interface Preferences {
  colors?: boolean;
  extensions?: NamedExtension[];
}

/** A kubeconfig file. Lists are `null` when empty, as kubectl writes them. */
export interface Config {
  apiVersion?: string;
  kind?: string;
  preferences: Preferences;
  clusters: { name: string; cluster: Cluster }[] | null;
  users: { name: string; user: AuthInfo }[] | null;
  contexts: { name: string; context: Context }[] | null;
  "current-context": string;
  extensions?: NamedExtension[];
}

/** An empty kubeconfig, as kubectl starts one. */
export function emptyConfig(): Config {
  return { apiVersion: "v1", kind: "Config", preferences: {}, clusters: null, users: null, contexts: null, "current-context": "" };
}

type Section = "clusters" | "users" | "contexts";
type Item<S extends Section> = NonNullable<Config[S]>[number];

/** The entry called `name` of a section, or undefined. */
export function findEntry<S extends Section>(cfg: Config, section: S, name: string): Item<S> | undefined {
  return (cfg[section] as Item<S>[] | null)?.find((e) => e.name === name);
}

/** Go's order of strings (bytes of UTF-8, that is code points), which kubectl sorts entry names by. */
export function goStringCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 units order code points except where a surrogate pair meets U+E000..U+FFFF.
    if (x < 0xd800 || y < 0xd800 || (x >= 0xe000 && y >= 0xe000)) return x - y;
    return a.codePointAt(i)! - b.codePointAt(i)!;
  }
  return a.length - b.length;
}

/** Puts an entry in a section, replacing one of the same name; kubectl keeps sections sorted by name. */
export function putEntry<S extends Section>(cfg: Config, section: S, entry: Item<S>): void {
  const list = [...((cfg[section] as Item<S>[] | null) ?? [])];
  const sorted = list.every((e, i) => i === 0 || goStringCompare(list[i - 1]!.name, e.name) < 0);
  if (!sorted) list.sort((a, b) => goStringCompare(a.name, b.name));
  // Binary search: a file of 200,000 clusters gets an entry in microseconds, not a sort.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (goStringCompare(list[mid]!.name, entry.name) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, lo < list.length && list[lo]!.name === entry.name ? 1 : 0, entry);
  (cfg as unknown as Record<Section, Item<S>[] | null>)[section] = list;
}

/** Removes an entry; true when there was one. Sections left empty become null. */
export function removeEntry(cfg: Config, section: Section, name: string): boolean {
  const list = (cfg[section] as { name: string }[] | null) ?? [];
  const kept = list.filter((e) => e.name !== name);
  (cfg as unknown as Record<Section, unknown>)[section] = kept.length > 0 ? kept : null;
  return kept.length !== list.length;
}

/** Entries of a section by name, for lookups in loops (findEntry is a scan). */
export function entryIndex<S extends Section>(cfg: Config, section: S): Map<string, Item<S>> {
  return new Map(((cfg[section] as Item<S>[] | null) ?? []).map((e) => [e.name, e]));
}

/** Deep equality of two parsed values, whatever the order of their keys (files and code order them differently). */
export function sameValue(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : typeof v === "object" && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/** An extensions list as kubectl writes it: it goes through a map (names are unique), so sorted by name. */
function canonicalExtensions(list: NamedExtension[]): NamedExtension[] {
  return [...list].sort((a, b) => goStringCompare(a.name, b.name));
}

/** `cfg` with every extensions list as kubectl writes it; entries without extensions are shared, not copied. */
export function withCanonicalExtensions(cfg: Config): Config {
  const fix = <T extends { extensions?: NamedExtension[] }>(o: T): T =>
    o.extensions && o.extensions.length > 0 ? { ...o, extensions: canonicalExtensions(o.extensions) } : o;
  const section = <E extends { name: string }, K extends keyof E>(list: E[] | null, inner: K): E[] | null =>
    list &&
    list.map((e) => {
      const body = e[inner] as { extensions?: NamedExtension[] };
      const fixed = body && fix(body);
      return fixed === body ? e : { ...e, [inner]: fixed };
    });
  return {
    ...fix(cfg),
    preferences: cfg.preferences && fix(cfg.preferences),
    clusters: section(cfg.clusters, "cluster"),
    users: section(cfg.users, "user"),
    contexts: section(cfg.contexts, "context"),
  };
}
