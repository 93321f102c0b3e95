// The node's spec from the command line: the cluster folder's flags (spec-flags.ts) and the node's own (versions,
// add-ons, mirror, folders on the node). One function every command that plans a node calls, so the plan a dry run
// prints, the one `explain` shows and the one a real run follows come from the same flags the same way.
import { readdirSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { InputError } from "@dk-bootstrap/pki";
import { type NodeSpec, isImageArchive, nodeSpec } from "@dk-bootstrap/orchestrator";
import type { NodeOptions } from "./options/node-options.js";
import { kubeconfigSpecFromFlags, specFromFlags } from "./spec-flags.js";

/** The node's spec from whichever flags a command has; the others keep their defaults. */
export function nodeSpecFromFlags(o: Partial<NodeOptions>, host?: string): NodeSpec {
  const base = specFromFlags({ ...o, nodeIp: o.nodeIp ?? (host && isIP(host) ? [host] : []) });
  if (o.arch !== undefined && !["amd64", "arm64"].includes(o.arch))
    throw new InputError("must be amd64 or arm64: Kubernetes publishes binaries for these", { field: "--arch", value: o.arch });
  return nodeSpec({
    ...base,
    ...kubeconfigSpecFromFlags(o),
    dir: resolve(o.dir ?? "./cluster"),
    ...(o.remoteRoot !== undefined ? { remoteRoot: o.remoteRoot } : {}),
    ...(o.podCidr !== undefined ? { podCidr: o.podCidr } : {}),
    ...(o.cni !== undefined ? { cni: o.cni as NodeSpec["cni"] } : {}),
    ...(o.ingress ? { ingress: o.ingress as NonNullable<NodeSpec["ingress"]> } : {}),
    ...(o.mirror ? { mirror: o.mirror } : {}),
    ...(o.checksums ? { checksums: resolve(o.checksums) } : {}),
    ...(o.allowHttpMirror ? { allowHttpMirror: true } : {}),
    ...(o.upload ? { upload: resolve(o.upload) } : {}),
    ...(o.images ? { images: imageArchivesIn(resolve(o.images)) } : {}),
    ...(o.webImage ? { webImage: o.webImage } : {}),
    ...(o.arch ? { arch: o.arch } : {}),
    versions: { kubernetes: o.k8sVersion, etcd: o.etcdVersion, containerd: o.containerdVersion, runc: o.runcVersion, cni: o.cniVersion, helm: o.helmVersion },
  });
}

/** The image archives of a folder (`--images`), by name; a folder that cannot be read is one clear line. */
function imageArchivesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    // Said in words, as describeSystemError says a path: a code such as ENOENT means nothing to most readers.
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such folder" : code === "ENOTDIR" ? "not a folder" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new InputError(`cannot read the folder: ${why}`, { field: "--images", value: dir });
  }
  return names
    .filter(isImageArchive)
    .sort()
    .map((n) => join(dir, n));
}
