import { firstServiceIP } from "@dk-bootstrap/pki";
import { lines, sh } from "../shell.js";
import { dnsServiceIP } from "../spec.js";
import { type Step, type StepContext, kubectl } from "./step.js";

/**
 * The CoreDNS release kubeadm installs with each Kubernetes minor (its `CoreDNSVersion` constant): 1.32 and
 * 1.33 as coredns/deployment records them (PRs 303, 306, from kubeadm's build/dependencies.yaml), 1.34 as
 * `kubeadm config images list` prints it, 1.35 to 1.37 read from kubeadm's own source
 * (cmd/kubeadm/app/constants/constants.go of v1.35.5, v1.36.4, v1.37.2).
 * A minor past the table gets the newest release listed here, one before it the oldest.
 */
const COREDNS_BY_MINOR: Readonly<Record<number, string>> = {
  30: "1.11.1",
  31: "1.11.3",
  32: "1.11.3",
  33: "1.12.0",
  34: "1.12.1",
  35: "1.13.1",
  36: "1.14.2",
  37: "1.14.6",
};

/** The CoreDNS version paired with a Kubernetes version (`1.34.2` → `1.12.1`), as kubeadm pairs them. */
export function corednsVersion(kubernetes: string): string {
  const minors = Object.keys(COREDNS_BY_MINOR).map(Number);
  const minor = Math.min(Math.max(Number(kubernetes.split(".")[1]), Math.min(...minors)), Math.max(...minors));
  return COREDNS_BY_MINOR[minor]!;
}

/** The name the check resolves through the DNS Service: the API's own Service, which always exists. */
const probeName = (c: StepContext) => `kubernetes.default.svc.${c.spec.clusterDomain}`;
const firstIP = (c: StepContext) => firstServiceIP(c.spec.serviceCidr);

/** kubeadm's CoreDNS add-on (cmd/kubeadm/app/phases/addons/dns/manifests.go), its Service at the tenth Service IP. */
export function corednsManifests(c: StepContext): string {
  const domain = c.spec.clusterDomain;
  return `apiVersion: v1
kind: ServiceAccount
metadata:
  name: coredns
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:coredns
rules:
- apiGroups:
  - ""
  resources:
  - endpoints
  - services
  - pods
  - namespaces
  verbs:
  - list
  - watch
- apiGroups:
  - discovery.k8s.io
  resources:
  - endpointslices
  verbs:
  - list
  - watch
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:coredns
subjects:
- kind: ServiceAccount
  name: coredns
  namespace: kube-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes ${domain} in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30 {
           disable success ${domain}
           disable denial ${domain}
        }
        loop
        reload
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  replicas: 2
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  selector:
    matchLabels:
      k8s-app: kube-dns
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchExpressions:
                - key: k8s-app
                  operator: In
                  values: ["kube-dns"]
              topologyKey: kubernetes.io/hostname
      tolerations:
      - key: CriticalAddonsOnly
        operator: Exists
      - key: node-role.kubernetes.io/control-plane
        effect: NoSchedule
      nodeSelector:
        kubernetes.io/os: linux
      containers:
      - name: coredns
        image: registry.k8s.io/coredns/coredns:v${corednsVersion(c.spec.versions.kubernetes)}
        imagePullPolicy: IfNotPresent
        resources:
          limits:
            memory: 170Mi
          requests:
            cpu: 100m
            memory: 70Mi
        args: [ "-conf", "/etc/coredns/Corefile" ]
        volumeMounts:
        - name: config-volume
          mountPath: /etc/coredns
          readOnly: true
        ports:
        - containerPort: 53
          name: dns
          protocol: UDP
        - containerPort: 53
          name: dns-tcp
          protocol: TCP
        - containerPort: 9153
          name: metrics
          protocol: TCP
        - containerPort: 8080
          name: liveness-probe
          protocol: TCP
        - containerPort: 8181
          name: readiness-probe
          protocol: TCP
        livenessProbe:
          httpGet:
            path: /health
            port: liveness-probe
            scheme: HTTP
          initialDelaySeconds: 60
          timeoutSeconds: 5
          successThreshold: 1
          failureThreshold: 5
        readinessProbe:
          httpGet:
            path: /ready
            port: readiness-probe
            scheme: HTTP
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            add:
            - NET_BIND_SERVICE
            drop:
            - ALL
          readOnlyRootFilesystem: true
      dnsPolicy: Default
      volumes:
        - name: config-volume
          configMap:
            name: coredns
            items:
            - key: Corefile
              path: Corefile
---
apiVersion: v1
kind: Service
metadata:
  labels:
    k8s-app: kube-dns
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: "CoreDNS"
  name: kube-dns
  namespace: kube-system
  annotations:
    prometheus.io/port: "9153"
    prometheus.io/scrape: "true"
spec:
  clusterIP: ${dnsServiceIP(c.spec.serviceCidr)}
  ports:
  - name: dns
    port: 53
    protocol: UDP
    targetPort: 53
  - name: dns-tcp
    port: 53
    protocol: TCP
    targetPort: 53
  - name: metrics
    port: 9153
    protocol: TCP
    targetPort: 9153
  selector:
    k8s-app: kube-dns
`;
}

const manifest = (c: StepContext) => `${c.node.etc}/manifests/coredns.yaml`;

/** CoreDNS: Services by name. */
export const coredns: Step = {
  id: "coredns",
  runsOn: "cluster",
  title: "CoreDNS, the cluster DNS",
  why: "A ClusterIP is stable but nobody remembers it: Pods call `web`, or `web.default.svc.cluster.local`. The kubelet writes the DNS Service's address (the tenth IP of the Service range, as kubeadm picks it) into every Pod's resolv.conf; CoreDNS answers there, watching Services and their endpoints through the apiserver, and forwards other names to the node's resolvers. Without it, no Service resolves by name.",
  observe:
    "`kubectl -n kube-system get deployment coredns` is available, the `kube-dns` Service holds the tenth Service IP, and from the node `nslookup kubernetes.default.svc.cluster.local` through it answers the first Service IP.",
  enabled: (spec) => spec.dns === "coredns",
  tools: () => ({ nslookup: "the check, which resolves a Service's name through the DNS Service from the node" }),
  files: (c) => [{ path: manifest(c), mode: 0o644, content: corednsManifests(c) }],
  script: (c) => kubectl(c, "apply", "-f", manifest(c)),
  check: (c) =>
    sh`${kubectl(c, "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=5s")} && nslookup ${probeName(c)} ${dnsServiceIP(c.spec.serviceCidr)} | grep -q ${`^Address: ${firstIP(c)}$`}`,
  checkTimeout: 300,
  show: (c) =>
    lines([
      kubectl(c, "-n", "kube-system", "get", "deployment,service", "-l", "k8s-app=kube-dns"),
      sh`nslookup ${probeName(c)} ${dnsServiceIP(c.spec.serviceCidr)}`,
    ]),
  creates: () => [],
  components: [],
};
