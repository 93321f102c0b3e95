import { ARTIFACTS } from "../artifacts.js";
import { type Shell, lines, sh } from "../shell.js";
import { type Step, type StepContext, install, installed, kubectl } from "./step.js";

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

/** Traefik, the workshop's optional ingress controller, and its `dk` Ingress to the web Service. */
export const traefik: Step = {
  id: "traefik",
  runsOn: "cluster",
  title: "Traefik, an ingress controller",
  why: "A Service's ClusterIP only works inside the cluster. An ingress controller listens on node ports and routes HTTP by host name to Services: dk.domain.tld goes to web.",
  observe: "`kubectl get svc traefik` shows node ports 30080 and 30443; http://NODE:30080/ with Host dk.domain.tld answers from a web Pod.",
  enabled: (spec) => spec.ingress === "traefik",
  artifacts: helmArtifacts,
  files: (c) => [{ path: `${c.node.etc}/manifests/dk-ingress.yaml`, mode: 0o644, content: INGRESS }],
  script: (c) =>
    lines([
      installChart(c, {
        repo: { name: "traefik", url: "https://traefik.github.io/charts" },
        release: "traefik",
        chart: "traefik",
        version: c.spec.versions.traefikChart,
        args: ["--set", "ports.web.nodePort=30080", "--set", "ports.websecure.nodePort=30443"],
      }),
      kubectl(c, "apply", "-f", `${c.node.etc}/manifests/dk-ingress.yaml`),
    ]),
  check: (c) => kubectl(c, "rollout", "status", "deployment/traefik", "--timeout=5s"),
  checkTimeout: 300,
  show: (c) => kubectl(c, "get", "service", "traefik"),
  creates: (c) => installed(helmArtifacts(c), c.node.bin),
  components: [],
};
