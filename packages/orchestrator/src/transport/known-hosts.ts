import { createHash, createHmac } from "node:crypto";
import { chmod, mkdir, appendFile, readFile } from "node:fs/promises";
import { dirname } from "node:path";

/** One line of a known_hosts file. */
export interface KnownHost {
  marker?: "@cert-authority" | "@revoked";
  /** The host field as written: comma-separated patterns, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
  file: string;
  line: number;
}

/** What the known_hosts files say of a host's key. */
export type HostKeyVerdict =
  { status: "known"; entry: KnownHost } | { status: "unknown" } | { status: "changed"; expected: KnownHost[] } | { status: "revoked"; entry: KnownHost };

/** Parses known_hosts text as OpenSSH does (markers, hashed names, comments and blank lines skipped). */
export function parseKnownHosts(text: string, file: string): KnownHost[] {
  const out: KnownHost[] = [];
  text.split("\n").forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0]!.startsWith("#")) return;
    const marker = fields[0] === "@cert-authority" || fields[0] === "@revoked" ? (fields.shift() as KnownHost["marker"]) : undefined;
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return;
    out.push({ ...(marker ? { marker } : {}), hosts, keyType, key: Buffer.from(b64, "base64"), file, line: i + 1 });
  });
  return out;
}

/** The name OpenSSH looks up: `host`, or `[host]:port` when the port is not 22. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
}

/** Whether a known_hosts host field names `name` (hashed names, wildcards and `!` negations included). */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    return (
      createHmac("sha1", Buffer.from(salt ?? "", "base64"))
        .update(name)
        .digest("base64") === hash
    );
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    if (globToRegExp(negated ? pattern.slice(1) : pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Checks a server's key against known_hosts entries the way OpenSSH does. */
export function verifyHostKey(entries: readonly KnownHost[], name: string, keyType: string, key: Buffer): HostKeyVerdict {
  const mine = entries.filter((e) => hostFieldMatches(e.hosts, name));
  const revoked = entries.find((e) => e.marker === "@revoked" && e.key.equals(key));
  if (revoked) return { status: "revoked", entry: revoked };
  const plain = mine.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.keyType === keyType && e.key.equals(key));
  if (same) return { status: "known", entry: same };
  const expected = plain.filter((e) => e.keyType === keyType);
  return expected.length > 0 ? { status: "changed", expected } : { status: "unknown" };
}

/** The key types known for a host: OpenSSH asks the server for those first, so a host with an ed25519 entry is not refused for offering ECDSA. */
export function knownKeyTypes(entries: readonly KnownHost[], name: string): string[] {
  return [...new Set(entries.filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, name)).map((e) => e.keyType))];
}

/** OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the key blob's SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** Reads known_hosts files; missing ones are empty. */
export async function loadKnownHosts(files: readonly string[]): Promise<KnownHost[]> {
  const all = await Promise.all(files.map(async (f) => parseKnownHosts(await readFile(f, "utf8").catch(() => ""), f)));
  return all.flat();
}

/** Appends a host's key to a known_hosts file (folder 0700, file 0600), as `ssh -o StrictHostKeyChecking=accept-new` does. */
export async function addKnownHost(file: string, name: string, keyType: string, key: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${name} ${keyType} ${key.toString("base64")}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}
