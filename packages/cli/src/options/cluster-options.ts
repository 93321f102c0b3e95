// The flags of every command that makes the cluster folder (certs, ssh, local) and of those that read it: declared once,
// here, below the commands, so that a command takes another's flags without importing that command.
import type { Command } from "commander";
import type { IdentityOptions, PkiOptions } from "../spec-flags.js";

/** `--node-ip` repeated or comma-separated (as the kubelet's --node-ip and the page's field take a list). */
const collectList = (v: string, prev: string[] = []) => [...prev, ...v.split(",").map((x) => x.trim())];

/** The flags of a command that makes the cluster folder. */
export interface ClusterOptions extends IdentityOptions, PkiOptions {
  dir: string;
}

/** Declares `--dir` on a command. */
export function addDirOption(cmd: Command): Command {
  return cmd.option("--dir <dir>", "cluster folder (PKI, kubeconfigs, state)", "./cluster");
}

/** Declares the node's identity flags on a command. */
export function addIdentityOptions(cmd: Command): Command {
  return cmd
    .option("--node-name <name>", "the node's name (kubelet identity, apiserver/etcd SAN)", "kubernetes")
    .option("--node-ip <ip>", "a node IP for the serving certificates (repeatable, or comma-separated)", collectList)
    .option("--service-cidr <cidr>", "Service CIDR; its first IP goes in the apiserver certificate", "10.0.0.0/24")
    .option("--cluster-domain <domain>", "cluster DNS domain", "cluster.local")
    .option("--cluster-name <name>", "cluster name in the kubeconfigs", "demystifions-kubernetes");
}

/** Declares the flags that shape the PKI and the kubeconfigs on a command. */
export function addPkiOptions(cmd: Command): Command {
  return cmd
    .option("--key-algo <algo>", "rsa, ecdsa or ed25519", "rsa")
    .option("--key-size <bits>", "RSA 2048-8192, ECDSA 256/384/521 (default 2048 / 256)")
    .option("--key-format <format>", "traditional (PKCS#1/SEC1, as kubeadm writes) or pkcs8", "traditional")
    .option("--validity <duration>", "validity of leaf certificates (Go duration)", "8760h")
    .option("--server <url>", "apiserver URL in the kubeconfigs", "https://127.0.0.1:6443")
    .option("--context-name <template>", "context names in the kubeconfigs; {user} and {cluster} are filled in", "{user}@{cluster}")
    .option("--force", "replace existing CAs and keys")
    .option("--allow-name-removal", "let a re-issued serving certificate lose a name or IP it has (refused otherwise)");
}

/** Declares every flag of a command that makes the cluster folder (certs, ssh, local). */
export function addClusterOptions(cmd: Command): Command {
  return addPkiOptions(addIdentityOptions(addDirOption(cmd)));
}
