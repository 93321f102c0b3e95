/**
 * The form's fields as the CLI's flags: the same defaults (DEFAULT_CLUSTER_SPEC, DEFAULT_KUBECONFIG_SPEC),
 * the same rules and messages (the CLI's spec-flags.ts), and the cluster.yaml `certs` writes.
 */
import { type ClusterSpec, DEFAULT_CLUSTER_SPEC, HOUR_MS, KEY_ALGORITHMS } from "@dk-bootstrap/pki";
import { DEFAULT_KUBECONFIG_SPEC, type KubeconfigSpec } from "@dk-bootstrap/kubeconfig";
import { type IdentityOptions, type PkiOptions, kubeconfigSpecFromFlags, specFromFlags } from "../../cli/src/spec-flags.js";
import { formatSavedSettings, parseSavedSettings } from "../../cli/src/saved-settings.js";

/** One field of the form: its flag, label and default, as `dk-bootstrap certs --help` shows them. */
export interface Field {
  /** The flag (`--node-name`); the input's id is the flag without its dashes. */
  flag: string;
  label: string;
  help: string;
  default: string;
  choices?: readonly string[];
}

/** The form's fields, in the order of `certs --help`. */
export const FIELDS: readonly Field[] = [
  { flag: "--node-name", label: "Node name", help: "the kubelet's identity, a SAN of the apiserver and etcd", default: DEFAULT_CLUSTER_SPEC.nodeName },
  { flag: "--node-ip", label: "Node IPs", help: "comma-separated, added to the serving certificates", default: DEFAULT_CLUSTER_SPEC.nodeIPs.join(",") },
  { flag: "--service-cidr", label: "Service CIDR", help: "its first IP goes in the apiserver certificate", default: DEFAULT_CLUSTER_SPEC.serviceCidr },
  { flag: "--cluster-domain", label: "Cluster domain", help: "the cluster's DNS domain", default: DEFAULT_CLUSTER_SPEC.clusterDomain },
  { flag: "--key-algo", label: "Key algorithm", help: "for every key", default: DEFAULT_CLUSTER_SPEC.key.algo, choices: KEY_ALGORITHMS },
  { flag: "--key-size", label: "Key size", help: "RSA 2048-8192, ECDSA 256/384/521; empty for the algorithm's default", default: "" },
  { flag: "--cluster-name", label: "Cluster name", help: "in the kubeconfigs", default: DEFAULT_KUBECONFIG_SPEC.clusterName },
  { flag: "--server", label: "Server URL", help: "the apiserver URL in the kubeconfigs", default: DEFAULT_KUBECONFIG_SPEC.server },
  {
    flag: "--validity",
    label: "Validity",
    help: "of leaf certificates (Go duration, e.g. 8760h)",
    default: `${DEFAULT_CLUSTER_SPEC.certValidityMs / HOUR_MS}h`,
  },
];

/** The values of the form by flag, as typed. */
export type FormValues = Record<string, string>;

/** The flags the values stand for; an empty optional field is a flag not given, as on the command line. */
export function flagsOf(values: FormValues): IdentityOptions & PkiOptions {
  const v = (flag: string) => values[flag] ?? FIELDS.find((f) => f.flag === flag)?.default ?? "";
  const ips = v("--node-ip")
    .split(/[\s,]+/)
    .filter(Boolean);
  const size = v("--key-size").trim();
  return {
    nodeName: v("--node-name"),
    nodeIp: ips,
    serviceCidr: v("--service-cidr"),
    clusterDomain: v("--cluster-domain"),
    clusterName: v("--cluster-name"),
    keyAlgo: v("--key-algo"),
    ...(size ? { keySize: size } : {}),
    keyFormat: "traditional",
    validity: v("--validity"),
    server: v("--server"),
    contextName: "{user}@{cluster}",
  };
}

/** The settings of a run: checked by the CLI's rules (an InputError names the flag), and the cluster.yaml `certs` would write. */
export interface Settings {
  spec: ClusterSpec;
  kubeconfig: KubeconfigSpec;
  clusterYaml: string;
}

/** Checks the form's values as `certs` checks its flags. */
export function settingsOf(values: FormValues): Settings {
  const flags = flagsOf(values);
  const spec = specFromFlags(flags);
  const kubeconfig = kubeconfigSpecFromFlags(flags);
  // What `certs` remembers: every flag it has a value for, its defaults included (settingsToSave).
  const saved = new Map<string, string | string[]>([
    ["--cluster-name", flags.clusterName!],
    ["--node-name", flags.nodeName!],
    ["--server", flags.server!],
    ["--service-cidr", flags.serviceCidr!],
    ["--cluster-domain", flags.clusterDomain!],
    ["--key-algo", flags.keyAlgo!],
    ["--key-format", flags.keyFormat!],
    ["--validity", flags.validity!],
    ["--context-name", flags.contextName!],
  ]);
  if (flags.nodeIp!.length) saved.set("--node-ip", flags.nodeIp!);
  if (flags.keySize !== undefined) saved.set("--key-size", flags.keySize);
  return { spec, kubeconfig, clusterYaml: formatSavedSettings(saved) };
}

/**
 * The form's values a cluster folder was made with, from its cluster.yaml (what `certs` remembers), read by the
 * CLI's own rules; flags it does not hold keep the form's defaults.
 */
export function valuesOfClusterYaml(text: string): FormValues {
  const saved = parseSavedSettings(text, "cluster.yaml");
  const values: FormValues = {};
  for (const f of FIELDS) {
    const v = saved.get(f.flag);
    if (v !== undefined) values[f.flag] = Array.isArray(v) ? v.join(",") : v;
  }
  return values;
}
