import { closeSync, openSync, readSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { InputError } from "@dk-bootstrap/pki";
import { imageName } from "./reference.js";

/**
 * The images an archive holds, read from the archive itself before anything is sent to a node: the
 * import on the node is skipped for an image containerd already has under that name and digest.
 * Reads the two forms `ctr images import` takes: an OCI image layout (`index.json`, as our writer,
 * `ctr images export`, `docker save` since Docker 25 and `skopeo copy oci-archive:` make it) and the
 * older `docker save` form (`manifest.json` with `RepoTags`), plain or gzip-compressed.
 */

/** An image of an archive: its normalized name and, when the archive says it, the manifest digest it will have. */
export interface ArchivedImage {
  name: string;
  /** `sha256:…`; absent for a `docker save` archive (containerd makes that manifest itself on import). */
  digest?: string;
}

/** The images of the archive at `path`; an archive that names none is refused (an import would name nothing). */
export function archiveImages(path: string, field = "images"): ArchivedImage[] {
  const files = smallFiles(path, field, ["index.json", "manifest.json"]);
  const bad = (why: string) => new InputError(why, { file: path, field });
  if (files["index.json"]) {
    const index = parse(files["index.json"], bad) as { manifests?: { digest?: string; annotations?: Record<string, string> }[] };
    const found = (index.manifests ?? []).flatMap((m) => {
      const a = m.annotations ?? {};
      // containerd reads its own annotation first; the OCI one names an image only when it is a whole name.
      const n =
        a["io.containerd.image.name"] ?? (/[/:]/.test(a["org.opencontainers.image.ref.name"] ?? "") ? a["org.opencontainers.image.ref.name"] : undefined);
      return n && m.digest ? [{ name: imageName(n, field).full, digest: m.digest }] : [];
    });
    if (found.length > 0) return found;
  }
  if (files["manifest.json"]) {
    const manifest = parse(files["manifest.json"], bad) as { RepoTags?: string[] }[];
    const found = (Array.isArray(manifest) ? manifest : []).flatMap((m) => (m.RepoTags ?? []).map((t) => ({ name: imageName(t, field).full })));
    if (found.length > 0) return found;
  }
  throw bad("an image archive that names no image (no io.containerd.image.name in index.json, no RepoTags in manifest.json)");
}

function parse(text: Buffer, bad: (why: string) => Error): unknown {
  try {
    return JSON.parse(text.toString("utf8"));
  } catch {
    throw bad("an image archive whose index.json or manifest.json is not JSON");
  }
}

/**
 * The named top-level files of a tar, read by walking its headers: a plain archive is never read whole
 * (layers may be hundreds of megabytes), a gzip one is decompressed in memory first.
 */
function smallFiles(path: string, field: string, names: string[]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    throw new InputError("no image archive there", { file: path, field });
  }
  try {
    const magic = Buffer.alloc(2);
    readSync(fd, magic, 0, 2, 0);
    const read =
      magic[0] === 0x1f && magic[1] === 0x8b ? fromBuffer(gunzipSync(readFileSync(path))) : (buf: Buffer, at: number) => readSync(fd, buf, 0, buf.length, at);
    const header = Buffer.alloc(512);
    for (let at = 0; read(header, at) === 512 && header[0] !== 0;) {
      const size = parseInt(header.toString("ascii", 124, 136).replace(/\0.*$/s, "").trim() || "0", 8);
      const name = header.toString("utf8", 0, 100).replace(/\0.*$/s, "").replace(/^\.\//, "");
      if (names.includes(name) && size < 1 << 20) {
        const body = Buffer.alloc(size);
        read(body, at + 512);
        out[name] = body;
      }
      at += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

const fromBuffer = (all: Buffer) => (buf: Buffer, at: number) => all.copy(buf, 0, at, Math.min(at + buf.length, all.length));
