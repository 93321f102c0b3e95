/**
 * @dk-bootstrap/pki: a TypeScript CA that reads cfssl's files and lays out a Kubernetes cluster's PKI
 * the way kubeadm does.
 */
export * from "./errors.js";
export * from "./keys.js";
export * from "./name.js";
export * from "./san.js";
export * from "./usages.js";
export * from "./duration.js";
export * from "./certificate.js";
export * from "./csr.js";
export * from "./inspect.js";
export * from "./store.js";
export * from "./folders.js";
export * from "./folder-lock.js";
export { type OpenOptions, ClusterFolder, openClusterFolder, withClusterFolder } from "./cluster-folder.js";
export * from "./table.js";
export { parseJsonFile } from "./json.js";
export * from "./cfssl/csr-json.js";
export * from "./cfssl/config-json.js";
export * from "./cfssl/gencert.js";
export * from "./cfssl/output.js";
export * from "./cfssl/certinfo-csr.js";
export * from "./cluster/spec.js";
export * from "./cluster/certlist.js";
export * from "./cluster/layout.js";
export * from "./cluster/generate.js";
export * from "./cluster/expiry.js";
export * from "./cluster/renew.js";
export * from "./cluster/rotate-ca.js";
export * from "./cluster/workshop.js";
export { x509 } from "./x509.js";
