import { lstat, readFile, readlink } from "node:fs/promises";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { homedir } from "node:os";
import { InputError, exists, writeFileAtomic } from "@dk-bootstrap/pki";
import { type LockOptions, lockKubeconfigs, lockKubeconfig } from "./lock.js";
import { type Config, emptyConfig, entryIndex, goStringCompare, sameValue } from "./model.js";
import { parseKubeconfig, toYaml } from "./yaml.js";

/** Which files kubectl reads: `--kubeconfig` alone, else `$KUBECONFIG` (deduplicated), else `~/.kube/config`. */
export function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [resolve(explicit)];
  const list = (env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
  if (list.length > 0) return [...new Set(list.map((p) => resolve(p)))];
  return [join(env.HOME ?? homedir(), ".kube", "config")];
}

/** Reads one kubeconfig file; a missing file reads as empty, as kubectl config does, unless `mustExist`. */
export async function readKubeconfig(path: string, options: { mustExist?: boolean } = {}): Promise<Config> {
  let text: string;
  try {
    // Not "utf8": invalid UTF-8 is refused as kubectl's YAML reader refuses it, not turned into U+FFFD.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof TypeError && code === "ERR_ENCODING_INVALID_ENCODED_DATA") throw new InputError("malformed YAML: invalid UTF-8", { file: path });
    if (code === "ENOENT" && !options.mustExist) return emptyConfig();
    if (code === "ENOENT") throw new InputError("cannot read: no such file", { file: path });
    throw new InputError(`cannot read: ${code === "EACCES" ? "permission denied" : (e as Error).message}`, { file: path });
  }
  return parseKubeconfig(text, path);
}

const PATH_FIELDS = { clusters: ["certificate-authority"], users: ["client-certificate", "client-key", "tokenFile"] } as const;

/**
 * Writes a kubeconfig as kubectl does: mode 0600, `<file>.lock` held while writing (see
 * {@link lockKubeconfig}), paths under the file's folder made relative, a symlink written through
 * (its target replaced atomically, the link kept). For a read-modify-write, use {@link updateKubeconfig}.
 */
export async function writeKubeconfig(path: string, cfg: Config, options: LockOptions = {}): Promise<void> {
  const release = await lockKubeconfig(path, options);
  try {
    await writeLocked(path, cfg);
  } finally {
    await release();
  }
}

/**
 * Reads, changes and writes one kubeconfig under its lock, so that a concurrent writer's edit is
 * never lost. `edit` gets the file as it is (empty when missing) and returns the config to write,
 * or undefined to leave the file alone.
 */
export async function updateKubeconfig<T>(
  path: string,
  edit: (cfg: Config) => { write?: Config; result: T } | Promise<{ write?: Config; result: T }>,
  options: LockOptions = {},
): Promise<T> {
  const release = await lockKubeconfig(path, options);
  try {
    const { write, result } = await edit(await readKubeconfig(path));
    if (write) await writeLocked(path, write);
    return result;
  } finally {
    await release();
  }
}

/** Follows symlinks to the file they end at (which may not exist yet), as a write through the link by kubectl would. */
async function linkTarget(path: string): Promise<string> {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!(await lstat(p)).isSymbolicLink()) return p;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return p;
      throw e;
    }
    const to = await readlink(p);
    p = isAbsolute(to) ? to : resolve(dirname(p), to);
  }
  throw new InputError("too many levels of symbolic links", { file: path });
}

/** The write itself; the caller holds the lock. */
async function writeLocked(path: string, cfg: Config): Promise<void> {
  await writeFileAtomic(await linkTarget(path), toYaml(relativize(cfg, dirname(path))), { mode: 0o600 });
}

/** A copy of `cfg` whose file paths (CA, client certificate and key, token file) went through `fn`; entries without any are shared, not copied. */
function mapPaths(cfg: Config, fn: (path: string) => string): Config {
  const map = <E extends { name: string }, K extends "cluster" | "user">(list: E[] | null, inner: K, fields: readonly string[]): E[] | null =>
    list &&
    list.map((e) => {
      const body = (e as unknown as Record<string, Record<string, string | undefined>>)[inner]!;
      if (!fields.some((f) => body[f])) return e;
      const copy = { ...body };
      for (const f of fields) if (copy[f]) copy[f] = fn(copy[f]!);
      return { ...e, [inner]: copy };
    });
  return { ...cfg, clusters: map(cfg.clusters, "cluster", PATH_FIELDS.clusters), users: map(cfg.users, "user", PATH_FIELDS.users) };
}

/** On write, kubectl keeps a path relative only when it lies under the kubeconfig's folder. */
function relativize(cfg: Config, dir: string): Config {
  return mapPaths(cfg, (p) => {
    if (!isAbsolute(p)) return p;
    const r = relative(dir, p);
    return r.startsWith("..") || isAbsolute(r) ? p : r;
  });
}

/** On load, relative paths are taken against the file's folder, as client-go does. */
function absolutize(cfg: Config, dir: string): Config {
  return mapPaths(cfg, (p) => (isAbsolute(p) ? p : resolve(dir, p)));
}

/** Freezes a value and everything in it: entries are shared between a file's config and the merged view, never changed in place. */
function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Several kubeconfig files seen as one, the way KUBECONFIG works. */
export class KubeconfigFiles {
  private constructor(
    readonly paths: string[],
    private readonly configs: Config[],
    private readonly present: boolean[],
  ) {}

  /** Loads every file of the list (missing ones read as empty). */
  static async load(paths: string[]): Promise<KubeconfigFiles> {
    const configs = await Promise.all(
      paths.map(async (p) => {
        const cfg = absolutize(await readKubeconfig(p), dirname(p));
        for (const s of ["clusters", "users", "contexts", "preferences"] as const) deepFreeze(cfg[s]);
        return cfg;
      }),
    );
    const present = await Promise.all(paths.map((p) => exists(p)));
    return new KubeconfigFiles(paths, configs, present);
  }

  /**
   * The merged view: the first file to define a name wins the whole entry (top-level extensions
   * too), the first non-empty current-context wins. Its entries are the files' own, frozen: replace an entry (putEntry), never change it in place.
   */
  merged(): Config {
    const out = emptyConfig();
    const lists = { clusters: [] as unknown[], users: [] as unknown[], contexts: [] as unknown[] };
    const seen = { clusters: new Set<string>(), users: new Set<string>(), contexts: new Set<string>() };
    for (const cfg of this.configs) {
      for (const s of ["clusters", "users", "contexts"] as const) {
        for (const e of (cfg[s] ?? []) as { name: string }[]) {
          if (seen[s].has(e.name)) continue;
          seen[s].add(e.name);
          lists[s].push(e);
        }
      }
      if (!out["current-context"] && cfg["current-context"]) out["current-context"] = cfg["current-context"];
      if (Object.keys(out.preferences).length === 0 && Object.keys(cfg.preferences ?? {}).length > 0) out.preferences = cfg.preferences;
      for (const e of cfg.extensions ?? []) if (!(out.extensions ??= []).some((x) => x.name === e.name)) out.extensions.push(e);
    }
    for (const s of ["clusters", "users", "contexts"] as const) {
      const list = (lists[s] as { name: string }[]).sort((x, y) => goStringCompare(x.name, y.name));
      (out as unknown as Record<string, unknown>)[s] = list.length > 0 ? list : null;
    }
    return out;
  }

  /** Where new entries go: the first file that exists, else the last of the list. */
  defaultFile(): number {
    const i = this.present.findIndex((p) => p);
    return i >= 0 ? i : this.paths.length - 1;
  }

  /**
   * Edits the merged view of `paths` under the lock of every file, read after the locks are taken,
   * so parallel edits never lose one another. Each change goes back where kubectl would put it: a
   * changed or deleted entry to the file it came from, a new one (and a new current-context) to the
   * default file. Only the files that changed are written. Resolves to what `edit` returned.
   */
  static async update<T>(paths: string[], edit: (merged: Config) => T, options: LockOptions = {}): Promise<T> {
    const release = await lockKubeconfigs(paths, options);
    try {
      const files = await KubeconfigFiles.load(paths);
      let result!: T;
      const dirty = files.apply((cfg) => {
        result = edit(cfg);
      });
      for (const i of dirty) await writeLocked(files.paths[i]!, files.configs[i]!);
      return result;
    } finally {
      await release();
    }
  }

  /** Applies `edit` to the merged view and the changes to the files' configs in memory; returns the files changed. */
  private apply(edit: (merged: Config) => void): Set<number> {
    const before = this.merged();
    // The edit gets new lists holding the same frozen entries: what it replaces differs by identity.
    const after: Config = { ...before };
    for (const s of ["clusters", "users", "contexts"] as const) (after as unknown as Record<string, unknown>)[s] = before[s] && [...before[s]];
    edit(after);
    const dirty = new Set<number>();
    for (const s of ["clusters", "users", "contexts"] as const) {
      const old = before[s] ?? [];
      const mine = after[s] ?? [];
      // The edit got the same entries in a new list: an untouched section is the same objects in the same order.
      if (old.length === mine.length && old.every((e, k) => e === mine[k])) continue;
      // Maps, not scans, and each file's list rebuilt once: 200,000 entries changed at once stay linear.
      const was = entryIndex(before, s);
      const now = entryIndex(after, s);
      let origin: Map<string, number> | undefined;
      const changes = new Map<number, { put: Map<string, { name: string }>; gone: Set<string> }>();
      for (const name of [...was.keys(), ...[...now.keys()].filter((n) => !was.has(n))]) {
        const a = was.get(name);
        const b = now.get(name);
        if (a === b || sameValue(a, b)) continue;
        if (a && !origin) {
          origin = new Map();
          for (const [i, c] of this.configs.entries()) for (const e of c[s] ?? []) if (!origin.has(e.name)) origin.set(e.name, i);
        }
        const i = a ? origin!.get(name)! : this.defaultFile();
        if (!changes.has(i)) changes.set(i, { put: new Map(), gone: new Set() });
        if (b) changes.get(i)!.put.set(name, b);
        else changes.get(i)!.gone.add(name);
      }
      for (const [i, { put, gone }] of changes) {
        const list: { name: string }[] = (this.configs[i]![s] ?? []).filter((e) => !gone.has(e.name) && !put.has(e.name));
        list.push(...put.values());
        list.sort((x, y) => goStringCompare(x.name, y.name));
        (this.configs[i] as unknown as Record<string, unknown>)[s] = list.length > 0 ? list : null;
        dirty.add(i);
      }
    }
    if (!sameValue(before.preferences, after.preferences)) {
      const i = this.defaultFile();
      this.configs[i]!.preferences = after.preferences;
      dirty.add(i);
    }
    if (before["current-context"] !== after["current-context"]) {
      const setter = this.configs.findIndex((c) => c["current-context"] !== "");
      const i = after["current-context"] === "" && setter >= 0 ? setter : this.defaultFile();
      this.configs[i]!["current-context"] = after["current-context"];
      dirty.add(i);
    }
    return dirty;
  }
}
