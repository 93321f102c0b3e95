import type { ClusterSpec } from "./spec.js";
import { firstServiceIP } from "./spec.js";

/** The three CAs of a kubeadm cluster, by their file stem under `pki/`. */
export type CaName = "ca" | "etcd/ca" | "front-proxy-ca";

/** One certificate of the cluster PKI, as data: adding a component is adding a row. */
export interface CertDef {
  /** File stem under `pki/` (`apiserver` → `pki/apiserver.crt` and `.key`) and the name `renew` takes. */
  name: string;
  /** The CA that signs it; absent for a CA itself. */
  ca?: CaName;
  /** Common name. */
  cn: (spec: ClusterSpec) => string;
  /** Organizations: Kubernetes reads them as the groups of a client. */
  o?: (spec: ClusterSpec) => string[];
  /** Extended key usages. */
  usages: ("server auth" | "client auth")[];
  /** DNS names and IPs, for serving certificates. */
  hosts?: (spec: ClusterSpec) => string[];
  /** Why the cluster needs it, in one line. */
  purpose: string;
  /**
   * The nodes of a cluster of several that hold it (leaves): the control plane's, or every node that runs
   * a kubelet. The one-node cluster holds them all.
   */
  on?: "controller" | "worker";
}

const loopback = (s: ClusterSpec) => [s.nodeName, "localhost", ...s.nodeIPs, "127.0.0.1", "::1"];

/** The CAs, as kubeadm makes them (their CN is also their one DNS SAN). */
export const CA_DEFS: readonly CertDef[] = [
  { name: "ca", cn: () => "kubernetes", usages: [], purpose: "signs the apiserver, the kubelets and every client of the API" },
  { name: "etcd/ca", cn: () => "etcd-ca", usages: [], purpose: "signs etcd's certificates and its clients: only its holders reach the cluster's data" },
  { name: "front-proxy-ca", cn: () => "front-proxy-ca", usages: [], purpose: "signs the identity the apiserver uses towards extension API servers" },
];

/**
 * The leaves, with kubeadm 1.31+ identities, plus what a one-node bootstrap over SSH needs on top:
 * `127.0.0.1`/`localhost` on the apiserver, the client certificates of the component kubeconfigs
 * (under `clients/`), kube-proxy's, and the kubelet's serving certificate.
 */
export const LEAF_DEFS: readonly CertDef[] = [
  {
    name: "apiserver", on: "controller",
    ca: "ca",
    cn: () => "kube-apiserver",
    usages: ["server auth"],
    hosts: (s) => [
      s.nodeName,
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      `kubernetes.default.svc.${s.clusterDomain}`,
      "localhost",
      firstServiceIP(s.serviceCidr),
      ...s.nodeIPs,
      "127.0.0.1",
      ...(s.apiServerSans ?? []),
    ],
    purpose: "the apiserver's serving certificate, valid for every name clients dial",
  },
  {
    name: "apiserver-kubelet-client", on: "controller",
    ca: "ca",
    cn: () => "kube-apiserver-kubelet-client",
    // No group, as kubeadm 1.35 to 1.37 issue it: the rbac step binds this user to system:kubelet-api-admin, and
    // kubeadm:cluster-admins would make the apiserver's kubelet client a cluster admin.
    usages: ["client auth"],
    purpose: "the apiserver's identity towards kubelets (logs, exec)",
  },
  {
    name: "front-proxy-client", on: "controller",
    ca: "front-proxy-ca",
    cn: () => "front-proxy-client",
    usages: ["client auth"],
    purpose: "the apiserver's identity towards aggregated API servers",
  },
  {
    name: "etcd/server", on: "controller",
    ca: "etcd/ca",
    cn: (s) => s.nodeName,
    usages: ["server auth", "client auth"],
    hosts: loopback,
    purpose: "etcd's serving certificate (etcd also dials itself with it)",
  },
  {
    name: "etcd/peer", on: "controller",
    ca: "etcd/ca",
    cn: (s) => s.nodeName,
    usages: ["server auth", "client auth"],
    hosts: loopback,
    purpose: "etcd's certificate towards other etcd members",
  },
  {
    name: "etcd/healthcheck-client", on: "controller",
    ca: "etcd/ca",
    cn: () => "kube-etcd-healthcheck-client",
    usages: ["client auth"],
    purpose: "for probes that check etcd's health",
  },
  {
    name: "apiserver-etcd-client", on: "controller",
    ca: "etcd/ca",
    cn: () => "kube-apiserver-etcd-client",
    usages: ["client auth"],
    purpose: "the apiserver's identity towards etcd",
  },
  {
    name: "clients/admin", on: "controller",
    ca: "ca",
    cn: () => "kubernetes-admin",
    o: () => ["kubeadm:cluster-admins"],
    usages: ["client auth"],
    purpose: "admin.conf: a cluster admin through RBAC, revocable",
  },
  {
    name: "clients/super-admin", on: "controller",
    ca: "ca",
    cn: () => "kubernetes-super-admin",
    o: () => ["system:masters"],
    usages: ["client auth"],
    purpose: "super-admin.conf: system:masters, bypasses RBAC; for break-glass only",
  },
  { name: "clients/controller-manager", on: "controller", ca: "ca", cn: () => "system:kube-controller-manager", usages: ["client auth"], purpose: "controller-manager.conf" },
  { name: "clients/scheduler", on: "controller", ca: "ca", cn: () => "system:kube-scheduler", usages: ["client auth"], purpose: "scheduler.conf" },
  { name: "clients/kube-proxy", on: "worker", ca: "ca", cn: () => "system:kube-proxy", usages: ["client auth"], purpose: "kube-proxy.conf (bound to system:node-proxier)" },
  {
    name: "clients/kubelet", on: "worker",
    ca: "ca",
    cn: (s) => `system:node:${s.nodeName}`,
    o: () => ["system:nodes"],
    usages: ["client auth"],
    purpose: "kubelet.conf: the Node authorizer limits it to its own node",
  },
  {
    name: "kubelet", on: "worker",
    ca: "ca",
    cn: (s) => `system:node:${s.nodeName}`,
    o: () => ["system:nodes"],
    usages: ["server auth"],
    hosts: (s) => [s.nodeName, "localhost", ...s.nodeIPs, "127.0.0.1"],
    purpose: "the kubelet's serving certificate, so the apiserver can verify the kubelet it talks to",
  },
];

/** Every certificate, CAs first. */
export const CERT_DEFS: readonly CertDef[] = [...CA_DEFS, ...LEAF_DEFS];
