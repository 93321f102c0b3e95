/**
 * @dk-bootstrap/pki: a TypeScript CA that reads cfssl's files and lays out a Kubernetes cluster's PKI
 * the way kubeadm does. This is the Node entry: the portable core (core.ts) with Node's key backend
 * installed, and the cluster folder on disk.
 */
import { setKeyBackend } from "./key-backend.js";
import { nodeKeyBackend } from "./node-keys.js";

setKeyBackend(nodeKeyBackend);

export * from "./core.js";
export { nodeKeyBackend } from "./node-keys.js";
export * from "./store.js";
export * from "./folders.js";
export * from "./folder-lock.js";
export { type OpenOptions, ClusterFolder, openClusterFolder, withClusterFolder } from "./cluster-folder.js";
export * from "./cluster/layout.js";
export * from "./cluster/generate.js";
export * from "./cluster/expiry.js";
export * from "./cluster/renew.js";
export * from "./cluster/workshop.js";
