import { isIP } from "node:net";
import { InputError } from "@dk-bootstrap/pki";
import { sh } from "./shell.js";
import { type Transport, exec } from "./transport/transport.js";

/** The node's own addresses, as its interfaces hold them. */
export interface NodeAddresses {
  /** Every global unicast address of every interface that is up, in the kernel's order. */
  all: string[];
  /** The addresses of the interface the default route leaves by (kubeadm's choice), when there is one. */
  defaultRoute: string[];
}

/** `ip -o addr` lines: `2: eth0    inet 192.168.1.10/24 brd ... scope global eth0 ...`. */
export function parseIpAddr(text: string): { dev: string; address: string }[] {
  const out: { dev: string; address: string }[] = [];
  for (const line of text.split("\n")) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet6?\s+([0-9a-fA-F.:]+)\/\d+.*\bscope global\b/.exec(line);
    if (m && isIP(m[2]!)) out.push({ dev: m[1]!, address: m[2]! });
  }
  return out;
}

/** The interface of `ip route show default` (`default via 192.168.1.1 dev eth0 ...`), first route first. */
export function parseDefaultRouteDevs(text: string): string[] {
  return [...text.matchAll(/^default\b.*?\bdev\s+(\S+)/gm)].map((m) => m[1]!);
}

/**
 * Asks the node for its addresses (iproute2's `ip`, which every node that runs Kubernetes has). The
 * address a user typed to reach it over SSH may be a NAT's, or a name: only what the node's own
 * interfaces hold can go in its serving certificates and in `--advertise-address`/`--node-ip`.
 */
export async function nodeAddresses(t: Transport): Promise<NodeAddresses> {
  const r = await exec(t, sh`ip -o addr show up && echo --- && { ip -4 route show default; ip -6 route show default; } 2>/dev/null`);
  const [addrText = "", routeText = ""] = r.stdout.split("\n---\n");
  const addrs = parseIpAddr(addrText);
  const devs = parseDefaultRouteDevs(routeText);
  return { all: addrs.map((a) => a.address), defaultRoute: [...new Set(devs)].flatMap((d) => addrs.filter((a) => a.dev === d).map((a) => a.address)) };
}

/**
 * The node IPs to issue certificates for and to advertise: the ones asked for, each of which must be
 * on the node; else kubeadm's choice, the default route's interface's first address; else the address
 * we reached it at, when the node holds it; else its only address.
 */
export function chooseNodeIPs(found: NodeAddresses, asked: readonly string[], reachedAt: string | undefined, host: string): string[] {
  if (asked.length > 0) {
    for (const ip of asked)
      if (!found.all.includes(ip))
        throw new InputError(`is on no interface of ${host}; its addresses: ${found.all.join(", ") || "none"}`, { field: "--node-ip", value: ip });
    return [...asked];
  }
  const pick =
    found.defaultRoute[0] ?? (reachedAt !== undefined && found.all.includes(reachedAt) ? reachedAt : found.all.length === 1 ? found.all[0] : undefined);
  if (pick === undefined)
    throw new InputError(
      `cannot tell which address of ${host} to use: no default route, and it has ${found.all.length === 0 ? "no global address" : `several (${found.all.join(", ")})`}`,
      { field: "--node-ip" },
      { hint: "pass --node-ip with one of the node's addresses" },
    );
  return [pick];
}
