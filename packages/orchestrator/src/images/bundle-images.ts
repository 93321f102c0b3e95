import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { InputError, writeFileAtomic } from "@dk-bootstrap/pki";
import { archiveImages } from "./archive-names.js";
import { BUNDLE_IMAGES, isImageArchive } from "./node-images.js";

/**
 * `dk-bootstrap bundle --images DIR`: the image archives of DIR (`*.tar`, `*.tar.gz`, `*.tgz`) copied into
 * the bundle's `images/` folder, where `--upload BUNDLE` finds them and each node imports them. Each is
 * read first and must name its images (an archive that names none would import as nothing the kubelet
 * could find); one already in the bundle with the same bytes is kept. Returns the bundle's archives.
 */
export async function bundleImages(from: string, out: string, onFile?: (path: string, action: "copied" | "kept", images: string[]) => void): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(from)).filter(isImageArchive).sort();
  } catch {
    throw new InputError("not a folder of image archives", { field: "--images", value: from });
  }
  if (names.length === 0)
    throw new InputError(
      "holds no image archive (*.tar, *.tar.gz, *.tgz)",
      { field: "--images", value: from },
      { hint: "make one with `ctr images export`, `docker save`, or `skopeo copy ... oci-archive:FILE`" },
    );
  // Every archive is read before any is copied: one bad archive leaves the bundle as it was.
  const named = names.map((name) => ({ name, images: archiveImages(join(from, name), "--images").map((i) => i.name) }));
  const written: string[] = [];
  for (const { name, images } of named) {
    const [src, dest] = [join(from, name), join(out, BUNDLE_IMAGES, name)];
    const body = await readFile(src);
    const have = await readFile(dest).catch(() => undefined);
    if (have?.equals(body)) onFile?.(dest, "kept", images);
    else {
      await writeFileAtomic(dest, body, { mode: 0o644 });
      onFile?.(dest, "copied", images);
    }
    written.push(dest);
  }
  return written;
}
