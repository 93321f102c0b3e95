// The images the workshop's node runs, made locally from built peers as OCI archives (no registry can be
// reached here): the sandbox's pause, CoreDNS, Traefik and the workshop's web app. Each archive is cached in
// the peers' cache under a key of everything that makes its bytes, so a second suite reuses it and a changed
// binary or name makes a new one.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_VERSIONS, type ImageInput, corednsVersion, nodeSpec, ociArchive, sandboxImage, writeOciArchive } from "../packages/orchestrator/src/index.js";
import { traefikImage as traefikImageName } from "../packages/orchestrator/src/steps/addons.js";
import { PEERS_CACHE, builtPeer } from "./built-peers.js";

export { PEERS_CACHE, builtPeer };

const WRITER_SOURCES = ["oci-archive.ts", "reference.ts", "tar.ts"].map((f) => join(import.meta.dirname, "..", "packages", "orchestrator", "src", "images", f));

/** The CoreDNS and Traefik releases a node of the default versions runs: the tests build their images from these. */
export const COREDNS_VERSION = corednsVersion(DEFAULT_VERSIONS.kubernetes);
export const TRAEFIK_VERSION = DEFAULT_VERSIONS.traefik;

/** An image archive on disk and the name it gives the image. */
export interface BuiltImage {
  name: string;
  path: string;
}

/**
 * The archive of an image made from files on this machine (`files`: path in the image → local file),
 * cached under the SHA-256 of its name, settings and files' bytes (the writer is deterministic, so the key
 * names the archive's bytes).
 */
export async function cachedImage(input: Omit<ImageInput, "files">, files: Record<string, string>): Promise<BuiltImage> {
  const contents = Object.entries(files).map(([path, local]) => ({ path, content: readFileSync(local) }));
  const key = createHash("sha256")
    .update(JSON.stringify({ ...input, files: contents.map((f) => [f.path, createHash("sha256").update(f.content).digest("hex")]) }))
    .digest("hex");
  // The writer's own code is part of the key: a change to it makes new archives, never stale ones.
  const writer = createHash("sha256")
    .update(WRITER_SOURCES.map((f) => readFileSync(f)).join("\0"))
    .digest("hex")
    .slice(0, 12);
  const path = join(PEERS_CACHE, "images", `${input.name.replace(/[^\w.-]+/g, "_")}-${writer}-${key.slice(0, 16)}.tar`);
  if (!existsSync(path)) await writeOciArchive({ ...input, files: contents }, path);
  return { name: ociArchive({ ...input, files: [] }).name, path };
}

/** registry.k8s.io/pause as kubeadm pairs it with a Kubernetes version, made from our own pause program (peers/pause). */
export function pauseImage(kubernetes: string): Promise<BuiltImage> {
  const dir = builtPeer("pause", "1");
  // As upstream's image: the program at /pause, run as nobody (65535), which is all a sandbox needs.
  return cachedImage(
    { name: sandboxImage(nodeSpec({ dir: "/", versions: { kubernetes } })), entrypoint: ["/pause"], user: "65535:65535" },
    { "/pause": join(dir, "pause") },
  );
}

/** registry.k8s.io/coredns/coredns at a CoreDNS release, from the CoreDNS built at that release. */
export function corednsImage(version = COREDNS_VERSION): Promise<BuiltImage> {
  const dir = builtPeer("coredns", version);
  // The name the coredns step's Deployment runs (coredns.ts); entrypoint and ports as upstream's image. Run as
  // root: the Deployment adds NET_BIND_SERVICE for port 53, which upstream's image gets from a file capability.
  return cachedImage(
    { name: `registry.k8s.io/coredns/coredns:v${version}`, entrypoint: ["/coredns"], exposedPorts: ["53/tcp", "53/udp", "9153/tcp"] },
    { "/coredns": join(dir, "coredns") },
  );
}

/** Traefik at a release, under the name the traefik step's manifests run (addons.ts's traefikImage). */
export function traefikImage(version = TRAEFIK_VERSION): Promise<BuiltImage> {
  const dir = builtPeer("traefik", version);
  // The manifests pass only arguments (`--entryPoints...`): the program itself is the entrypoint.
  return cachedImage(
    { name: traefikImageName(version), entrypoint: ["/traefik"], exposedPorts: ["80/tcp", "443/tcp", "8080/tcp"] },
    { "/traefik": join(dir, "traefik") },
  );
}

/**
 * The workshop's web app (peers/webapp) under the name the web step runs. The default is tagged: an
 * untagged name means `:latest`, which the kubelet always pulls (imagePullPolicy Always), registry or not.
 */
export const TEST_WEB_IMAGE = "docker.io/zwindler/vhelloworld:dk-webapp-1";

/** The web app's image: port 80, as the workshop's Service targets. */
export function webImage(name = TEST_WEB_IMAGE): Promise<BuiltImage> {
  const dir = builtPeer("webapp", "1");
  return cachedImage({ name, entrypoint: ["/webapp"], exposedPorts: ["80/tcp"], env: { PORT: "80" } }, { "/webapp": join(dir, "webapp") });
}
