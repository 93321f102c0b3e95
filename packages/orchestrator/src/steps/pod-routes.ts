// The bridge CNI's routes between nodes. The bridge plugin connects the Pods of one node; a Pod on another node is
// reached through that node, so each node needs a route per other node: "that node's pod subnet via that node's
// address" (what Flannel's host-gw backend and the old kubenet do). The controller-manager gives each Node its
// subnet when it registers, so the routes follow the Node objects: a small loop on each node reads them every few
// seconds and keeps its routing table in step. It works where the nodes share one link (a LAN, one VLAN); across
// routers, Calico (`network.cni: calico`) encapsulates instead.
import { type Shell, sh } from "../shell.js";
import type { FilePut, StepContext } from "./step.js";

/**
 * The routing protocol number of our routes (`ip route ... proto 219`): every route the loop makes carries it, so the
 * loop and reset change only routes that are ours, never one an administrator or another daemon made. 219 is in
 * no registry of iproute2's rt_protos (kernel 2, boot 3, static 4, bird 12, babel 42, bgp 186, ospf 188, ...).
 */
export const POD_ROUTES_PROTO = 219;

/** How often the loop reads the Nodes: a new node's Pods are reachable from the others within this many seconds. */
const PERIOD_SECONDS = 5;

/** The loop's script on the node, its kubeconfig (kube-proxy's credential: it may list Nodes, a kubelet may not). */
export const podRoutesScript = (c: StepContext) => `${c.node.etc}/cni/pod-routes.sh`;
export const podRoutesKubeconfig = (c: StepContext) => `${c.node.etc}/cni/pod-routes.conf`;

/**
 * The loop (POSIX sh). It changes nothing when the API does not answer (a route is never dropped on a guess), adds a
 * route only to a node on one of this node's links (`ip route get` needs no gateway to reach it), and removes only
 * routes of its own protocol whose Node is gone or moved.
 */
export function podRoutesLoop(c: StepContext): string {
  return `#!/bin/sh
# dk-bootstrap: routes to the other nodes' pod subnets (the bridge CNI), kept in step with the Node objects.
# Usage: pod-routes.sh KUBECTL KUBECONFIG NODE_NAME
kubectl=$1 conf=$2 self=$3
proto=${POD_ROUTES_PROTO}
nodes=$(mktemp) && said=$(mktemp) || exit 1
trap 'rm -f "$nodes" "$said"' EXIT
trap 'exit 0' INT TERM
while :; do
  # name, pod subnet, first InternalIP: one Node a line. A failed read changes nothing.
  if "$kubectl" --kubeconfig="$conf" --request-timeout=5s get nodes \\
      -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}' > "$nodes" 2>/dev/null; then
    while read -r name cidr ip _; do
      if [ "$name" = "$self" ] || [ -z "$cidr" ] || [ -z "$ip" ]; then continue; fi
      current=$(ip route show "$cidr" proto "$proto" 2>/dev/null)
      case "$current" in *" via $ip "*) continue ;; esac
      # Only a node this one reaches without a router: a route via an address behind one would not be followed.
      case "$(ip route get "$ip" 2>/dev/null | head -1)" in
        "" | *" via "*)
          # Said once per node, not every few seconds.
          grep -qx "$name" "$said" || { echo "$(date -u +%FT%TZ) node $name ($ip) is not on a link of this node: its Pods are not reachable from here (the bridge CNI needs one network; use calico)" >&2; echo "$name" >> "$said"; }
          continue ;;
      esac
      ip route replace "$cidr" via "$ip" proto "$proto" && echo "$(date -u +%FT%TZ) route $cidr via $ip (node $name)"
    done < "$nodes"
    ip route show proto "$proto" | while read -r cidr _ via _; do
      awk -v c="$cidr" -v v="$via" '$2 == c && $3 == v { found = 1 } END { exit !found }' "$nodes" ||
        { ip route del "$cidr" proto "$proto" && echo "$(date -u +%FT%TZ) route $cidr via $via removed (no such node now)"; }
    done
  fi
  sleep ${PERIOD_SECONDS}
done
`;
}

/** The files the loop needs: its script, and kube-proxy's kubeconfig under a name of its own (the cni step owns it). */
export function podRoutesFiles(c: StepContext): FilePut[] {
  return [
    { path: podRoutesScript(c), mode: 0o755, content: podRoutesLoop(c) },
    { path: podRoutesKubeconfig(c), mode: 0o600, local: "kube-proxy.conf" },
  ];
}

/** Starts (or restarts) the loop as a component of its own. */
export const podRoutesStart = (c: StepContext): Shell =>
  sh`dk_start pod-routes /bin/sh ${podRoutesScript(c)} ${`${c.node.bin}/kubectl`} ${podRoutesKubeconfig(c)} ${c.spec.nodeName}`;

/** Reset: the routes of our protocol (the loop is stopped by then, so none comes back). */
export const podRoutesTeardown = (): Shell => sh`ip route flush proto ${POD_ROUTES_PROTO} 2>/dev/null || true`;
