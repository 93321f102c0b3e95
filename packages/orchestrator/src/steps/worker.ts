import { ARTIFACTS } from "../artifacts.js";
import { calicoScript, calicoValues, helmArtifacts } from "./addons.js";
import { waitFor } from "../node.js";
import { type Shell, lines, sh } from "../shell.js";
import { dnsServiceIP } from "../spec.js";
import { containerdSocket, imageFiles, imageImportScript, sandboxImage } from "../images/node-images.js";
import { moduleLoaded } from "./kernel.js";
import { webManifests } from "./web-app.js";
import { podRoutesFiles, podRoutesStart, podRoutesTeardown } from "./pod-routes.js";
import { cgroupGuard, cgroupRoot, cgroupRootSetup, cgroupRootTeardown, cgroupVersion } from "./cgroups.js";
import { type Step, type StepContext, cgroupDriver, install, installed, kubectl, kubectlWith, pkiFiles, supervisorGuard } from "./step.js";

const cniBin = (c: StepContext) => c.node.path("opt/cni/bin");
const cniConf = (c: StepContext) => c.node.path("etc/cni/net.d");
const bridgeTemplate = (c: StepContext) => `${c.node.etc}/cni/10-bridge.conflist.template`;
/** The placeholder of the bridge template's subnet. */
const POD_SUBNET = "DK_POD_SUBNET";

/** The bridge's network configuration, and where it is made before it is renamed into place (libcni loads only .conf, .conflist and .json). */
const conflist = (c: StepContext) => `${cniConf(c)}/10-bridge.conflist`;
const conflistNext = (c: StepContext) => `${cniConf(c)}/.10-bridge.conflist.next`;
/** The bridge config with this node's pod subnet (each node has its own range of the pod CIDR, so pods get unique IPs cluster-wide). */
const bridgeForThisNode = (c: StepContext): Shell => {
  const podCidr = kubectlWith(c, "kubelet.conf", "get", "node", c.spec.nodeName, "-o", "jsonpath={.spec.podCIDR}");
  return lines([
    waitFor(120, sh`[ -n "$(${podCidr})" ]`),
    // containerd watches this folder and reloads on every change: a file written in place is read empty or half written
    // (the network turns not ready, and the kubelet reports the node NotReady until its next status, 10 s on), so the
    // conflist is made beside it under a name containerd does not load, then renamed over it, and only if it changed.
    sh`subnet=$(${podCidr}) && mkdir -p ${cniConf(c)} && sed "s#${POD_SUBNET}#$subnet#" ${bridgeTemplate(c)} > ${conflistNext(c)}`,
    sh`if cmp -s ${conflistNext(c)} ${conflist(c)}; then rm -f ${conflistNext(c)}; else mv -f ${conflistNext(c)} ${conflist(c)}; fi`,
  ]);
};
/** containerd's socket: one place (the image import waits on it too). */
const socket = containerdSocket;
const modulesFile = (c: StepContext) => c.node.path("etc/modules-load.d/dk-bootstrap.conf");
/** The resolv.conf the kubelet gives Pods with `dnsPolicy: Default` (CoreDNS's upstream servers): a link chosen on the node. */
const resolvConf = (c: StepContext) => c.node.path("var/lib/kubelet/resolv.conf");
const sysctlFile = (c: StepContext) => c.node.path("etc/sysctl.d/99-dk-bootstrap.conf");

/** Kernel settings pods need: routing between the pod bridge and the world, and bridged traffic through iptables (kube-proxy's rules). */
const SYSCTL = `# dk-bootstrap: applied at boot by systemd-sysctl
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
`;

/**
 * inotify instances for the root user: the kubelet (cAdvisor, its certificate watchers), containerd and every Pod's
 * programs each take some, and the kernel's default of 128 per user is soon used up when several nodes share a
 * machine, or on a busy node: the kubelet then dies at its start ("Failed to start cAdvisor: inotify_init: too many
 * open files", seen with two test suites side by side). 8192 is what OpenShift and Rancher set. Its own file, applied
 * only where the value is lower, so a machine that has more keeps it; at boot, /etc/sysctl.conf (99-sysctl.conf)
 * comes after this file and wins.
 */
const inotifyFile = (c: StepContext) => c.node.path("etc/sysctl.d/98-dk-bootstrap-inotify.conf");
const INOTIFY_INSTANCES = 8192;
const INOTIFY = `# dk-bootstrap: applied at boot by systemd-sysctl, and by dk-bootstrap where the value was lower
fs.inotify.max_user_instances = ${INOTIFY_INSTANCES}
`;

/** The pod network's name (in the bridge plugin's iptables comments: what reset looks for) and its bridge. */
const CNI_NETWORK = "dk-bootstrap";
const CNI_BRIDGE = "cni0";

/**
 * Unmounts, deepest first, whatever is mounted on or below `dir` (lazily: a mount still in use goes once released).
 * On too: the kubelet bind-mounts its root dir onto itself to make it a shared mount.
 */
const unmountUnder = (dir: string): Shell =>
  sh`awk -v d=${dir} '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done`;

/**
 * The Pods' processes and containerd's leftovers, once the kubelet and containerd are stopped: every process in the
 * kubelet's cgroups and every shim of this containerd (by its socket) killed, the mounts below containerd's root
 * and state undone, and the cgroups of a node under a remote root of its own removed.
 */
function containersTeardown(c: StepContext): Shell {
  const pods = `${cgroupRoot(c) ?? ""}/kubepods`;
  return lines([
    sh`find /sys/fs/cgroup -path ${`*${pods}/*`} -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null || true; done`,
    // `[-]`: the pattern must not match this script's own command line, which holds it.
    sh`pkill -9 -f -- ${`[-]address ${socket(c)}`} || true`,
    unmountUnder(c.node.path("run/containerd")),
    unmountUnder(c.node.path("var/lib/containerd")),
    sh`for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do [ -d "$h"${pods} ] && find "$h"${pods} -depth -type d -exec rmdir {} + 2>/dev/null; done; true`,
    cgroupRootTeardown(c),
  ]);
}

/**
 * The bridge network's leftovers: the bridge itself, and the masquerade rules and chains the bridge plugin wrote for
 * each Pod of this network (named by its iptables comment), which a Pod killed without the CNI's DEL leaves behind.
 */
function bridgeTeardown(c: StepContext): Shell {
  // Each Pod's rule names its network in a comment (which `iptables -S` prints with its quotes escaped); its jump
  // target is that Pod's chain (CNI-<hash>).
  const ours = `name: \\"${CNI_NETWORK}\\"`;
  return lines([
    sh`ip link del ${CNI_BRIDGE} 2>/dev/null || true`,
    sh`if command -v iptables >/dev/null 2>&1; then
  for chain in $(iptables -t nat -S POSTROUTING | grep -F ${ours} | awk '{ for (i = 1; i < NF; i++) if ($i == "-j") print $(i + 1) }' | sort -u); do
    iptables -t nat -S POSTROUTING | grep -F -- "-j $chain" | sed 's/^-A /-D /' | while read -r rule; do eval "iptables -t nat $rule" || true; done
    iptables -t nat -F "$chain" 2>/dev/null || true
    iptables -t nat -X "$chain" 2>/dev/null || true
  done
fi`,
    sh`rm -rf ${cniIpamDir(c)}`,
  ]);
}

/** Where host-local IPAM records the addresses it gave. */
const cniIpamDir = (c: StepContext) => c.node.path("var/lib/cni/networks");

/**
 * The kubelet's cgroup settings: on v1, Kubernetes 1.35+ starts only with `failCgroupV1: false` (v1 is deprecated:
 * no memory QoS, no swap, no PSI there); a node under a remote root of its own puts its Pods under a cgroup of its own.
 */
function kubeletCgroupSettings(c: StepContext): string {
  const root = cgroupRoot(c);
  return `${cgroupVersion(c) === "v1" ? "failCgroupV1: false\n" : ""}${root ? `cgroupRoot: ${root}\n` : ""}`;
}

/**
 * kube-proxy's conntrack settings. A node under a remote root of its own shares its machine's kernel: it leaves the
 * machine-wide conntrack table size and timeouts as they are (0 = don't change), which a network namespace could
 * not change anyway (those sysctls are read-only there).
 */
function kubeProxyConntrack(c: StepContext): string {
  return c.node.root === "/" ? "" : "conntrack:\n  maxPerCore: 0\n  tcpEstablishedTimeout: 0s\n  tcpCloseWaitTimeout: 0s\n";
}

/** The minor of a Kubernetes version (`1.34.2` → 34). */
const minor = (v: string) => Number(v.split(".")[1]);

/** containerd (with runc): runs containers for the kubelet. */
export const containerd: Step = {
  id: "containerd",
  runsOn: "worker",
  artifacts: (c) => ARTIFACTS.containerd(c.spec.versions, c.arch),
  title: "containerd and runc, the container runtime",
  why: "Kubernetes does not run containers itself: the kubelet asks a CRI runtime. containerd pulls images and manages containers, runc creates them with the kernel's namespaces and cgroups.",
  observe: "containerd answers on its socket and says its network is not ready: no CNI plugin yet.",
  needsRoot: true,
  tools: () => ({ modprobe: "loading the kernel modules pods need", sysctl: "turning on IP forwarding and bridge filtering" }),
  modules: {
    overlay: "containerd's overlayfs snapshotter, the layers of every image",
    br_netfilter: "bridged pod traffic seen by iptables, so Services work between pods",
  },
  files: (c) => [
    ...imageFiles(c),
    { path: modulesFile(c), mode: 0o644, content: "# dk-bootstrap: loaded at boot by systemd-modules-load\noverlay\nbr_netfilter\n" },
    { path: sysctlFile(c), mode: 0o644, content: SYSCTL },
    { path: inotifyFile(c), mode: 0o644, content: INOTIFY },
    {
      path: c.node.path("etc/containerd/config.toml"),
      mode: 0o644,
      content: `version = 3
root = '${c.node.path("var/lib/containerd")}'
state = '${c.node.path("run/containerd")}'

[grpc]
  address = '${socket(c)}'

[plugins.'io.containerd.cri.v1.runtime']
  # Each Pod's network namespace is a file under containerd's own state, not /var/run/netns (shared by the machine).
  netns_mounts_under_state_dir = true
${
  c.node.root === "/"
    ? ""
    : `  # A node sharing its machine ranks its Pods no safer from the OOM killer than containerd itself (the kubelet asks
  # -998 for sandboxes, which also needs CAP_SYS_RESOURCE, not every machine's root has it).
  restrict_oom_score_adj = true
`
}
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'
  # The shim as installed here: containerd looks for it on its PATH, which need not hold this node's bin folder.
  runtime_path = '${c.node.bin}/containerd-shim-runc-v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  # runc as installed here (it need not be on containerd's PATH), its state under this node's root.
  BinaryName = '${c.node.bin}/runc'
  Root = '${c.node.path("run/containerd/runc")}'
  SystemdCgroup = ${cgroupDriver(c) === "systemd"}

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ['${cniBin(c)}']
  conf_dir = '${cniConf(c)}'

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  # The Pods' sandbox: kubeadm's pairing for this release, imported from a bundle where no registry answers.
  sandbox = '${sandboxImage(c.spec)}'

[plugins.'io.containerd.nri.v1.nri']
  # NRI's socket is machine-wide by default (/var/run/nri): this node's own.
  socket_path = '${c.node.path("run/nri/nri.sock")}'
`,
    },
  ],
  script: (c) =>
    lines([
      supervisorGuard(c),
      // Now, and at every boot from the files above (systemd-modules-load, then systemd-sysctl).
      sh`${moduleLoaded("overlay")} || modprobe overlay`,
      sh`${moduleLoaded("br_netfilter")} || modprobe br_netfilter`,
      sh`sysctl -q -p ${sysctlFile(c)}`,
      sh`[ "$(sysctl -n fs.inotify.max_user_instances)" -ge ${INOTIFY_INSTANCES} ] || sysctl -q -p ${inotifyFile(c)}`,
      install(c, containerd.artifacts!(c)),
      sh`DK_TYPE=notify dk_start containerd ${`${c.node.bin}/containerd`} --config ${c.node.path("etc/containerd/config.toml")}`,
      // Air-gapped images (none given: nothing), imported and pinned before the kubelet asks for them.
      imageImportScript(c),
    ]),
  check: (c) => sh`${`${c.node.bin}/ctr`} --address ${socket(c)} version`,
  show: (c) => sh`${`${c.node.bin}/ctr`} --address ${socket(c)} version`,
  checkTimeout: 30,
  creates: (c) => [
    ...installed(containerd.artifacts!(c), c.node.bin),
    c.node.path("var/lib/containerd"),
    c.node.path("run/containerd"),
    c.node.path("run/nri"),
    // containerd's CRI makes its CNI config folder when it starts (to watch it), before the cni step writes there.
    cniConf(c),
  ],
  components: ["containerd"],
  teardown: (c) => containersTeardown(c),
};

/** kubelet: registers the node and runs its Pods. */
export const kubelet: Step = {
  id: "kubelet",
  runsOn: "worker",
  artifacts: (c) => ARTIFACTS.kubelet(c.spec.versions, c.arch),
  title: "kubelet, the node agent",
  why: "The kubelet registers this machine as a Node, then runs the Pods scheduled to it through containerd. Its own identity (system:node:<name>) lets the Node authorizer limit it to its node; its config turns off anonymous access and asks the apiserver who may call it.",
  observe: "the node is listed NotReady: `cni plugin not initialized`. Pods scheduled to it cannot start yet.",
  needsRoot: true,
  ports: [10250],
  files: (c) => [
    ...pkiFiles(c, ["ca.crt", "kubelet.crt", "kubelet.key"]),
    { path: `${c.node.etc}/kubelet.conf`, mode: 0o600, local: "kubelet.conf" },
    {
      path: c.node.path("var/lib/kubelet/config.yaml"),
      mode: 0o644,
      content: `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${c.node.pki}/ca.crt
authorization:
  mode: Webhook
cgroupDriver: ${cgroupDriver(c)}
${kubeletCgroupSettings(c)}containerRuntimeEndpoint: unix://${socket(c)}
clusterDomain: ${c.spec.clusterDomain}
${c.spec.dns === "coredns" ? `clusterDNS:\n- ${dnsServiceIP(c.spec.serviceCidr)}\n` : ""}resolvConf: ${resolvConf(c)}
failSwapOn: false
memorySwap:
  swapBehavior: NoSwap
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
registerNode: true
tlsCertFile: ${c.node.pki}/kubelet.crt
tlsPrivateKeyFile: ${c.node.pki}/kubelet.key
podLogsDir: ${c.node.path("var/log/pods")}
`,
    },
  ],
  script: (c) =>
    lines([
      supervisorGuard(c),
      cgroupGuard(c),
      cgroupRootSetup(c),
      // Under systemd-resolved /etc/resolv.conf names only its stub (127.0.0.53), which is no address inside a Pod,
      // and CoreDNS forwarding to it would loop: point the kubelet at the real upstream servers, as kubeadm does.
      sh`if grep -qs '^nameserver 127\\.0\\.0\\.53' /etc/resolv.conf && [ -f /run/systemd/resolve/resolv.conf ]; then ln -sfn /run/systemd/resolve/resolv.conf ${resolvConf(c)}; else ln -sfn /etc/resolv.conf ${resolvConf(c)}; fi`,
      install(c, kubelet.artifacts!(c)),
      sh`DK_AFTER=containerd dk_start kubelet ${`${c.node.bin}/kubelet`} --config=${c.node.path("var/lib/kubelet/config.yaml")} --kubeconfig=${`${c.node.etc}/kubelet.conf`} \\
  --root-dir=${c.node.path("var/lib/kubelet")} --hostname-override=${c.spec.nodeName}${c.spec.nodeIPs[0] ? sh` --node-ip=${c.spec.nodeIPs[0]}` : sh``}`,
    ]),
  // Healthy, and heard by the API: its node's Lease renewed since this kubelet process started (asked with its own
  // kubeconfig, which the Node authorizer lets read its own Lease). Healthz alone passes for a kubelet that cannot
  // reach or authenticate to the apiserver, and its node stays Ready for the node controller's 50 s grace, so a
  // rolling change would go on to the next node; this stops it at the first kubelet the API does not hear. Strictly
  // after (whole seconds): the previous process's last renewal can fall in the second this one started; a renewal of
  // this one in that same second costs one more renewal period (10 s), not a wrong pass.
  check: (c) =>
    sh`curl -fs http://127.0.0.1:10248/healthz >/dev/null && renewed=$(${kubectlWith(c, "kubelet.conf", "get", "lease", "-n", "kube-node-lease", c.spec.nodeName, "-o", "jsonpath={.spec.renewTime}")}) && [ -n "$renewed" ] && [ "$(date -d "$renewed" +%s)" -gt "$(dk_started kubelet)" ]`,
  // The node as the API has it, once the kubelet has registered it (a slow machine takes seconds more than its health).
  show: (c) =>
    lines([
      sh`${waitFor(30, kubectlWith(c, "kubelet.conf", "get", "node", c.spec.nodeName, "-o", "name"))} || true`,
      kubectl(c, "get", "nodes"),
      sh`${kubectl(c, "describe", "node", c.spec.nodeName)} | grep -E 'Ready|NetworkReady' || true`,
    ]),
  checkTimeout: 60,
  creates: (c) => [...installed(kubelet.artifacts!(c), c.node.bin), c.node.path("var/lib/kubelet"), c.node.path("var/log/pods")],
  components: ["kubelet"],
  // The volumes it mounted for Pods (secrets, projected tokens) under its root dir, and the canary chains it makes in
  // each table to notice when the rules are flushed.
  teardown: (c) =>
    lines([
      unmountUnder(c.node.path("var/lib/kubelet")),
      sh`if command -v iptables >/dev/null 2>&1; then for t in mangle nat filter; do iptables -t "$t" -F KUBE-KUBELET-CANARY 2>/dev/null && iptables -t "$t" -X KUBE-KUBELET-CANARY 2>/dev/null; done; fi; true`,
    ]),
};

/** A bridge + host-local CNI: pod networking with no image to pull. */
export const cni: Step = {
  id: "cni",
  runsOn: "worker",
  artifacts: (c) => [...ARTIFACTS.cni(c.spec.versions, c.arch), ...(c.spec.cni === "calico" ? helmArtifacts(c) : [])],
  title: "CNI: pod networking",
  tools: (spec): Record<string, string> =>
    spec.cni === "bridge" ? { iptables: "the bridge plugin's masquerade of pod traffic and the portmap plugin's host ports" } : {},
  why: "Each Pod gets its own network namespace; a CNI plugin gives it an interface and an IP. Until one is configured the kubelet keeps the node NotReady. Here: a bridge with host-local addresses from this node's pod subnet, which pulls no image.",
  observe: "the node turns Ready; its Pods start, with IPs from the pod subnet (with `--step`, the web Deployment's Pods turn Running).",
  needsRoot: true,
  files: (c) =>
    c.spec.cni === "calico"
      ? [{ path: `${c.node.etc}/manifests/calico-values.yaml`, mode: 0o644, content: calicoValues(c) }]
      : [
          ...podRoutesFiles(c),
          {
            // A template: the subnet is this node's, allocated by the controller-manager (--allocate-node-cidrs), read in the script.
            path: bridgeTemplate(c),
            mode: 0o644,
            content: `${JSON.stringify(
              {
                cniVersion: "1.0.0",
                name: CNI_NETWORK,
                plugins: [
                  {
                    type: "bridge",
                    bridge: CNI_BRIDGE,
                    isGateway: true,
                    ipMasq: true,
                    hairpinMode: true,
                    // The addresses it gave, under this node's root (the default, /var/lib/cni/networks, is the machine's).
                    ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: cniIpamDir(c) },
                  },
                  { type: "portmap", capabilities: { portMappings: true } },
                ],
              },
              null,
              2,
            )}\n`,
          },
        ],
  script: (c) =>
    lines([
      // The CNI plugins are needed either way: containerd runs the loopback one for every Pod.
      install(c, ARTIFACTS.cni(c.spec.versions, c.arch), cniBin(c)),
      ...(c.spec.cni === "calico" ? [calicoScript(c)] : [bridgeForThisNode(c), podRoutesStart(c)]),
    ]),
  // As the node itself (kubelet.conf): a worker has no admin kubeconfig, and the Node authorizer lets a node read its own Node.
  check: (c) =>
    sh`[ "$(${kubectlWith(c, "kubelet.conf", "get", "node", c.spec.nodeName, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')})" = True ]`,
  checkTimeout: 120,
  show: (c) => lines([kubectl(c, "get", "nodes"), kubectl(c, "get", "pods", "-o", "wide")]),
  creates: (c) => [
    ...installed(ARTIFACTS.cni(c.spec.versions, c.arch), cniBin(c)),
    ...(c.spec.cni === "bridge" ? [conflist(c)] : []),
    ...(c.spec.cni === "calico" ? installed(helmArtifacts(c), c.node.bin) : []),
    ...(c.spec.cni === "bridge" ? [c.node.path("var/lib/cni")] : []),
  ],
  // The bridge's routes to the other nodes' pod subnets (steps/pod-routes.ts); with Calico it never runs (stopping it is a no-op).
  components: ["pod-routes"],
  teardown: (c) => (c.spec.cni === "bridge" ? lines([bridgeTeardown(c), podRoutesTeardown()]) : sh`:`),
};

/** kube-proxy: makes Service IPs work. */
export const kubeProxy: Step = {
  id: "kube-proxy",
  runsOn: "worker",
  artifacts: (c) => ARTIFACTS["kube-proxy"](c.spec.versions, c.arch),
  title: "kube-proxy, the Service plumbing",
  tools: (spec) => ({
    iptables: "the Service rules (iptables mode)",
    // From 1.32 kube-proxy clears stale UDP entries through netlink (kubernetes/kubernetes#126847); before, with the binary.
    ...(minor(spec.versions.kubernetes) < 32 ? { conntrack: "clearing stale UDP conntrack entries" } : {}),
  }),
  modules: { nf_conntrack: "the NAT of Service traffic and the cleanup of its stale entries" },
  why: "A Service's ClusterIP is not on any interface: kube-proxy writes iptables rules that send it to the Service's Pods, picked at random, and follows them as Pods come and go.",
  observe:
    "`iptables -t nat -L KUBE-SERVICES` lists the Services, each with a KUBE-SVC chain and one KUBE-SEP per endpoint (with `--step`, the web Service too, scaled to 4 Pods).",
  needsRoot: true,
  ports: [10256],
  files: (c) => [
    { path: `${c.node.etc}/kube-proxy.conf`, mode: 0o600, local: "kube-proxy.conf" },
    {
      path: c.node.path("var/lib/kube-proxy/config.yaml"),
      mode: 0o644,
      content: `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${c.node.etc}/kube-proxy.conf
mode: iptables
clusterCIDR: ${c.spec.podCidr}
hostnameOverride: ${c.spec.nodeName}
${kubeProxyConntrack(c)}`,
    },
  ],
  script: (c) =>
    lines([
      install(c, kubeProxy.artifacts!(c)),
      sh`dk_start kube-proxy ${`${c.node.bin}/kube-proxy`} --config=${c.node.path("var/lib/kube-proxy/config.yaml")}`,
    ]),
  check: () => sh`curl -fs http://127.0.0.1:10256/healthz`,
  // The workshop's last look: the Service chains, then four Pods and the probabilities kube-proxy gives them.
  show: (c) =>
    lines([
      sh`${kubectl(c, "expose", "deployment", "web", "--port=3000", "--target-port=80")} 2>/dev/null || true`,
      sh`sleep 2; iptables -t nat -L KUBE-SERVICES -n | grep -v '^$'`,
      kubectl(c, "scale", "deployment", "web", "--replicas=4"),
      sh`sleep 5; iptables -t nat -S | grep -E '^-A KUBE-SVC-.*statistic' || true`,
    ]),
  checkTimeout: 60,
  creates: (c) => [...installed(kubeProxy.artifacts!(c), c.node.bin), c.node.path("var/lib/kube-proxy")],
  components: ["kube-proxy"],
  // Its own way out: every KUBE-* chain and rule it wrote (iptables, and the nftables and IPVS ones it may have tried).
  teardown: (c) => sh`if [ -x ${`${c.node.bin}/kube-proxy`} ]; then ${`${c.node.bin}/kube-proxy`} --cleanup >/dev/null 2>&1 || true; fi`,
};

/** The workshop's web Deployment and Service. */
export const web: Step = {
  id: "web",
  runsOn: "cluster",
  title: "the workshop's web Deployment and Service",
  why: "A Deployment of two Pods behind a ClusterIP Service: everything above, working together.",
  observe: "`kubectl get pods -o wide` shows the Pods Running; `kubectl get svc web` its ClusterIP; scale to 4 and kube-proxy's probabilities follow.",
  files: (c) => [{ path: `${c.node.etc}/manifests/web.yaml`, mode: 0o644, content: webManifests(c.spec.webImage) }],
  script: (c) => kubectl(c, "apply", "-f", `${c.node.etc}/manifests/web.yaml`),
  check: (c) => kubectl(c, "rollout", "status", "deployment/web", "--timeout=5s"),
  show: (c) => lines([kubectl(c, "get", "pods", "-o", "wide"), kubectl(c, "get", "service", "web")]),
  checkTimeout: 300,
  creates: () => [],
  components: [],
};
