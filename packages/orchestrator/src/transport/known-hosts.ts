import { createHash, createHmac } from "node:crypto";
import { chmod, mkdir, appendFile, readFile } from "node:fs/promises";
import { isIPv4, isIPv6 } from "node:net";
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

/** An IPv4 address as inet_aton reads it (glibc's getaddrinfo with AI_NUMERICHOST): 1 to 4 parts, each decimal, octal or hex. */
const INET_ATON = /^(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)(?:\.(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)){0,3}$/i;

/** IPv6 text as glibc's inet_ntop writes it: the WHATWG form, but an IPv4-mapped or -compatible tail in dotted quads. */
function ntop6(address: string): string {
  const hex = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const m = /^::(ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(hex);
  if (!m) return hex;
  const [hi, lo] = [parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
  return `::${m[1] ?? ""}${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * The host as OpenSSH names it in known_hosts (ssh.c, ssh_login): an address in the numeric form getnameinfo
 * gives (`127.1` is `127.0.0.1`, `0:0::1` is `::1`), anything else in lower case. Brackets around it are
 * dropped, since `[host]:port` is how the port is written, never part of the host.
 */
export function canonicalHost(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  const [address, zone] = bare.split("%", 2) as [string, string | undefined];
  if (isIPv6(address)) return `${ntop6(address)}${zone === undefined ? "" : `%${zone}`}`.toLowerCase();
  if (zone === undefined && INET_ATON.test(bare)) {
    try {
      const v4 = new URL(`http://${bare}/`).hostname;
      if (isIPv4(v4)) return v4;
    } catch {
      // out of range (e.g. 1.2.3.256): OpenSSH takes it as a name, and so do we
    }
  }
  return bare.toLowerCase();
}

/** The name OpenSSH looks up and records (sshconnect.c, put_host_port): the canonical host, as `[host]:port` when the port is not 22. */
export function hostKeyName(host: string, port: number): string {
  const name = canonicalHost(host);
  return port === 22 ? name : `[${name}]:${port}`;
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

/** OpenSSH calls a key CHANGED when one of the same kind is known (sshkey_type_plain): every ECDSA curve is one kind. */
function keyKind(keyType: string): string {
  return keyType.replace(/^(sk-)?ecdsa-sha2-.*/, "$1ecdsa");
}

/** Checks a server's key against the known_hosts entries for one name (as written in the file: see {@link hostKeyName}). */
export function verifyHostKey(entries: readonly KnownHost[], name: string, keyType: string, key: Buffer): HostKeyVerdict {
  const mine = entries.filter((e) => hostFieldMatches(e.hosts, name));
  const revoked = entries.find((e) => e.marker === "@revoked" && e.key.equals(key));
  if (revoked) return { status: "revoked", entry: revoked };
  const plain = mine.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.keyType === keyType && e.key.equals(key));
  if (same) return { status: "known", entry: same };
  const expected = plain.filter((e) => keyKind(e.keyType) === keyKind(keyType));
  return expected.length > 0 ? { status: "changed", expected } : { status: "unknown" };
}

/**
 * Checks the key a host offers on a port as `ssh` does (sshconnect.c, check_host_key): under the canonical
 * `[host]:port` name, and when that name is unknown on a port other than 22, the same key known under the
 * bare host name is accepted too ("found matching key w/out port"); a different key there is not a change.
 * The address is not looked up as well: that is CheckHostIP, off by default since OpenSSH 8.5 (readconf.c).
 */
export function checkHostKey(entries: readonly KnownHost[], host: string, port: number, keyType: string, key: Buffer): HostKeyVerdict {
  const verdict = verifyHostKey(entries, hostKeyName(host, port), keyType, key);
  if (verdict.status !== "unknown" || port === 22) return verdict;
  const bare = verifyHostKey(entries, hostKeyName(host, 22), keyType, key);
  return bare.status === "known" ? bare : verdict;
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
