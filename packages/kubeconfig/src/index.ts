/**
 * @dk-bootstrap/kubeconfig: kubeconfigs built, read and merged exactly as `kubectl config` does,
 * and one per component from the cluster PKI. This is the Node entry: the portable core (core.ts) and the files.
 */
export * from "./core.js";
export * from "./ops.js";
export * from "./files.js";
export * from "./component-files.js";
// The Node checkKubeconfig reads the files a kubeconfig names from the disk; it takes the place of the core's.
export { checkKubeconfig, connectCheck } from "./check.js";
export * from "./merge.js";
export * from "./user.js";
export * from "./lock.js";
