import { ARTIFACTS } from "../artifacts.js";
import { type Shell, lines, sh } from "../shell.js";
import { type Step, type StepContext, install, kubectl } from "./step.js";

const helm = (c: StepContext, ...args: string[]) => sh`${`${c.node.bin}/helm`} --kubeconfig=${`${c.node.etc}/admin.conf`} ${args}`;

/** Helm itself, verified like every other binary. */
export const helmArtifacts = (c: StepContext) => ARTIFACTS.helm(c.spec.versions, c.arch);

/** A chart from its repository, installed or upgraded in place (so a re-run converges), with a verified Helm. */
interface Chart {
  repo: { name: string; url: string };
  release: string;
  chart: string;
  version: string;
  /** Namespace, values and the like. */
  args: string[];
}

function installChart(c: StepContext, ch: Chart): Shell {
  return lines([
    install(c, helmArtifacts(c)),
    helm(c, "repo", "add", ch.repo.name, ch.repo.url, "--force-update"),
    helm(c, "upgrade", "--install", ch.release, `${ch.repo.name}/${ch.chart}`, "--version", ch.version, ...ch.args),
  ]);
}

/** Calico through the tigera-operator chart (the workshop's CNI), its pool the pod CIDR. */
export const calicoScript = (c: StepContext) =>
  installChart(c, {
    repo: { name: "projectcalico", url: "https://docs.tigera.io/calico/charts" },
    release: "calico",
    chart: "tigera-operator",
    version: `v${c.spec.versions.calicoChart}`,
    args: ["--namespace", "tigera-operator", "--create-namespace", "-f", `${c.node.etc}/manifests/calico-values.yaml`],
  });

/** The chart values: Calico's IP pool is the pod CIDR that the controller-manager and kube-proxy use. */
export const calicoValues = (c: StepContext) => `installation:
  calicoNetwork:
    ipPools:
    - cidr: ${c.spec.podCidr}
      encapsulation: VXLANCrossSubnet
      natOutgoing: Enabled
      nodeSelector: all()
`;

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: dk
  namespace: default
spec:
  rules:
    - host: dk.domain.tld
      http:
        paths:
          - path: /
            pathType: Exact
            backend:
              service:
                name: web
                port:
                  number: 3000
`;

/** The Traefik image of a release, as its official image is named (pulled, or imported from a bundle). */
export const traefikImage = (version: string) => `docker.io/library/traefik:v${version}`;

/**
 * Traefik as plain manifests, the Kubernetes Ingress provider's documented RBAC (v3.1+: EndpointSlices and Nodes),
 * no Helm: nothing to fetch but its image, which an air-gapped node gets from a bundle. An IngressClass marked
 * default, so the workshop's `dk` Ingress (which names no class) is Traefik's; node ports 30080 and 30443.
 */
export function traefikManifests(c: StepContext): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: traefik
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: traefik
  namespace: traefik
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: dk-bootstrap:traefik
rules:
- apiGroups: [""]
  resources: [services, secrets, nodes, configmaps]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: dk-bootstrap:traefik
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: dk-bootstrap:traefik
subjects:
- kind: ServiceAccount
  name: traefik
  namespace: traefik
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: traefik
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: traefik.io/ingress-controller
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: traefik
  namespace: traefik
  labels:
    app: traefik
spec:
  replicas: 1
  selector:
    matchLabels:
      app: traefik
  template:
    metadata:
      labels:
        app: traefik
    spec:
      serviceAccountName: traefik
      containers:
      - name: traefik
        image: ${traefikImage(c.spec.versions.traefik)}
        imagePullPolicy: IfNotPresent
        args:
        - --entryPoints.web.address=:8000
        - --entryPoints.websecure.address=:8443
        - --entryPoints.traefik.address=:8080
        - --providers.kubernetesingress
        - --ping
        ports:
        - name: web
          containerPort: 8000
        - name: websecure
          containerPort: 8443
        readinessProbe:
          httpGet:
            path: /ping
            port: 8080
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: [ALL]
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          runAsUser: 65532
---
apiVersion: v1
kind: Service
metadata:
  name: traefik
  namespace: traefik
spec:
  type: NodePort
  selector:
    app: traefik
  ports:
  - name: web
    port: 80
    targetPort: web
    nodePort: 30080
  - name: websecure
    port: 443
    targetPort: websecure
    nodePort: 30443
`;
}

/** Traefik, the workshop's optional ingress controller, and its `dk` Ingress to the web Service. */
export const traefik: Step = {
  id: "traefik",
  runsOn: "cluster",
  title: "Traefik, an ingress controller",
  why: "A Service's ClusterIP only works inside the cluster. An ingress controller listens on node ports and routes HTTP by host name to Services: dk.domain.tld goes to web.",
  observe: "`kubectl -n traefik get svc traefik` shows node ports 30080 and 30443; http://NODE:30080/ with Host dk.domain.tld answers from a web Pod.",
  enabled: (spec) => spec.ingress === "traefik",
  files: (c) => [
    { path: `${c.node.etc}/manifests/traefik.yaml`, mode: 0o644, content: traefikManifests(c) },
    { path: `${c.node.etc}/manifests/dk-ingress.yaml`, mode: 0o644, content: INGRESS },
  ],
  script: (c) =>
    lines([kubectl(c, "apply", "-f", `${c.node.etc}/manifests/traefik.yaml`), kubectl(c, "apply", "-f", `${c.node.etc}/manifests/dk-ingress.yaml`)]),
  check: (c) => kubectl(c, "-n", "traefik", "rollout", "status", "deployment/traefik", "--timeout=5s"),
  checkTimeout: 300,
  show: (c) => lines([kubectl(c, "-n", "traefik", "get", "service", "traefik"), kubectl(c, "get", "ingress", "dk")]),
  creates: () => [],
  components: [],
};
