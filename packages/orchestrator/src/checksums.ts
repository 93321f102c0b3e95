import { readFile } from "node:fs/promises";
import { DkError, InputError } from "@dk-bootstrap/pki";
import type { Artifact } from "./artifacts.js";
import type { NodeSpec } from "./spec.js";

/**
 * Where a download's SHA-256 comes from when a mirror serves the file. Never the mirror: whoever serves a
 * binary and its checksum file can change both, and the binary runs as root on every node. The sources, in
 * the order they are asked (each artifact takes the first that knows its upstream URL):
 */
export const CHECKSUM_SOURCES = [
  /** `--checksums FILE` / `spec.checksums`: the operator's own table (`SHA256  URL` lines, the upstream URLs). */
  "file",
  /** The upstream's published checksum file, fetched from the upstream itself (not the mirror) when it answers. */
  "upstream",
] as const;

/** How long the upstream's checksum file may take: an air-gapped machine fails at once (no DNS) or hangs here. */
const UPSTREAM_TIMEOUT_MS = 10_000;

/** No source the mirror does not control knows an artifact's SHA-256: nothing is downloaded. */
export class ChecksumSourceError extends DkError {
  constructor(message: string) {
    super(message, "CHECKSUM", {
      hint: "give the SHA-256 of each file from a source you trust: --checksums FILE (or spec.checksums), lines `SHA256  UPSTREAM-URL`; or let this machine reach the upstream",
    });
  }
}

/** A checksum table: `SHA256  URL` lines (sha256sum's layout with the upstream URL as the name); `#` starts a comment. */
export function parseChecksumTable(text: string, file: string): Map<string, string> {
  const table = new Map<string, string>();
  text.split("\n").forEach((line, i) => {
    const l = line.replace(/#.*$/, "").trim();
    if (l === "") return;
    const m = /^([0-9a-fA-F]{64})\s+\*?(https:\/\/\S+)$/.exec(l);
    if (!m) throw new InputError(`line ${i + 1}: expected \`SHA256  https://URL\``, { file, value: l.slice(0, 80) });
    table.set(m[2]!, m[1]!.toLowerCase());
  });
  return table;
}

/** The SHA-256 a checksum file publishes for `file`: its only token, or the first field of the line naming `file`. */
export function publishedSha256(sums: string, file: string): string | undefined {
  const lines = sums
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/));
  if (lines.length === 1 && lines[0]!.length === 1) return lines[0]![0];
  return lines.find((f) => f[1] === file || f[1] === `*${file}`)?.[0];
}

/** Fetches an upstream checksum file; `undefined` when the upstream does not answer (offline, air-gapped). */
export type UpstreamFetch = (url: string) => Promise<string | undefined>;

const fetchUpstream: UpstreamFetch = async (url) => {
  try {
    const res = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The trusted SHA-256 of each artifact, by upstream URL, from the first source of {@link CHECKSUM_SOURCES} that
 * has it. Throws {@link ChecksumSourceError} naming the artifacts no source knows, unless `partial`: those are then
 * left out (unpinned, their download is refused on the node).
 */
export async function trustedSha256(
  spec: Pick<NodeSpec, "checksums">,
  artifacts: readonly Artifact[],
  upstream: UpstreamFetch = fetchUpstream,
  partial = false,
): Promise<Record<string, string>> {
  const own = spec.checksums === undefined ? new Map<string, string>() : parseChecksumTable(await readTable(spec.checksums), spec.checksums);
  const sums = new Map<string, Promise<string | undefined>>();
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const a of artifacts) {
    let digest = own.get(a.url);
    if (digest === undefined && a.sumsUrl.startsWith("https://")) {
      if (!sums.has(a.sumsUrl)) sums.set(a.sumsUrl, upstream(a.sumsUrl));
      const text = await sums.get(a.sumsUrl)!;
      const published = text === undefined ? undefined : publishedSha256(text, a.file);
      if (published && /^[0-9a-f]{64}$/i.test(published)) digest = published.toLowerCase();
    }
    if (digest === undefined) missing.push(a.url);
    else out[a.url] = digest;
  }
  if (missing.length > 0 && !partial)
    throw new ChecksumSourceError(
      `no SHA-256 from a source the mirror does not control for ${missing.join(", ")} (a mirror's own checksum files are not trusted)`,
    );
  return out;
}

/**
 * The spec with the trusted SHA-256 of `artifacts` pinned, when a mirror serves them (an air-gapped `--upload`
 * brings its own verified files instead): what a run and a dry run render `dk_fetch` with. `partial`: those no
 * source knows stay unpinned (a run's steps that never get to download, as `--until preflight`'s, need none), and
 * the node refuses to download them.
 */
export async function withPinnedSha256(spec: NodeSpec, artifacts: readonly Artifact[], options: { partial?: boolean } = {}): Promise<NodeSpec> {
  if (!spec.mirror || spec.upload || artifacts.length === 0) return spec;
  return { ...spec, pinnedSha256: { ...spec.pinnedSha256, ...(await trustedSha256(spec, artifacts, undefined, options.partial ?? false)) } };
}

async function readTable(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { field: "--checksums", file });
  }
}
