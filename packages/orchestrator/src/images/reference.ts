import { InputError } from "@dk-bootstrap/pki";

/**
 * Image names as containerd stores them. The CRI looks an image up by its normalized name (what
 * `ParseDockerRef` makes of it): a Pod's `zwindler/vhelloworld:1` is found only as
 * `docker.io/zwindler/vhelloworld:1`, `pause:3` only as `docker.io/library/pause:3`. An archive names its
 * image that way, so an imported image is the one the kubelet asks for.
 */

/** A normalized image name and its parts. */
export interface ImageName {
  /** `registry.k8s.io/pause:3.10.2`, `docker.io/library/traefik:v3.6.2`. */
  full: string;
  /** `registry.k8s.io/pause`. */
  repository: string;
  /** `3.10.2`. */
  tag: string;
}

// The distribution/reference grammar: a path component, a domain component, a tag.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * `name` normalized as containerd and the kubelet do: Docker Hub's domain and `library/` added where the
 * name has none, `:latest` where it has no tag. A digest is refused: an archive we make is named by tag.
 */
export function imageName(name: string, field = "image"): ImageName {
  const bad = (why: string) => new InputError(why, { field, value: name });
  if (name.includes("@")) throw bad("an image archive is named by a tag, not a digest");
  let rest = name;
  let tag = "latest";
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }
  if (!TAG.test(tag)) throw bad("not an image tag (letters, digits, _ . -, at most 128)");
  const parts = rest.split("/");
  // The first part is a registry when it looks like a host (a dot, a port, or localhost), as Docker decides.
  let domain = "docker.io";
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === "localhost")) domain = parts.shift()!;
  if (!DOMAIN.test(domain)) throw bad("not a registry host name");
  if (domain === "docker.io" && parts.length === 1) parts.unshift("library");
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p)))
    throw bad("not an image name (lower-case parts of letters and digits joined by . _ - and /, then :tag)");
  const repository = `${domain}/${parts.join("/")}`;
  if (repository.length > 255) throw bad("an image name longer than 255 characters");
  return { full: `${repository}:${tag}`, repository, tag };
}
