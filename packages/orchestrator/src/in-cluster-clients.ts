// The add-ons this tool installs that talk to the API from inside the cluster (client-go's in-cluster config: the
// Service account's ca.crt, read once when the process starts). A rotation of the cluster CA re-issues the
// apiservers' certificates in phase 2: a Pod started before phase 1 trusts the old CA alone and can no longer verify
// them (CoreDNS then serves from what it had, and never sees a new Service). Restarted once phase 1 has reached every
// node, their Pods start with kube-root-ca.crt as phase 1 made it (old + new), which holds through phase 3.
import { NodeLayout, preamble, waitFor } from "./node.js";
import { lines, sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import { type Transport, exec } from "./transport/transport.js";

/** The Deployments of this tool's add-ons whose Pods are clients of the API (the web app is not one). */
export const IN_CLUSTER_CLIENTS: readonly { namespace: string; deployment: string }[] = [
  { namespace: "kube-system", deployment: "coredns" },
  { namespace: "traefik", deployment: "traefik" },
];

/**
 * On the node that runs the cluster-wide steps: for each add-on the cluster has, waits until its namespace's
 * kube-root-ca.crt holds the node's CA bundle (the controller-manager publishes its --root-ca-file when it starts),
 * then restarts its Deployment and waits for the rollout. An add-on the cluster does not have is skipped. Returns the
 * add-ons restarted.
 */
export async function restartInClusterClients(spec: NodeSpec, t: Transport): Promise<string[]> {
  const node = new NodeLayout(spec.remoteRoot);
  const kubectl = (...args: string[]) => sh`${`${node.bin}/kubectl`} --kubeconfig=${`${node.etc}/admin.conf`} ${args}`;
  const restarted: string[] = [];
  for (const a of IN_CLUSTER_CLIENTS) {
    const has = await t.run(kubectl("get", "deployment", a.deployment, "-n", a.namespace, "-o", "name"));
    if (has.exitCode !== 0) continue;
    const published = kubectl("get", "configmap", "kube-root-ca.crt", "-n", a.namespace, "-o", "jsonpath={.data.ca\\.crt}");
    await exec(
      t,
      lines([
        preamble(node),
        waitFor(120, sh`[ "$(${published})" = "$(cat ${`${node.pki}/ca.crt`})" ]`),
        kubectl("rollout", "restart", `deployment/${a.deployment}`, "-n", a.namespace),
        kubectl("rollout", "status", `deployment/${a.deployment}`, "-n", a.namespace, "--timeout=180s"),
      ]),
    );
    restarted.push(`${a.namespace}/${a.deployment}`);
  }
  return restarted;
}
