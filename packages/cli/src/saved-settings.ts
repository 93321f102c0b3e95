import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClusterFolder, InputError } from "@dk-bootstrap/pki";
import type { Command, Option } from "commander";
import { quoteString } from "@dk-bootstrap/kubeconfig";
import { YAMLException, load } from "js-yaml";

/** The file in the cluster folder that remembers the settings it was made with, as kubeadm keeps its ClusterConfiguration. */
export const SETTINGS_FILE = "cluster.yaml";

/** One remembered setting: the flag that sets it and where it lives in the file (the Cluster shape of `apply -f`). */
interface Setting {
  flag: string;
  path: string;
  kind: "string" | "list" | "number" | "boolean";
}

/** Every setting the folder remembers, in the file's order. */
const SETTINGS: readonly Setting[] = [
  { flag: "--cluster-name", path: "metadata.name", kind: "string" },
  { flag: "--node-name", path: "spec.hosts.0.nodeName", kind: "string" },
  // One address or several, as the cluster file of `apply` takes it.
  { flag: "--node-ip", path: "spec.hosts.0.nodeIP", kind: "list" },
  { flag: "--remote-root", path: "spec.hosts.0.remoteRoot", kind: "string" },
  { flag: "--server", path: "spec.apiEndpoint", kind: "string" },
  { flag: "--mirror", path: "spec.mirror", kind: "string" },
  { flag: "--checksums", path: "spec.checksums", kind: "string" },
  // Saved with the mirror it was given for: a re-run without flags keeps the choice (true, or not saved).
  { flag: "--allow-http-mirror", path: "spec.allowHttpMirror", kind: "boolean" },
  { flag: "--service-cidr", path: "spec.network.serviceCIDR", kind: "string" },
  { flag: "--pod-cidr", path: "spec.network.podCIDR", kind: "string" },
  { flag: "--cluster-domain", path: "spec.network.clusterDomain", kind: "string" },
  { flag: "--cni", path: "spec.network.cni", kind: "string" },
  { flag: "--ingress", path: "spec.addons.ingress", kind: "string" },
  // The web app's image: a re-run without it must not put the Deployment back on the default image.
  { flag: "--web-image", path: "spec.addons.webImage", kind: "string" },
  { flag: "--key-algo", path: "spec.pki.keyAlgorithm", kind: "string" },
  { flag: "--key-size", path: "spec.pki.keySize", kind: "number" },
  { flag: "--key-format", path: "spec.pki.keyFormat", kind: "string" },
  { flag: "--validity", path: "spec.pki.certificateValidity", kind: "string" },
  { flag: "--context-name", path: "spec.pki.contextName", kind: "string" },
  { flag: "--k8s-version", path: "spec.versions.kubernetes", kind: "string" },
  { flag: "--etcd-version", path: "spec.versions.etcd", kind: "string" },
  { flag: "--containerd-version", path: "spec.versions.containerd", kind: "string" },
  { flag: "--runc-version", path: "spec.versions.runc", kind: "string" },
  { flag: "--cni-version", path: "spec.versions.cniPlugins", kind: "string" },
  { flag: "--helm-version", path: "spec.versions.helm", kind: "string" },
];

/** Values as commander holds them: strings, and lists for repeatable flags. */
export type Saved = Map<string, string | string[]>;

const HEADER =
  "# The settings this cluster folder was made with (dk-bootstrap certs, ssh, local).\n" +
  "# A re-run without flags keeps them; a flag changes one, and the run says so before writing.\n";

/** The saved settings of a folder, and the file's text they were read from (undefined when there is none). */
export interface SavedSettings {
  saved: Saved;
  text: string | undefined;
}

/** Reads the folder's saved settings; none when it has no file. Bad content is named by field. */
export async function readSavedSettings(dir: string): Promise<SavedSettings> {
  const file = join(dir, SETTINGS_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return { saved: new Map(), text: undefined };
    throw e;
  }
  return { saved: parseSavedSettings(text, file), text };
}

/** The settings in a file's text. */
export function parseSavedSettings(text: string, file: string): Saved {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (e) {
    throw new InputError(`not readable YAML: ${e instanceof YAMLException ? e.reason : String(e)}`, { file });
  }
  const saved: Saved = new Map();
  const known = new Set(SETTINGS.map((s) => s.path));
  if (!isObject(doc)) throw new InputError("expected a ClusterSettings document", { file });
  // The apply file shares the name and once shared the kind: one put here is named for what it is.
  const spec = doc.spec as { hosts?: unknown } | undefined;
  if (doc.kind === "Cluster" && isObject(spec) && Array.isArray(spec.hosts) && spec.hosts.some((h) => isObject(h) && ("ssh" in h || "role" in h)))
    throw new InputError(
      "is a cluster file for `apply -f` (its hosts have ssh and role), not the settings `certs` keeps in a cluster folder",
      { file },
      { hint: "keep it beside the cluster folder and run `dk-bootstrap apply -f` on it; certs, ssh and local write this file themselves" },
    );
  // `Cluster` is what folders made before ClusterSettings hold: still read, written anew as ClusterSettings.
  if (doc.apiVersion !== "dk-bootstrap/v1alpha1" || (doc.kind !== "ClusterSettings" && doc.kind !== "Cluster"))
    throw new InputError("expected apiVersion dk-bootstrap/v1alpha1, kind ClusterSettings", { file, field: "apiVersion", value: doc.apiVersion });
  for (const [path, value] of leaves(doc)) {
    if (path === "apiVersion" || path === "kind") continue;
    if (!known.has(path)) throw new InputError("unknown field", { file, field: path });
    const setting = SETTINGS.find((s) => s.path === path)!;
    const ok =
      setting.kind === "list"
        ? typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"))
        : typeof value === setting.kind;
    if (!ok) throw new InputError(`expected ${setting.kind === "list" ? "a string or a list of strings" : `a ${setting.kind}`}`, { file, field: path, value });
    saved.set(setting.flag, setting.kind === "list" ? ([] as string[]).concat(value as string | string[]) : String(value));
  }
  return saved;
}

/** The file's text for these settings. */
export function formatSavedSettings(saved: Saved): string {
  const doc: Record<string, unknown> = { apiVersion: "dk-bootstrap/v1alpha1", kind: "ClusterSettings" };
  for (const s of SETTINGS) {
    const v = saved.get(s.flag);
    if (v === undefined) continue;
    put(doc, s.path.split("."), s.kind === "number" ? Number(v) : s.kind === "boolean" ? v === "true" : Array.isArray(v) && v.length === 1 ? v[0] : v);
  }
  return `${HEADER}${blockYaml(doc, "").join("\n")}\n`;
}

/**
 * A mapping as block YAML, two spaces an indent, a sequence's items under their key as js-yaml writes them; strings
 * quoted as go-yaml quotes them (quoteString), which js-yaml and kubectl both read back as strings. By hand: js-yaml's
 * dump costs a short-lived run ~3 ms, most of it compiling the emitter, for a dozen lines.
 */
function blockYaml(map: Record<string, unknown>, pad: string): string[] {
  const lines: string[] = [];
  for (const [key, v] of Object.entries(map)) {
    if (Array.isArray(v) && v.length > 0) {
      lines.push(`${pad}${key}:`);
      for (const item of v) {
        if (!isObject(item)) lines.push(`${pad}  - ${scalar(item, pad.length + 4)}`);
        else {
          const [first, ...rest] = blockYaml(item, `${pad}    `);
          lines.push(`${pad}  - ${first!.trimStart()}`, ...rest);
        }
      }
    } else if (isObject(v) && Object.keys(v).length > 0) lines.push(`${pad}${key}:`, ...blockYaml(v, `${pad}  `));
    else lines.push(`${pad}${key}: ${Array.isArray(v) ? "[]" : isObject(v) ? "{}" : scalar(v, pad.length + 2)}`);
  }
  return lines;
}

/** `indent`: where a multi-line string's lines go, two deeper than its key or its item's dash. */
function scalar(v: unknown, indent: number): string {
  return typeof v === "string" ? quoteString(v, indent) : String(v);
}

/** A change the flags make to a saved setting, said before anything is written. */
export interface SettingChange {
  flag: string;
  from: string | string[];
  to: string | string[] | undefined;
}

/**
 * Fills each of the command's flags that was not given from the saved settings, and lists the saved
 * settings the given flags change. A key size is only taken with the algorithm it was saved with.
 */
export function applySavedSettings(cmd: Command, saved: Saved): SettingChange[] {
  const changes: SettingChange[] = [];
  const option = (flag: string) => (cmd.options as readonly Option[]).find((o) => o.long === flag);
  const given = (flag: string) => option(flag) !== undefined && cmd.getOptionValueSource(option(flag)!.attributeName()) === "cli";
  for (const [flag, value] of saved) {
    const o = option(flag);
    if (!o) continue;
    const key = o.attributeName();
    if (given(flag)) {
      const given = cmd.getOptionValue(key) as string | string[] | boolean;
      const now = given === true ? "true" : (given as string | string[]);
      // One value in two spellings (v1.35.2 and 1.35.2, fd00:0:0:0::10 and fd00::10) is no change.
      if (JSON.stringify(canonical(flag, now)) !== JSON.stringify(canonical(flag, value))) changes.push({ flag, from: value, to: now });
    } else if (!(flag === "--key-size" && given("--key-algo") && saved.get("--key-algo") !== cmd.getOptionValue("keyAlgo"))) {
      cmd.setOptionValueWithSource(key, SETTINGS.find((s) => s.flag === flag)?.kind === "boolean" ? value === "true" : value, "config");
    }
  }
  return changes;
}

/** The command's settings as they are now, over the saved ones (settings of other commands kept). */
export function settingsToSave(cmd: Command, saved: Saved): Saved {
  const out: Saved = new Map(saved);
  for (const s of SETTINGS) {
    const o = (cmd.options as readonly Option[]).find((opt) => opt.long === s.flag);
    if (!o) continue;
    const v = cmd.getOptionValue(o.attributeName()) as string | string[] | boolean | undefined;
    if (v === undefined || v === false || (Array.isArray(v) && v.length === 0)) out.delete(s.flag);
    else out.set(s.flag, canonical(s.flag, v === true ? "true" : v));
  }
  return out;
}

/**
 * Stages the settings file into the run's set, so that it is written with the PKI it describes, or not
 * at all. `readBefore` is the text the settings were read from before the folder's lock was taken: a
 * run that changed them meanwhile makes this one stop rather than undo its change.
 */
export async function stageSavedSettings(folder: ClusterFolder, saved: Saved, readBefore: string | undefined): Promise<void> {
  const file = join(folder.dir, SETTINGS_FILE);
  const text = formatSavedSettings(saved);
  const now = await folder.read(file);
  // Another run that saved these very settings meanwhile (the same `certs` twice at once) is no conflict.
  if (now !== readBefore && now !== text)
    throw new InputError("changed by another run while this one waited for the folder", { file }, { hint: "run the command again" });
  await folder.stage(file, text, { mode: 0o644 });
}

/**
 * A setting in its one canonical spelling: versions without their `v`, IPv6 addresses (and CIDRs) compressed and in
 * lower case as RFC 5952 writes them. Anything that is not such a value is returned as it is, for its check to refuse.
 */
export function canonical<T extends string | string[]>(flag: string, value: T): T {
  const one = (v: string): string => {
    if (flag.endsWith("-version")) return v.replace(/^v(?=\d)/, "");
    if (flag === "--node-ip" || flag.endsWith("-cidr")) {
      const [addr, bits] = v.split("/");
      if (!addr?.includes(":") || addr.includes("%")) return v;
      try {
        const host = new URL(`http://[${addr}]/`).hostname.slice(1, -1);
        return bits === undefined ? host : `${host}/${bits}`;
      } catch {
        return v;
      }
    }
    return v;
  };
  return (Array.isArray(value) ? value.map(one) : one(value)) as T;
}

/** One line per change, as `--node-ip: 192.0.2.7 -> 192.0.2.8`. */
export function describeChange(c: SettingChange): string {
  const show = (v: string | string[] | undefined) => (v === undefined || (Array.isArray(v) && v.length === 0) ? "(none)" : Array.isArray(v) ? v.join(",") : v);
  return `${c.flag}: ${show(c.from)} -> ${show(c.to)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every leaf of a parsed document with its dotted path; lists of scalars are leaves, lists of objects are indexed. */
function* leaves(v: unknown, path = ""): Generator<[string, unknown]> {
  if (isObject(v)) {
    for (const [k, child] of Object.entries(v)) yield* leaves(child, path ? `${path}.${k}` : k);
  } else if (Array.isArray(v) && v.some((x) => isObject(x))) {
    for (const [i, child] of v.entries()) yield* leaves(child, `${path}.${i}`);
  } else yield [path, v];
}

function put(doc: Record<string, unknown>, path: string[], value: unknown): void {
  let at: Record<string, unknown> | unknown[] = doc;
  for (const [i, key] of path.entries()) {
    const last = i === path.length - 1;
    const nextIsIndex = !last && /^\d+$/.test(path[i + 1]!);
    const slot = Array.isArray(at) ? Number(key) : key;
    const container = at as Record<string | number, unknown>;
    if (last) container[slot] = value;
    else {
      container[slot] ??= nextIsIndex ? [] : {};
      at = container[slot] as Record<string, unknown> | unknown[];
    }
  }
}
