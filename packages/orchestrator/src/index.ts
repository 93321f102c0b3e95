/**
 * @dk-bootstrap/orchestrator: bootstraps a Kubernetes node over SSH (or locally) step by step in the
 * workshop's order, resumably, with verified downloads and safely quoted commands.
 */
export * from "./errors.js";
export * from "./shell.js";
export * from "./artifacts.js";
export * from "./releases.js";
export * from "./cluster-file.js";
export * from "./etcd-membership.js";
export * from "./etcd-backup.js";
export * from "./etcd-snapshot-file.js";
export * from "./etcd-snapshot-sidecar.js";
export * from "./apply.js";
export * from "./cluster-pki.js";
export * from "./apply-membership.js";
export * from "./rollout.js";
export * from "./host-spec.js";
export * from "./apply-record.js";
export * from "./ca-rotation.js";
export * from "./cluster-ops.js";
export * from "./spec.js";
export * from "./node.js";
export * from "./events.js";
export * from "./steps/step.js";
export * from "./plan.js";
export * from "./runner.js";
export * from "./render.js";
export * from "./reset.js";
export * from "./node-record.js";
export * from "./transport/transport.js";
export * from "./transport/local.js";
export * from "./transport/ssh.js";
export * from "./transport/known-hosts.js";
export * from "./transport/sudo.js";
export * from "./status.js";
export * from "./transport/ssh-config.js";
export * from "./bundle.js";
export * from "./checksums.js";
export * from "./addresses.js";
export { corednsVersion } from "./steps/coredns.js";
export * from "./steps/cgroups.js";
export * from "./images/oci-archive.js";
export * from "./images/reference.js";
export * from "./images/archive-names.js";
export * from "./images/node-images.js";
export * from "./images/bundle-images.js";
export * from "./steps/web-app.js";
