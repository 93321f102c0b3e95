import { readFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";

/** What `~/.ssh/config` says of a host, for the options dk-bootstrap uses. */
export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  proxyJump?: string;
}

interface Block {
  patterns: string[];
  options: [string, string][];
}

/** Parses ssh_config text into `Host` blocks (options before the first `Host` apply to all; `Match` blocks are skipped). */
export function parseSshConfig(text: string): Block[] {
  const blocks: Block[] = [{ patterns: ["*"], options: [] }];
  let skipping = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.replace(/^"(.*)"$/, "$1");
    if (key === "host") {
      blocks.push({ patterns: value.split(/\s+/), options: [] });
      skipping = false;
    } else if (key === "match") skipping = true;
    else if (!skipping) blocks.at(-1)!.options.push([key, value]);
  }
  return blocks;
}

function matches(patterns: string[], host: string): boolean {
  let hit = false;
  for (const p of patterns) {
    const negated = p.startsWith("!");
    const re = new RegExp(
      `^${(negated ? p.slice(1) : p)
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
      "i",
    );
    if (re.test(host)) {
      if (negated) return false;
      hit = true;
    }
  }
  return hit;
}

/** OpenSSH's rule: for each option the first value found, in file order, wins; IdentityFile adds up. `~` and %h %r %u %% expanded. */
export function resolveSshConfig(blocks: Block[], alias: string): SshHostConfig {
  const out: SshHostConfig = { identityFiles: [] };
  const seen = new Set<string>();
  for (const b of blocks) {
    if (!matches(b.patterns, alias)) continue;
    for (const [key, value] of b.options) {
      if (key === "identityfile") out.identityFiles.push(value);
      else if (!seen.has(key)) {
        seen.add(key);
        if (key === "hostname") out.hostName = value;
        else if (key === "user") out.user = value;
        else if (key === "port") out.port = Number(value);
        else if (key === "proxyjump" && value.toLowerCase() !== "none") out.proxyJump = value;
      }
    }
  }
  const host = out.hostName ?? alias;
  const expand = (v: string) =>
    v
      .replace(/^~(?=\/|$)/, homedir())
      .replace(/%(.)/g, (_, c: string) =>
        c === "h" ? host : c === "r" ? (out.user ?? userInfo().username) : c === "u" ? userInfo().username : c === "%" ? "%" : `%${c}`,
      );
  out.identityFiles = out.identityFiles.map(expand);
  if (out.hostName) out.hostName = expand(out.hostName);
  return out;
}

/** Reads `~/.ssh/config` (or `file`) and resolves `alias`; no file means no settings. */
export async function sshConfigFor(alias: string, file = join(homedir(), ".ssh", "config")): Promise<SshHostConfig> {
  const text = await readFile(file, "utf8").catch(() => "");
  return resolveSshConfig(parseSshConfig(text), alias);
}
