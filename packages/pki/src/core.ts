/**
 * @dk-bootstrap/pki, the portable core: everything that needs only WebCrypto (browsers, Deno, Bun, Node), with no
 * `node:` module. Keys are made, read and written by the portable key backend unless the Node entry installed Node's.
 * The cluster folder on disk (generateClusterPki, renew, the store, the journal) is in the Node entry.
 */
export * from "./errors.js";
export * from "./ip.js";
export * from "./keys.js";
export { type KeyBackend, type KeyMaterial, setKeyBackend } from "./key-backend.js";
export { portableKeyBackend } from "./portable-keys.js";
export * from "./bytes.js";
export * from "./name.js";
export * from "./san.js";
export * from "./usages.js";
export * from "./duration.js";
export * from "./certificate.js";
export * from "./csr.js";
export * from "./inspect.js";
export * from "./table.js";
export { nearestName } from "./near.js";
export { parseJsonFile } from "./json.js";
export * from "./cfssl/csr-json.js";
export * from "./cfssl/config-json.js";
export * from "./cfssl/gencert.js";
export * from "./cfssl/output.js";
export * from "./cfssl/certinfo-csr.js";
export { goJson, type GoValue } from "./cfssl/go-values.js";
export * from "./cluster/spec.js";
export * from "./cluster/workshop-files.js";
export * from "./cluster/certlist.js";
export * from "./cluster/files.js";
export * from "./cluster/issue.js";
export * from "./cluster/make.js";
export * from "./cluster/check.js";
export { x509 } from "./x509.js";
