import { readdirSync } from "node:fs";
import { basename, join, posix, relative, resolve } from "node:path";
import { InputError } from "@dk-bootstrap/pki";
import { waitFor } from "../node.js";
import { type Shell, lines, raw, sh } from "../shell.js";
import type { NodeSpec } from "../spec.js";
import type { FilePut, StepContext } from "../steps/step.js";
import { archiveImages } from "./archive-names.js";

/**
 * Images for a node that cannot reach a registry (air-gapped): the archives of `spec.images` and of a
 * bundle's `images/` folder (`--upload DIR`) are uploaded to the node and imported into containerd's
 * `k8s.io` namespace, the one the kubelet's CRI reads, before the kubelet needs them. Each is pinned
 * (`io.cri-containerd.pinned=pinned`): the kubelet's image GC never removes a pinned image, and with no
 * registry a removed image could not come back. No archive given: nothing here adds a line to the plan.
 */

/**
 * The pause release kubeadm pairs with each Kubernetes minor (its `PauseVersion` constant): 3.10.2 read in
 * k8s.io/kubernetes v1.36.3 and v1.37.2's cmd/kubeadm/app/constants; 3.10.1 for 1.34 and 1.35, 3.10 for
 * 1.33 (as containerd's defaults of the time and kubeadm's images list name them).
 */
const PAUSE_BY_MINOR: Readonly<Record<number, string>> = { 33: "3.10", 34: "3.10.1", 35: "3.10.1", 36: "3.10.2", 37: "3.10.2" };

/**
 * The sandbox (pause) image containerd's config must name
 * (`[plugins.'io.containerd.cri.v1.images'.pinned_images] sandbox = '...'`): kubeadm's pairing for the
 * node's Kubernetes minor, a minor past the table the newest listed, one before it the oldest.
 */
export function sandboxImage(spec: Pick<NodeSpec, "versions">): string {
  const minors = Object.keys(PAUSE_BY_MINOR).map(Number);
  const minor = Math.min(Math.max(Number(spec.versions.kubernetes.split(".")[1]), Math.min(...minors)), Math.max(...minors));
  return `registry.k8s.io/pause:${PAUSE_BY_MINOR[minor]!}`;
}

/** The folder of a bundle that holds its image archives (`dk-bootstrap bundle --images`). */
export const BUNDLE_IMAGES = "images";

/** Whether a file name is an image archive a bundle carries (`.tar`, or compressed `.tar.gz`/`.tgz`). */
export const isImageArchive = (name: string): boolean => /\.(tar|tar\.gz|tgz)$/.test(name) && !name.startsWith(".");

/**
 * The local image archives a node gets, absolute: `spec.images`, then those of the `--upload` bundle's
 * `images/` folder, by name. Two archives of one name are refused: on the node they would be one file.
 */
export function imageArchives(spec: Pick<NodeSpec, "images" | "upload">): string[] {
  const listed = (spec.images ?? []).map((p) => resolve(p));
  const bundled = spec.upload ? bundleArchives(join(spec.upload, BUNDLE_IMAGES)) : [];
  const byName = new Map<string, string>();
  for (const p of [...listed, ...bundled]) {
    const seen = byName.get(basename(p));
    if (seen !== undefined && seen !== p)
      throw new InputError(`two image archives named ${basename(p)}: ${seen} and ${p}`, { field: "images" }, { hint: "rename one of them" });
    byName.set(basename(p), p);
  }
  return [...byName.values()];
}

function bundleArchives(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // a bundle made without --images
  }
  return names
    .filter(isImageArchive)
    .sort()
    .map((n) => join(dir, n));
}

/** Where the node keeps the uploaded archives: under its remote root, beside its downloads. */
export const nodeImagesDir = (c: StepContext): string => posix.join(c.node.cache, "images");

/** containerd's socket on the node, as the containerd step's config puts it (its `grpc.address`). */
export const containerdSocket = (c: StepContext): string => c.node.path("run/containerd/containerd.sock");

/**
 * The archives as files the node is given (`local` paths relative to the cluster folder, which is how a
 * step's files are read), one per archive under {@link nodeImagesDir}.
 */
export function imageFiles(c: StepContext): FilePut[] {
  return imageArchives(c.spec).map((p) => ({ path: posix.join(nodeImagesDir(c), basename(p)), mode: 0o644, local: relative(resolve(c.spec.dir), p) }));
}

/**
 * Imports each archive into containerd's `k8s.io` namespace unless every image it holds is there already
 * (same name and, when the archive says it, same digest), then pins each image. Re-runnable: a second run
 * imports nothing and pins again (a no-op). Run once containerd serves; it waits for the socket itself.
 */
export function imageImportScript(c: StepContext): Shell {
  const archives = imageArchives(c.spec);
  if (archives.length === 0) return lines([]);
  const ctr = (...args: string[]) => sh`${`${c.node.bin}/ctr`} --address ${containerdSocket(c)} -n k8s.io ${args}`;
  const parts: Shell[] = [waitFor(60, sh`${`${c.node.bin}/ctr`} --address ${containerdSocket(c)} version`)];
  for (const local of archives) {
    const images = archiveImages(local);
    const remote = posix.join(nodeImagesDir(c), basename(local));
    // `images ls -q` with a filter prints the names that match: each image must be there, under its digest.
    const present = images.map(
      (i) => sh`${ctr("images", "ls", "-q", i.digest ? `name==${i.name},target.digest==${i.digest}` : `name==${i.name}`)} | grep -qxF ${i.name}`,
    );
    const all = present.map((p) => p.text).join(" && ");
    parts.push(sh`if ! { ${raw(all)}; }; then ${ctr("images", "import", "--platform", `linux/${c.arch}`, remote)}; fi`);
    // Fails (the image is not found) when the archive did not hold what it said: never a silent success.
    for (const i of images) parts.push(ctr("images", "label", i.name, "io.cri-containerd.pinned=pinned"));
  }
  return lines(parts);
}
