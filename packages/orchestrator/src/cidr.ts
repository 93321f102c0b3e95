// A CIDR as the components take one (kube-proxy's clusterCIDR, the controller-manager's --cluster-cidr, the CNI's
// subnet): checked where the command line or the cluster file gives it, since a bad one otherwise reaches the node's
// configuration unread and fails there, a step later and far from the flag.
import { isIP } from "@dk-bootstrap/pki";

/** `ADDRESS/BITS`, IPv4 or IPv6, the prefix length within the family's. */
export function isCidr(text: string): boolean {
  const slash = text.indexOf("/");
  const family = slash > 0 ? isIP(text.slice(0, slash)) : 0;
  const bits = text.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}
