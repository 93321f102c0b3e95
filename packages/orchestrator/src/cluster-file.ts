import { isIP } from "node:net";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  DkError,
  InputError,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  firstServiceIP,
  isDns1123Subdomain,
  isDnsName,
  parseDuration,
  validateKeySpec,
} from "@dk-bootstrap/pki";
import { YamlDecodeError, decodeYaml } from "@dk-bootstrap/kubeconfig";
import { YAMLException, load } from "js-yaml";
import { isCidr } from "./cidr.js";
import { normalRemoteRoot } from "./remote-root.js";
import type { Role } from "./spec.js";

/** One host of the cluster file. */
export interface ClusterHost {
  ssh: { address: string; user?: string; port?: number; keyPath?: string };
  role: Role;
  /** The node's name; default: the host's name, asked on the node. */
  nodeName?: string;
  /** The node's IPs; default: detected on the node. */
  nodeIPs: string[];
  remoteRoot: string;
  /** k0sctl's convention: remove this host from the cluster (etcd membership first) on the next apply. */
  reset: boolean;
}

/** `dk-bootstrap apply -f cluster.yaml`, validated: k0sctl's Cluster shape. */
export interface ClusterFile {
  name: string;
  hosts: ClusterHost[];
  /** A load balancer or DNS name in front of the apiservers. */
  apiEndpoint?: string;
  knownHosts?: string;
  mirror?: string;
  /** Trusted SHA-256 per upstream URL for the mirror's files (as --checksums). */
  checksums?: string;
  /** Accept a plain http:// mirror (as --allow-http-mirror). */
  allowHttpMirror?: boolean;
  versions: { kubernetes?: string; etcd?: string; containerd?: string; runc?: string; cniPlugins?: string; helm?: string };
  network: { serviceCIDR?: string; podCIDR?: string; clusterDomain?: string; cni?: string };
  pki: { keyAlgorithm?: string; keySize?: number; keyFormat?: string; certificateValidity?: string; contextName?: string };
  /** The workshop's add-ons: the ingress controller, and the web app's image (default: the seed's zwindler/vhelloworld). */
  addons: { ingress?: string; webImage?: string };
  /** Image archives for air-gapped nodes, absolute (a relative path is read from the file's folder). */
  images?: string[];
}

/** A cluster file with problems: each one a line with its field path. */
export class ClusterFileError extends DkError {
  constructor(
    readonly file: string,
    readonly problems: string[],
    hint = "fix these fields; `dk-bootstrap init` prints a commented example",
  ) {
    super(problems.map((p) => `${file}: ${p}`).join("\n"), "INPUT", { hint });
  }
}

type Check = (v: unknown) => string | undefined;
const str: Check = (v) => (typeof v === "string" && v !== "" ? undefined : "expected a non-empty string");
const bool: Check = (v) => (typeof v === "boolean" ? undefined : "expected true or false");
const port: Check = (v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535 ? undefined : "expected a TCP port, 1 to 65535");
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    values.includes(v as string) ? undefined : `expected one of ${values.join(", ")}`;
const url =
  (...schemes: string[]): Check =>
  (v) => {
    if (typeof v !== "string") return "expected a URL";
    try {
      return schemes.includes(new URL(v).protocol) ? undefined : `expected a ${schemes.map((s) => s.replace(":", "")).join(" or ")} URL`;
    } catch {
      return "expected a URL";
    }
  };
const ips: Check = (v) => {
  const list = typeof v === "string" ? [v] : v;
  if (Array.isArray(list) && list.some((ip) => typeof ip === "string" && ip.includes("%") && isIP(ip)))
    return "a zone cannot go in a certificate: give the address without its %zone";
  return Array.isArray(list) && list.length > 0 && list.every((ip) => typeof ip === "string" && isIP(ip))
    ? undefined
    : "expected an IP address or a list of them";
};
const nodeName: Check = (v) => (typeof v === "string" && isDns1123Subdomain(v) ? undefined : "expected a DNS-1123 subdomain (lower case, digits, '-', '.')");
const absolute: Check = (v) => (typeof v === "string" && isAbsolute(v) ? undefined : "expected an absolute path");
const whole: Check = (v) => (Number.isInteger(v) ? undefined : "expected a whole number");
/** A version: a string, or a number YAML read from `1.35` unquoted, taken as its text when that text is unambiguous. */
const version: Check = (v) => (typeof v === "number" && Number.isFinite(v) && /^\d+\.\d+$/.test(String(v)) ? undefined : str(v));
/** Kubernetes' `1.N` as a number: `1.30` unquoted reads as 1.3, so a one-digit minor is refused with the string to write. */
const k8sVersion: Check = (v) =>
  typeof v === "number" && /^1\.\d$/.test(String(v))
    ? `write it as a string: "${String(v)}0" (YAML reads 1.${String(v).slice(2)}0 unquoted as the number ${String(v)})`
    : version(v);
const paths: Check = (v) => (Array.isArray(v) && v.every((p) => typeof p === "string" && p !== "") ? undefined : "expected a list of image archive paths");

/** Each mapping's known fields and their checks; a nested mapping is a schema of its own. */
type Schema = { [field: string]: Check | Schema };
const HOST: Schema = {
  ssh: { address: str, user: str, port, keyPath: str },
  role: oneOf("controller", "worker", "controller+worker"),
  nodeName,
  nodeIP: ips,
  remoteRoot: absolute,
  reset: bool,
};
const SPEC: Schema = {
  apiEndpoint: url("https:"),
  knownHosts: str,
  mirror: url("http:", "https:"),
  checksums: str,
  allowHttpMirror: bool,
  versions: { kubernetes: k8sVersion, etcd: version, containerd: version, runc: version, cniPlugins: version, helm: version },
  network: { serviceCIDR: str, podCIDR: str, clusterDomain: str, cni: oneOf("bridge", "calico") },
  pki: { keyAlgorithm: oneOf(...KEY_ALGORITHMS), keySize: whole, keyFormat: oneOf("traditional", "pkcs8"), certificateValidity: str, contextName: str },
  addons: { ingress: oneOf("traefik"), webImage: str },
  images: paths,
};

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** How long a value the file gave may be when an error line shows it back. */
const ECHO_CHARS = 80;

/**
 * A value of the file as an error line shows it: a scalar as JSON, cut at {@link ECHO_CHARS}; a mapping or a list by
 * its kind only (written out, a few aliases of aliases can be gigabytes).
 */
function echo(v: unknown): string {
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (isMap(v)) return "a mapping";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > ECHO_CHARS ? `${text.slice(0, ECHO_CHARS)}… (${text.length} characters)` : text;
}

/** Checks a mapping against a schema; every problem is collected with its path. */
function checkMap(v: unknown, schema: Schema, path: string, problems: string[]): void {
  if (!isMap(v)) {
    problems.push(`${path}: expected a mapping`);
    return;
  }
  for (const [k, child] of Object.entries(v)) {
    // Own fields only: `valueOf`, `toString` or `__proto__` are no field of the file, whatever Object.prototype holds.
    const rule = Object.hasOwn(schema, k) ? schema[k] : undefined;
    const at = `${path}.${k}`;
    if (rule === undefined) problems.push(`${at}: unknown field`);
    else if (typeof rule === "function") {
      const p = rule(child);
      if (p) problems.push(`${at}: ${p} (got ${echo(child)})`);
    } else checkMap(child, rule, at, problems);
  }
}

/**
 * Reads and validates a cluster file before anything connects: every problem is reported, each with
 * its field path (`spec.hosts[2].role: ...`); unknown fields are errors. Returns the file and its
 * warnings (an even number of controllers).
 */
export function parseClusterFile(text: string, file: string): { cluster: ClusterFile; warnings: string[] } {
  let doc: unknown;
  try {
    // Read once as kubectl reads a kubeconfig, for its limits only: a file whose decoding is mostly alias expansion
    // (a few hundred bytes can stand for gigabytes) is refused before anything walks it.
    decodeYaml(text);
    doc = load(text);
  } catch (e) {
    // The place, as the kubeconfig reader gives it: a syntax error is not a field to fix.
    const at = e instanceof YAMLException && e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : "";
    const why = e instanceof YAMLException ? e.reason : e instanceof YamlDecodeError ? e.message : String(e);
    throw new ClusterFileError(file, [`not readable YAML${at}: ${why}`], "check the indentation and quoting there");
  }
  const problems: string[] = [];
  if (!isMap(doc)) throw new ClusterFileError(file, ["expected a mapping with apiVersion, kind, metadata and spec"]);
  for (const k of Object.keys(doc)) if (!["apiVersion", "kind", "metadata", "spec"].includes(k)) problems.push(`${k}: unknown field`);
  if (doc.apiVersion !== "dk-bootstrap/v1alpha1") problems.push(`apiVersion: expected dk-bootstrap/v1alpha1 (got ${echo(doc.apiVersion)})`);
  // The settings `certs` saves in a cluster folder are a file of their own kind: given here, it is named for what it is.
  if (doc.kind === "ClusterSettings")
    throw new ClusterFileError(
      file,
      ["kind: ClusterSettings is the settings file `certs` keeps in a cluster folder, not a cluster file for `apply -f`"],
      "`dk-bootstrap init > cluster.yaml` writes a commented cluster file",
    );
  if (doc.kind !== "Cluster") problems.push(`kind: expected Cluster (got ${echo(doc.kind)})`);
  checkMap(doc.metadata ?? {}, { name: nodeName }, "metadata", problems);
  const spec = isMap(doc.spec) ? doc.spec : {};
  if (!isMap(doc.spec)) problems.push("spec: expected a mapping with hosts");
  const { hosts, ...rest } = spec;
  checkMap(rest, SPEC, "spec", problems);
  if (!Array.isArray(hosts) || hosts.length === 0) problems.push("spec.hosts: expected a list of at least one host");
  const hostList = Array.isArray(hosts) ? hosts : [];
  hostList.forEach((h, i) => {
    checkMap(h, HOST, `spec.hosts[${i}]`, problems);
    if (isMap(h) && h.role === undefined) problems.push(`spec.hosts[${i}].role: required: controller, worker or controller+worker`);
    if (isMap(h) && !isMap(h.ssh)) problems.push(`spec.hosts[${i}].ssh: required, with at least an address`);
    else if (isMap(h) && isMap(h.ssh) && h.ssh.address === undefined) problems.push(`spec.hosts[${i}].ssh.address: required`);
  });
  const seen = (key: (h: Record<string, unknown>) => unknown, what: string, field: string) => {
    const first = new Map<string, number>();
    hostList.forEach((h, i) => {
      const k = isMap(h) ? key(h) : undefined;
      if (k === undefined) return;
      const id = JSON.stringify(k);
      if (first.has(id)) problems.push(`spec.hosts[${i}].${field}: the same ${what} as spec.hosts[${first.get(id)}] (${String(k)})`);
      else first.set(id, i);
    });
  };
  seen(
    (h) => (isMap(h.ssh) && h.ssh.address !== undefined ? `${String(h.ssh.address).toLowerCase()}:${String(h.ssh.port ?? 22)}` : undefined),
    "SSH address",
    "ssh.address",
  );
  seen((h) => h.nodeName, "node name", "nodeName");
  const roles = hostList.map((h) => (isMap(h) ? h.role : undefined));
  const controllers = hostList.filter((h, i) => isMap(h) && h.reset !== true && String(roles[i]).startsWith("controller")).length;
  if (hostList.length > 0 && controllers === 0)
    problems.push("spec.hosts: no controller: a cluster needs at least one host with role controller or controller+worker");
  problems.push(...valueProblems(spec));
  if (problems.length > 0) throw new ClusterFileError(file, problems);

  const warnings =
    controllers % 2 === 0 ? [`${file}: ${controllers} controllers: an even number of etcd members tolerates no more failures than ${controllers - 1}`] : [];
  const s = spec as Record<string, Record<string, unknown> | undefined>;
  const cluster: ClusterFile = {
    name: ((doc.metadata as Record<string, unknown> | undefined)?.name as string | undefined) ?? "demystifions-kubernetes",
    hosts: hostList.map((raw) => {
      const h = raw as Record<string, unknown>;
      return {
        ssh: h.ssh as ClusterHost["ssh"],
        role: h.role as Role,
        ...(h.nodeName !== undefined ? { nodeName: h.nodeName as string } : {}),
        nodeIPs: h.nodeIP === undefined ? [] : ([] as string[]).concat(h.nodeIP as string | string[]),
        remoteRoot: normalRemoteRoot((h.remoteRoot as string | undefined) ?? "/"),
        reset: h.reset === true,
      };
    }),
    ...(typeof spec.apiEndpoint === "string" ? { apiEndpoint: spec.apiEndpoint } : {}),
    ...(typeof spec.knownHosts === "string" ? { knownHosts: spec.knownHosts } : {}),
    ...(typeof spec.mirror === "string" ? { mirror: spec.mirror } : {}),
    ...(typeof spec.checksums === "string" ? { checksums: spec.checksums } : {}),
    ...(spec.allowHttpMirror === true ? { allowHttpMirror: true } : {}),
    // A version YAML read as a number (`1.35` unquoted) is its text.
    versions: Object.fromEntries(Object.entries(s.versions ?? {}).map(([k, v]) => [k, String(v)])) as ClusterFile["versions"],
    network: (s.network ?? {}) as ClusterFile["network"],
    pki: (s.pki ?? {}) as ClusterFile["pki"],
    addons: (s.addons ?? {}) as ClusterFile["addons"],
    ...(Array.isArray(spec.images) ? { images: (spec.images as string[]).map((p) => resolve(dirname(file), p)) } : {}),
  };
  return { cluster, warnings };
}

/**
 * The values of `spec.network` and `spec.pki` checked as the command line's flags are (the same rules), each problem
 * under its field of this file: `spec.pki.keySize`, never `key.size` or `--key-size`, which the file has not. Only
 * values of the right type are looked at: a wrong type is already said by the schema.
 */
function valueProblems(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const net = isMap(spec.network) ? spec.network : {};
  const pki = isMap(spec.pki) ? spec.pki : {};
  // The library's check names the flag it serves; its words (and the value it got) are kept, under this file's field.
  const check = (path: string, run: () => unknown) => {
    try {
      run();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const own = e.field ? `${e.field}: ` : "";
      problems.push(`${path}: ${e.message.startsWith(own) ? e.message.slice(own.length) : e.message}`);
    }
  };
  if (typeof net.serviceCIDR === "string") check("spec.network.serviceCIDR", () => firstServiceIP(net.serviceCIDR as string));
  if (typeof net.podCIDR === "string" && !isCidr(net.podCIDR)) problems.push(`spec.network.podCIDR: not a CIDR, e.g. 10.244.0.0/16 (got ${echo(net.podCIDR)})`);
  if (typeof net.clusterDomain === "string" && !isDnsName(net.clusterDomain))
    problems.push(`spec.network.clusterDomain: must be a DNS name (got ${echo(net.clusterDomain)})`);
  const algo = (typeof pki.keyAlgorithm === "string" ? pki.keyAlgorithm : "rsa") as KeyAlgorithm;
  if (Number.isInteger(pki.keySize) && KEY_ALGORITHMS.includes(algo)) check("spec.pki.keySize", () => validateKeySpec({ algo, size: pki.keySize as number }));
  const validity = pki.certificateValidity;
  if (typeof validity === "string")
    check("spec.pki.certificateValidity", () => {
      if (!(parseDuration(validity) > 0)) throw new InputError("must be positive", { value: validity });
    });
  return problems;
}

/** `dk-bootstrap init`: a commented example of the cluster file. */
export const EXAMPLE_CLUSTER_FILE = `# dk-bootstrap apply -f cluster.yaml: several hosts from one file (k0sctl's shape).
apiVersion: dk-bootstrap/v1alpha1
kind: Cluster
metadata:
  name: demystifions-kubernetes
spec:
  hosts:
    # etcd runs on every controller: use 1, 3 or 5 of them (an even number tolerates no more failures).
    - ssh: { address: 192.168.1.10, user: root, port: 22, keyPath: ~/.ssh/id_ed25519 }
      role: controller+worker     # controller | worker | controller+worker
      nodeName: cp1               # default: the host's name on the node
      nodeIP: 192.168.1.10        # default: detected on the node (the default route's address)
      remoteRoot: /               # every path written on the node lives under it
    - ssh: { address: 192.168.1.11, user: admin }
      role: worker
    # - ssh: { address: 192.168.1.12 }
    #   role: worker
    #   reset: true               # removes the host from the cluster on the next apply
  # apiEndpoint: https://k8s.example.com:6443   # a load balancer or DNS name in front of the apiservers
  # knownHosts: ~/.ssh/known_hosts
  # mirror: https://mirror.example.com          # as --mirror (its own checksum files are not trusted)
  # checksums: ./trusted.sha256                 # as --checksums: "SHA256  UPSTREAM-URL" lines
  # images: [images/pause.tar, images/coredns.tar]   # air-gapped: image archives each node imports (containerd)
  # addons: { ingress: traefik, webImage: registry.example.com/hello:1 }   # the workshop's Ingress; the web app's image
  versions:
    kubernetes: stable            # stable, "1.N" or 1.N.P; etcd, containerd and runc are paired with it
  network:
    serviceCIDR: 10.0.0.0/24
    podCIDR: 10.244.0.0/16
    clusterDomain: cluster.local
`;
