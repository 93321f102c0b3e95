/**
 * Which files each component reads and who dials whom: what the drawing shows beside the certificates.
 * The files are the orchestrator's (its steps' `files`, checked by test/components.test.ts), kept here as
 * data because the orchestrator itself needs Node; the flags say why each file is read.
 */
import type { CaName } from "@dk-bootstrap/pki";

/** One file a component reads, by its path in the cluster folder, and the flag or setting that names it. */
export interface ComponentFile {
  file: string;
  as: string;
}

/** A component of the one-node cluster and the files it reads. */
export interface Component {
  name: string;
  /** The orchestrator's step that installs it (none for kubectl, which runs on your machine). */
  step?: string;
  reads: ComponentFile[];
}

const pair = (stem: string, as: string): ComponentFile[] => [
  { file: `pki/${stem}.crt`, as },
  { file: `pki/${stem}.key`, as },
];

/** The components, in the order a node starts them. */
export const COMPONENTS: readonly Component[] = [
  {
    name: "etcd",
    step: "etcd",
    reads: [
      { file: "pki/etcd/ca.crt", as: "--trusted-ca-file, --peer-trusted-ca-file" },
      ...pair("etcd/server", "--cert-file, --key-file"),
      ...pair("etcd/peer", "--peer-cert-file, --peer-key-file"),
      ...pair("etcd/healthcheck-client", "etcdctl's health probe"),
    ],
  },
  {
    name: "kube-apiserver",
    step: "kube-apiserver",
    reads: [
      { file: "pki/ca.crt", as: "--client-ca-file, --kubelet-certificate-authority" },
      ...pair("apiserver", "--tls-cert-file, --tls-private-key-file"),
      ...pair("apiserver-kubelet-client", "--kubelet-client-certificate, --kubelet-client-key"),
      { file: "pki/front-proxy-ca.crt", as: "--requestheader-client-ca-file" },
      ...pair("front-proxy-client", "--proxy-client-cert-file, --proxy-client-key-file"),
      { file: "pki/etcd/ca.crt", as: "--etcd-cafile" },
      ...pair("apiserver-etcd-client", "--etcd-certfile, --etcd-keyfile"),
      { file: "pki/sa.key", as: "--service-account-signing-key-file" },
      { file: "pki/sa.pub", as: "--service-account-key-file" },
      { file: "super-admin.conf", as: "the bootstrap's kubectl, before RBAC binds the admins" },
      { file: "admin.conf", as: "the bootstrap's kubectl" },
    ],
  },
  {
    name: "kube-controller-manager",
    step: "kube-controller-manager",
    reads: [
      { file: "pki/ca.crt", as: "--root-ca-file" },
      {
        file: "pki/ca.crt",
        as: "--client-ca-file, --cluster-signing-cert-file (as ca-signer.crt: the signing certificate alone, which a CA rotation keeps single)",
      },
      { file: "pki/ca.key", as: "--cluster-signing-key-file" },
      { file: "pki/front-proxy-ca.crt", as: "--requestheader-client-ca-file" },
      { file: "pki/sa.key", as: "--service-account-private-key-file" },
      { file: "controller-manager.conf", as: "--kubeconfig" },
    ],
  },
  { name: "kube-scheduler", step: "kube-scheduler", reads: [{ file: "scheduler.conf", as: "--kubeconfig" }] },
  {
    name: "kubelet",
    step: "kubelet",
    reads: [
      { file: "pki/ca.crt", as: "authentication.x509.clientCAFile" },
      ...pair("kubelet", "tlsCertFile, tlsPrivateKeyFile"),
      { file: "kubelet.conf", as: "--kubeconfig" },
    ],
  },
  { name: "kube-proxy", step: "kube-proxy", reads: [{ file: "kube-proxy.conf", as: "clientConnection.kubeconfig" }] },
  { name: "kubectl", reads: [{ file: "admin.conf", as: "--kubeconfig (you)" }] },
];

/** A TLS connection: the client presents `presents` (a certificate of the cluster PKI), the server checks it against `checkedWith`. */
export interface Trust {
  client: string;
  server: string;
  presents: string;
  /** The CA the server checks the client against, and the client the server against. */
  checkedWith: CaName;
  /** The server's certificate. */
  serves: string;
}

/** Who dials whom with which certificate. */
export const TRUSTS: readonly Trust[] = [
  { client: "kube-apiserver", server: "etcd", presents: "apiserver-etcd-client", checkedWith: "etcd/ca", serves: "etcd/server" },
  { client: "etcd (health probe)", server: "etcd", presents: "etcd/healthcheck-client", checkedWith: "etcd/ca", serves: "etcd/server" },
  { client: "etcd", server: "etcd (peers)", presents: "etcd/peer", checkedWith: "etcd/ca", serves: "etcd/peer" },
  { client: "kubectl", server: "kube-apiserver", presents: "clients/admin", checkedWith: "ca", serves: "apiserver" },
  { client: "kube-controller-manager", server: "kube-apiserver", presents: "clients/controller-manager", checkedWith: "ca", serves: "apiserver" },
  { client: "kube-scheduler", server: "kube-apiserver", presents: "clients/scheduler", checkedWith: "ca", serves: "apiserver" },
  { client: "kubelet", server: "kube-apiserver", presents: "clients/kubelet", checkedWith: "ca", serves: "apiserver" },
  { client: "kube-proxy", server: "kube-apiserver", presents: "clients/kube-proxy", checkedWith: "ca", serves: "apiserver" },
  { client: "kube-apiserver", server: "kubelet", presents: "apiserver-kubelet-client", checkedWith: "ca", serves: "kubelet" },
  { client: "kube-apiserver", server: "aggregated API servers", presents: "front-proxy-client", checkedWith: "front-proxy-ca", serves: "-" },
];
