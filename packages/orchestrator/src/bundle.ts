import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DkError, readIfExists, writeFileAtomic } from "@dk-bootstrap/pki";
import { type Artifact, mirrored } from "./artifacts.js";
import { publishedSha256, trustedSha256 } from "./checksums.js";
import { ChecksumError } from "./errors.js";
import { plan } from "./plan.js";
import type { NodeSpec } from "./spec.js";
import { NodeLayout } from "./node.js";
import { assumedSupervisor } from "./steps/step.js";

export { publishedSha256 } from "./checksums.js";

/** Where an upstream URL lives in a bundle folder: `DIR/HOST/PATH`, the layout `--mirror` reads. */
export function bundlePath(dir: string, url: string): string {
  return join(dir, url.replace(/^https?:\/\//, ""));
}

async function download(url: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: "follow" });
  } catch (e) {
    throw new DkError(`cannot download ${url}: ${(e as Error).message}`, "DOWNLOAD", { cause: e });
  }
  if (!res.ok) throw new DkError(`cannot download ${url}: HTTP ${res.status}`, "DOWNLOAD");
  return Buffer.from(await res.arrayBuffer());
}

/** The artifacts the steps in range download, for an architecture. */
export function artifactsFor(spec: NodeSpec, arch: string, range: { from?: string; until?: string } = {}): Artifact[] {
  const ctx = { spec, node: new NodeLayout(spec.remoteRoot), arch, supervisor: assumedSupervisor(spec) };
  const seen = new Map<string, Artifact>();
  for (const step of plan(range, spec)) for (const a of step.artifacts?.(ctx) ?? []) seen.set(a.url, a);
  return [...seen.values()];
}

/**
 * `dk-bootstrap bundle --out DIR`: every artifact of the plan and its checksum file, fetched (from
 * `--mirror` when given), verified, and laid out as DIR/HOST/PATH, ready to serve as a mirror or to `--upload`.
 * Files already there and verified are not fetched again.
 */
export async function bundle(
  spec: NodeSpec,
  dir: string,
  arches: string[],
  range: { from?: string; until?: string } = {},
  onFile?: (path: string, action: "fetched" | "kept") => void,
): Promise<string[]> {
  const written: string[] = [];
  for (const arch of arches) {
    for (const a of artifactsFor(spec, arch, range)) {
      const [filePath, sumsPath] = [bundlePath(dir, a.url), bundlePath(dir, a.sumsUrl)];
      // From a mirror, the digest is pinned from a source it does not control; the bundle keeps it as the checksum file.
      const pinned = spec.mirror ? (await trustedSha256(spec, [a]))[a.url]! : undefined;
      const kept = await readIfExists(sumsPath);
      const sums = pinned !== undefined ? withLine(kept, pinned, a.file) : (kept ?? (await download(a.sumsUrl)).toString());
      const want = publishedSha256(sums, a.file);
      if (!want) throw new ChecksumError(`${a.sumsUrl} has no checksum for ${a.file}`);
      const have = await readFile(filePath).catch(() => undefined);
      if (have && sha256(have) === want) {
        onFile?.(filePath, "kept");
        continue;
      }
      const body = await download(mirrored(a.url, spec.mirror));
      const got = sha256(body);
      if (got !== want) throw new ChecksumError(`checksum mismatch for ${a.file}: published ${want}, downloaded ${got}`);
      await writeFileAtomic(sumsPath, sums, { mode: 0o644 });
      await writeFileAtomic(filePath, body, { mode: 0o644 });
      onFile?.(filePath, "fetched");
      written.push(filePath);
    }
  }
  return written;
}

/** An artifact from a bundle folder, checked against its published checksum before it goes anywhere. */
export async function bundledArtifact(dir: string, a: Artifact): Promise<{ body: Buffer; sha256: string }> {
  const [body, sums] = await Promise.all([readFile(bundlePath(dir, a.url)).catch(() => undefined), readIfExists(bundlePath(dir, a.sumsUrl))]);
  if (!body || sums === undefined)
    throw new DkError(`${a.file} is not in the bundle ${dir}`, "BUNDLE", { hint: "make it with `dk-bootstrap bundle --out DIR` and the same versions" });
  const want = publishedSha256(sums, a.file);
  const got = sha256(body);
  if (want !== got) throw new ChecksumError(`checksum mismatch for ${a.file} in ${dir}: published ${want ?? "nothing"}, file ${got}`);
  return { body, sha256: got };
}

/** A checksum file with `file`'s line set to `digest` (several artifacts, e.g. both arches, share one file). */
function withLine(sums: string | undefined, digest: string, file: string): string {
  const others = (sums ?? "").split("\n").filter((l) => {
    const f = l.trim().split(/\s+/);
    return f.length === 2 && f[1]!.replace(/^\*/, "") !== file;
  });
  return [...others, `${digest}  ${file}`, ""].join("\n");
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}
