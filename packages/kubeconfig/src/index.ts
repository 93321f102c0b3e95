/**
 * @dk-bootstrap/kubeconfig: kubeconfigs built, read and merged exactly as `kubectl config` does,
 * and one per component from the cluster PKI.
 */
export * from "./model.js";
export * from "./yaml.js";
export * from "./ops.js";
export * from "./files.js";
export * from "./components.js";
export * from "./check.js";
export * from "./property.js";
export * from "./merge.js";
export * from "./user.js";
export * from "./lock.js";
export * from "./json.js";
export * from "./jsonpath.js";
