// Paths on the node, compared as one spelling. Below everything that names a remote path (the spec, the cluster file,
// the node's record of what it made, reset), and importing none of them: spec.ts needs the normal form and the
// record's step targets need the spec, so the path rules cannot live in the record without closing a circle.
import { posix } from "node:path";
import { InputError } from "@dk-bootstrap/pki";

/**
 * A remote root as one spelling: `//`, `/./`, `a/../` and trailing slashes removed, so that `//` is `/` in every
 * comparison (POSIX lets an implementation give a leading `//` a meaning of its own; Linux gives it none).
 */
export function normalRemoteRoot(root: string): string {
  if (!posix.isAbsolute(root)) throw new InputError("must be an absolute path on the node", { field: "--remote-root", value: root });
  const n = posix.normalize(root.replace(/\/{2,}/g, "/"));
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

/** The folders between `root` (excluded) and `path` (excluded), the outermost first; none when `path` is not under `root`. */
export function foldersBetween(root: string, path: string): string[] {
  const r = normalRemoteRoot(root);
  const out: string[] = [];
  for (let d = posix.dirname(path); d !== r && d !== "/" && d !== "."; d = posix.dirname(d)) out.unshift(d);
  return isUnder(r, path) ? out : [];
}

/** `path` lies strictly below `root` (both normal absolute paths). */
export function isUnder(root: string, path: string): boolean {
  const r = normalRemoteRoot(root);
  return path !== r && path === posix.normalize(path) && (r === "/" ? path.startsWith("/") : path.startsWith(`${r}/`));
}
