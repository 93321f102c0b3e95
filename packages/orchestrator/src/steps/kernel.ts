import { type Shell, sh } from "../shell.js";

/**
 * How a kernel feature shows that it is there, loaded as a module or built into the kernel: a built-in module has
 * no folder under /sys/module unless it takes parameters, and a kernel without /lib/modules (a VM's, a container's
 * host's) has nothing for modprobe to find, yet the feature works. Each sign is what the feature itself adds.
 */
const MODULE_SIGNS: Readonly<Record<string, Shell>> = {
  // The sysctls kube-proxy and the bridge plugin rely on appear with the module.
  br_netfilter: sh`[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]`,
  overlay: sh`grep -qw overlay /proc/filesystems`,
  nf_conntrack: sh`[ -e /proc/sys/net/netfilter/nf_conntrack_max ]`,
};

/** Succeeds when the module's feature is there now: its /sys/module folder, or the sign its feature leaves. */
export function moduleLoaded(module: string): Shell {
  const sign = MODULE_SIGNS[module];
  return sign ? sh`{ [ -d ${`/sys/module/${module}`} ] || ${sign}; }` : sh`[ -d ${`/sys/module/${module}`} ]`;
}
