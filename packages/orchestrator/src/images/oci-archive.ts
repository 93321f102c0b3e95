import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { InputError, writeFileAtomic } from "@dk-bootstrap/pki";
import { imageName } from "./reference.js";
import { type TarEntry, tarBytes, withParents } from "./tar.js";

/**
 * Writes an image as an OCI image layout in one tar (image-spec's image-layout.md), the archive
 * `ctr -n k8s.io images import` takes when no registry can be reached: `oci-layout`, `index.json` naming
 * the image, and under `blobs/sha256/` the manifest, the config (whose `rootfs.diff_ids` are the SHA-256 of
 * the uncompressed layer) and the one gzip layer. The same input gives the same bytes (see tar.ts), so an
 * archive made again has the same digests and a node that holds the image already imports nothing new.
 */

/** A file of the image: its absolute path in the image, its bytes and permission bits (default 0o755: most are programs). */
export interface ImageFile {
  path: string;
  content: Buffer;
  mode?: number;
}

/** What an image holds and how it runs: the fields of the image config's `config` that dk-bootstrap's images need. */
export interface ImageInput {
  /** `registry.k8s.io/pause:3.10.2`; normalized as containerd names it (`traefik:v3` → `docker.io/library/traefik:v3`). */
  name: string;
  files: ImageFile[];
  entrypoint?: string[];
  cmd?: string[];
  /** `NAME=value` pairs, in this order. */
  env?: Record<string, string>;
  /** `80/tcp`, `53/udp`; a bare number means TCP. */
  exposedPorts?: (string | number)[];
  /** `65532:65532`, `0`; absent: root. */
  user?: string;
  workingDir?: string;
  labels?: Record<string, string>;
  /** Go's names, as the index's platform says them; default linux/amd64. */
  architecture?: string;
  os?: string;
}

/** The archive and the digests a test or a node can check it by. */
export interface ImageArchive {
  /** The normalized name the archive gives the image. */
  name: string;
  bytes: Buffer;
  /** `sha256:…` of the manifest: the image's digest once imported (`ctr images ls`). */
  manifestDigest: string;
  configDigest: string;
  /** `sha256:…` of the uncompressed layer, the config's only `rootfs.diff_ids` entry. */
  diffId: string;
}

const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
};

/** The OCI archive of an image, in memory. */
export function ociArchive(input: ImageInput): ImageArchive {
  const name = imageName(input.name);
  const platform = { architecture: input.architecture ?? "amd64", os: input.os ?? "linux" };
  const layerTar = tarBytes(withParents(input.files.map((f) => ({ path: inImage(f.path), content: f.content, mode: f.mode ?? 0o755 }))));
  const diffId = digest(layerTar);
  // gzip's header holds no name and a zero mtime in Node's zlib: the same tar compresses to the same bytes.
  // zlib's default level: level 9 takes twice as long for about 0.5% less on a Go binary.
  const layer = gzipSync(layerTar, { level: 6 });
  const config = json({
    architecture: platform.architecture,
    os: platform.os,
    config: runConfig(input),
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created_by: "dk-bootstrap (OCI archive writer)" }],
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: digest(config), size: config.length },
    layers: [{ mediaType: MEDIA.layer, digest: digest(layer), size: layer.length }],
  });
  const index = json({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        digest: digest(manifest),
        size: manifest.length,
        platform,
        // containerd's own export writes both: its annotation with the whole name (the one import reads
        // first), the OCI one with the tag alone as image-spec suggests.
        annotations: { "io.containerd.image.name": name.full, "org.opencontainers.image.ref.name": name.tag },
      },
    ],
  });
  const blobs = [layer, config, manifest].map((b) => ({ path: `blobs/sha256/${digest(b).slice("sha256:".length)}`, content: b, mode: 0o644 }));
  const entries: TarEntry[] = [
    ...blobs,
    { path: "index.json", content: index, mode: 0o644 },
    { path: "oci-layout", content: json({ imageLayoutVersion: "1.0.0" }), mode: 0o644 },
  ];
  return { name: name.full, bytes: tarBytes(withParents(entries)), manifestDigest: digest(manifest), configDigest: digest(config), diffId };
}

/** Writes the archive of an image to `path` (atomically: a reader never sees half an archive). */
export async function writeOciArchive(input: ImageInput, path: string): Promise<ImageArchive> {
  const archive = ociArchive(input);
  await writeFileAtomic(path, archive.bytes, { mode: 0o644 });
  return archive;
}

/** The image config's `config`: only the fields given, in one fixed order. */
function runConfig(input: ImageInput): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (input.user !== undefined) c.User = input.user;
  if (input.exposedPorts?.length) c.ExposedPorts = Object.fromEntries(input.exposedPorts.map((p) => [port(p), {}]));
  if (input.env) c.Env = Object.entries(input.env).map(([k, v]) => `${k}=${v}`);
  if (input.entrypoint) c.Entrypoint = input.entrypoint;
  if (input.cmd) c.Cmd = input.cmd;
  if (input.workingDir !== undefined) c.WorkingDir = input.workingDir;
  if (input.labels) c.Labels = input.labels;
  return c;
}

function port(p: string | number): string {
  const text = typeof p === "number" ? `${p}/tcp` : p.includes("/") ? p : `${p}/tcp`;
  if (!/^\d{1,5}\/(tcp|udp|sctp)$/.test(text) || Number(text.split("/")[0]) > 65535)
    throw new InputError("not a port such as 80/tcp or 53/udp", { field: "exposedPorts", value: p });
  return text;
}

/** An image path as a tar entry's: absolute in the image, relative in the layer. */
function inImage(path: string): string {
  if (!path.startsWith("/")) throw new InputError("a file's path in an image must be absolute", { field: "files", value: path });
  return path.slice(1);
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const digest = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
