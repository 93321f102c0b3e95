import { ARTIFACTS } from "../artifacts.js";
import { webDeployment } from "./web-app.js";
import { lines, sh } from "../shell.js";
import { waitFor } from "../node.js";
import { httpsUrl } from "../spec.js";
import { type FilePut, type Step, type StepContext, install, installed, kubectl, kubectlWith, pkiFiles } from "./step.js";

const etcdArtifacts = (c: StepContext) => ARTIFACTS.etcd(c.spec.versions, c.arch);
/** This controller's own member of a cluster of several. */
const memberOf = (c: StepContext) => {
  const m = c.spec.etcdCluster?.members.find((x) => x.name === c.spec.nodeName);
  if (!m) throw new Error(`node ${c.spec.nodeName} is not a member of its etcd cluster`);
  return m;
};

/** Every member's client URL, this node's first: the apiserver fails over to the others when its own member is down. */
export const etcdServers = (c: StepContext): string => {
  const members = c.spec.etcdCluster?.members;
  if (!members) return "https://127.0.0.1:2379";
  const own = memberOf(c);
  return ["https://127.0.0.1:2379", ...members.filter((m) => m !== own).map((m) => httpsUrl(m.ip, 2379))].join(",");
};

const conf = (c: StepContext, name: string): FilePut => ({ path: `${c.node.etc}/${name}`, mode: 0o600, local: name });

/** etcd: the cluster's only memory. */
export const etcd: Step = {
  id: "etcd",
  runsOn: "controller",
  title: "etcd, the key-value store",
  why: "Everything Kubernetes knows (Deployments, Pods, Nodes, Secrets) is stored in etcd and nowhere else. The apiserver is a stateless front door to it: without etcd it cannot start. Only clients with a certificate of the etcd CA get in.",
  observe: "etcdctl, with the health-check client certificate, reports the endpoint healthy; nothing else runs yet.",
  ports: [2379, 2380],
  artifacts: etcdArtifacts,
  files: (c) =>
    pkiFiles(c, [
      "etcd/ca.crt",
      "etcd/server.crt",
      "etcd/server.key",
      "etcd/peer.crt",
      "etcd/peer.key",
      "etcd/healthcheck-client.crt",
      "etcd/healthcheck-client.key",
    ]),
  script(c) {
    const p = c.node.pki;
    const clientUrls = ["https://127.0.0.1:2379", ...c.spec.nodeIPs.map((ip) => httpsUrl(ip, 2379))].join(",");
    const data = c.node.path("var/lib/etcd");
    // One member listens for peers on loopback (the workshop's node); several, on their node IPs, each naming all.
    const cluster = c.spec.etcdCluster;
    const peerUrl = cluster ? httpsUrl(memberOf(c).ip, 2380) : "https://127.0.0.1:2380";
    // Members of several advertise only what their peers and clients can dial: never loopback.
    const advertised = cluster ? c.spec.nodeIPs.map((ip) => httpsUrl(ip, 2379)).join(",") : clientUrls;
    const initial = cluster ? cluster.members.map((m) => `${m.name}=${httpsUrl(m.ip, 2380)}`).join(",") : `${c.spec.nodeName}=${peerUrl}`;
    return lines([
      install(c, etcdArtifacts(c)),
      sh`mkdir -p ${data} && chmod 700 ${data}`,
      sh`DK_TYPE=notify dk_start etcd ${`${c.node.bin}/etcd`} --name=${c.spec.nodeName} --data-dir=${data} \\
  --listen-client-urls=${clientUrls} --advertise-client-urls=${advertised} \\
  --listen-peer-urls=${peerUrl} --initial-advertise-peer-urls=${peerUrl} \\
  --initial-cluster=${initial} --initial-cluster-state=${cluster?.state ?? "new"}${cluster ? sh` --initial-cluster-token=${cluster.token}` : sh``} \\
  --client-cert-auth=true --trusted-ca-file=${`${p}/etcd/ca.crt`} --cert-file=${`${p}/etcd/server.crt`} --key-file=${`${p}/etcd/server.key`} \\
  --peer-client-cert-auth=true --peer-trusted-ca-file=${`${p}/etcd/ca.crt`} --peer-cert-file=${`${p}/etcd/peer.crt`} --peer-key-file=${`${p}/etcd/peer.key`} \\
  --listen-metrics-urls=http://127.0.0.1:2381`,
    ]);
  },
  check(c) {
    const p = c.node.pki;
    return sh`env ETCDCTL_API=3 ${`${c.node.bin}/etcdctl`} --endpoints=https://127.0.0.1:2379 --cacert=${`${p}/etcd/ca.crt`} --cert=${`${p}/etcd/healthcheck-client.crt`} --key=${`${p}/etcd/healthcheck-client.key`} --dial-timeout=1s --command-timeout=2s endpoint health`;
  },
  checkTimeout: 60,
  creates: (c) => [...installed(etcdArtifacts(c), c.node.bin), c.node.path("var/lib/etcd")],
  components: ["etcd"],
  show(c) {
    const p = c.node.pki;
    return sh`env ETCDCTL_API=3 ${`${c.node.bin}/etcdctl`} --endpoints=https://127.0.0.1:2379 --cacert=${`${p}/etcd/ca.crt`} --cert=${`${p}/etcd/healthcheck-client.crt`} --key=${`${p}/etcd/healthcheck-client.key`} endpoint status -w table`;
  },
};

const superAdmin = (c: StepContext, ...args: string[]) => kubectlWith(c, "super-admin.conf", ...args);

/** kube-apiserver: the only door to etcd. */
export const kubeApiserver: Step = {
  id: "kube-apiserver",
  runsOn: "controller",
  title: "kube-apiserver, the API",
  why: "Every component and every kubectl talks to the apiserver, never to etcd: it authenticates (certificates of the cluster CA), authorizes (Node, RBAC), validates and stores. With it alone you can create a Deployment, but nothing acts on it.",
  observe:
    "kubectl answers (`kubectl get --raw /readyz`), the `kubernetes` Service has the first Service IP; a Deployment created now is stored but gets no Pods (with `--step`, the workshop's web Deployment is created here to show it).",
  ports: [6443],
  artifacts: (c) => ARTIFACTS["kube-apiserver"](c.spec.versions, c.arch),
  files: (c) => [
    ...pkiFiles(c, [
      "ca.crt",
      "apiserver.crt",
      "apiserver.key",
      "apiserver-kubelet-client.crt",
      "apiserver-kubelet-client.key",
      "front-proxy-ca.crt",
      "front-proxy-client.crt",
      "front-proxy-client.key",
      "etcd/ca.crt",
      "apiserver-etcd-client.crt",
      "apiserver-etcd-client.key",
      "sa.key",
      "sa.pub",
    ]),
    conf(c, "super-admin.conf"),
    conf(c, "admin.conf"),
  ],
  script(c) {
    const p = c.node.pki;
    const advertise = c.spec.nodeIPs[0];
    // --shutdown-watch-termination-grace-period: without it a stopped apiserver closes its port at once but waits
    // for the open watches (every kubelet's, controller's, informer's) until its request timeout, 60 s, before it
    // exits (kubernetes/kubernetes#131052; k0s sets it too); every restart of a running cluster's apiserver was then
    // 30 s of nothing listening (our stop's limit) or 60 s under systemd, long enough for this node's kubelet, which
    // talks to it, to go unposted past the node controller's 50 s and be marked Unknown. With it, watches are closed
    // (200 a second at least) and it exits within a few seconds; the 10 s bound stays under every stop's limit.
    return lines([
      install(c, kubeApiserver.artifacts!(c)),
      sh`DK_AFTER=etcd dk_start kube-apiserver ${`${c.node.bin}/kube-apiserver`} ${advertise ? `--advertise-address=${advertise}` : "--bind-address=0.0.0.0"} --secure-port=6443 \\
  --allow-privileged=true --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \\
  --client-ca-file=${`${p}/ca.crt`} --tls-cert-file=${`${p}/apiserver.crt`} --tls-private-key-file=${`${p}/apiserver.key`} \\
  --kubelet-client-certificate=${`${p}/apiserver-kubelet-client.crt`} --kubelet-client-key=${`${p}/apiserver-kubelet-client.key`} \\
  --kubelet-certificate-authority=${`${p}/ca.crt`} --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname \\
  --etcd-servers=${etcdServers(c)} --etcd-cafile=${`${p}/etcd/ca.crt`} --etcd-certfile=${`${p}/apiserver-etcd-client.crt`} --etcd-keyfile=${`${p}/apiserver-etcd-client.key`} \\
  --service-cluster-ip-range=${c.spec.serviceCidr} \\
  --service-account-issuer=${`https://kubernetes.default.svc.${c.spec.clusterDomain}`} --service-account-key-file=${`${p}/sa.pub`} --service-account-signing-key-file=${`${p}/sa.key`} \\
  --requestheader-client-ca-file=${`${p}/front-proxy-ca.crt`} --requestheader-allowed-names=front-proxy-client \\
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group --requestheader-extra-headers-prefix=X-Remote-Extra- \\
  --proxy-client-cert-file=${`${p}/front-proxy-client.crt`} --proxy-client-key-file=${`${p}/front-proxy-client.key`} \\
  --shutdown-watch-termination-grace-period=10s`,
    ]);
  },
  check: (c) => superAdmin(c, "get", "--raw", "/readyz"),
  checkTimeout: 90,
  creates: (c) => installed(kubeApiserver.artifacts!(c), c.node.bin),
  components: ["kube-apiserver"],
  // The workshop's moment: a Deployment is stored, and nothing happens.
  show: (c) => lines([sh`printf '%s' ${webDeployment(c.spec.webImage)} | ${superAdmin(c, "apply", "-f", "-")}`, superAdmin(c, "get", "deployment,pods")]),
};

const RBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:cluster-admins
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: kubeadm:cluster-admins
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kube-apiserver-kubelet-client
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: kube-apiserver-kubelet-client
`;

/** The RBAC a cluster without kubeadm lacks. */
export const rbac: Step = {
  id: "rbac",
  runsOn: "cluster",
  title: "RBAC: admins, and the apiserver towards the kubelet",
  why: "admin.conf's group kubeadm:cluster-admins means nothing until a binding gives it cluster-admin (unlike system:masters, that binding can be removed: the admin can be revoked). The kubelet, which authorizes through the apiserver, only serves logs and exec to the apiserver's client identity once it is bound to system:kubelet-api-admin.",
  observe: "`kubectl --kubeconfig admin.conf auth can-i '*' '*'` says yes.",
  files: (c) => [{ path: `${c.node.etc}/manifests/dk-rbac.yaml`, mode: 0o644, content: RBAC }],
  script: (c) => superAdmin(c, "apply", "-f", `${c.node.etc}/manifests/dk-rbac.yaml`),
  check: (c) => kubectl(c, "auth", "can-i", "*", "*"),
  show: (c) => kubectl(c, "auth", "whoami"),
  checkTimeout: 30,
  creates: () => [],
  components: [],
};

/** kube-controller-manager: the loops that make things happen. */
export const kubeControllerManager: Step = {
  id: "kube-controller-manager",
  runsOn: "controller",
  title: "kube-controller-manager, the control loops",
  why: "The apiserver only stores wishes. Controllers turn them into more objects: the Deployment controller makes a ReplicaSet, which makes Pods; it also gives the node its pod subnet and every namespace its service account and CA bundle.",
  observe:
    "every namespace gets its `default` ServiceAccount and `kube-root-ca.crt` ConfigMap; a Deployment now gets its ReplicaSet and Pods, all Pending: nothing decides where they run (with `--step`, the web Deployment's).",
  ports: [10257],
  artifacts: (c) => ARTIFACTS["kube-controller-manager"](c.spec.versions, c.arch),
  files: (c) => [
    ...pkiFiles(c, ["ca.crt", "ca.key", "front-proxy-ca.crt", "sa.key"]),
    { path: `${c.node.pki}/ca-signer.crt`, mode: 0o644, local: "pki/ca.crt", signer: true },
    conf(c, "controller-manager.conf"),
  ],
  script(c) {
    const p = c.node.pki;
    const kc = `${c.node.etc}/controller-manager.conf`;
    return lines([
      install(c, kubeControllerManager.artifacts!(c)),
      sh`dk_start kube-controller-manager ${`${c.node.bin}/kube-controller-manager`} --bind-address=127.0.0.1 --leader-elect=true \\
  --kubeconfig=${kc} --authentication-kubeconfig=${kc} --authorization-kubeconfig=${kc} \\
  --client-ca-file=${`${p}/ca-signer.crt`} --requestheader-client-ca-file=${`${p}/front-proxy-ca.crt`} --root-ca-file=${`${p}/ca.crt`} \\
  --service-account-private-key-file=${`${p}/sa.key`} --cluster-signing-cert-file=${`${p}/ca-signer.crt`} --cluster-signing-key-file=${`${p}/ca.key`} \\
  --use-service-account-credentials=true --controllers='*' \\
  --allocate-node-cidrs=true --cluster-cidr=${c.spec.podCidr} --service-cluster-ip-range=${c.spec.serviceCidr} --cluster-name=${c.spec.clusterName}`,
    ]);
  },
  check: () => sh`curl -fsk https://127.0.0.1:10257/healthz`,
  // What it shows is there before it is shown: the ReplicaSet's Pods (a slow machine takes seconds to make them).
  show: (c) =>
    lines([sh`${waitFor(30, sh`[ -n "$(${superAdmin(c, "get", "pods", "-o", "name")})" ]`)} || true`, superAdmin(c, "get", "replicasets,pods", "-o", "wide")]),
  checkTimeout: 60,
  creates: (c) => installed(kubeControllerManager.artifacts!(c), c.node.bin),
  components: ["kube-controller-manager"],
};

/** kube-scheduler: picks a node for each Pod. */
export const kubeScheduler: Step = {
  id: "kube-scheduler",
  runsOn: "controller",
  title: "kube-scheduler, the placement",
  why: "A Pod runs nowhere until the scheduler writes a node name into it. With no node registered yet, it can only say so.",
  observe: "Pending Pods stay Pending, now with a FailedScheduling event: no nodes are available (with `--step`, the web Deployment's).",
  ports: [10259],
  artifacts: (c) => ARTIFACTS["kube-scheduler"](c.spec.versions, c.arch),
  files: (c) => [conf(c, "scheduler.conf")],
  script(c) {
    const kc = `${c.node.etc}/scheduler.conf`;
    return lines([
      install(c, kubeScheduler.artifacts!(c)),
      sh`dk_start kube-scheduler ${`${c.node.bin}/kube-scheduler`} --bind-address=127.0.0.1 --leader-elect=true --kubeconfig=${kc} --authentication-kubeconfig=${kc} --authorization-kubeconfig=${kc}`,
    ]);
  },
  check: () => sh`curl -fsk https://127.0.0.1:10259/healthz`,
  // The scheduler's first try, as an event (it tries at once, but a slow machine takes seconds to start it).
  show: (c) =>
    lines([
      sh`${waitFor(30, sh`[ -n "$(${superAdmin(c, "get", "events", "--field-selector", "reason=FailedScheduling", "-o", "name")})" ]`)} || true`,
      superAdmin(c, "get", "pods"),
      superAdmin(c, "get", "events", "--field-selector", "reason=FailedScheduling"),
    ]),
  checkTimeout: 60,
  creates: (c) => installed(kubeScheduler.artifacts!(c), c.node.bin),
  components: ["kube-scheduler"],
};
