/**
 * @dk-bootstrap/kubeconfig, the portable core: kubeconfigs built, read and written as kubectl does, with no `node:`
 * module (browsers, Deno, Bun, Node). Files, locks, merging and checks against a live apiserver are in the Node entry.
 */
export * from "./model.js";
export * from "./yaml.js";
export * from "./components.js";
export * from "./check-offline.js";
export * from "./property.js";
export * from "./json.js";
export * from "./jsonpath.js";
/** YAML under go-yaml's limits (aliases, depth, control characters): what the orchestrator's cluster file is read with too. */
export { YamlDecodeError, decodeYaml } from "./goyaml.js";
