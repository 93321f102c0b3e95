// Runs one cfssl command through the real cfssl (current cfssl, built from its module, and Debian's 1.2) and through
// dk-bootstrap, and reduces each result to the facts the tools must agree on: accepted or refused (and the class of
// reason), the certificate as decoded, the CSR, the JSON keys printed (what cfssljson -bare writes), and certinfo's JSON.
import { spawn, spawnSync } from "node:child_process";
import { basename, join } from "node:path";
import { x509 } from "@dk-bootstrap/pki";
import { builtPeer } from "../../../test-support/built-peers.js";
import { CLI, peer } from "../../../test-support/peers.js";

/** The current cfssl release, built from github.com/cloudflare/cfssl (cmd/cfssl, cmd/cfssljson) by scripts/build-peers.sh. */
export const CFSSL_CURRENT = "1.6.5";

/**
 * A cfssl program: `current` is cfssl and cfssljson 1.6.5 built from their module (test-support/built-peers.ts), `1.2`
 * Debian's golang-cfssl (what Debian users have). Each says its version, checked here: a test that names one runs it.
 */
export function cfsslPath(which: "current" | "1.2", program: "cfssl" | "cfssljson" = "cfssl"): string {
  const known = checked.get(`${which} ${program}`);
  if (known) return known;
  const path = which === "current" ? join(builtPeer("cfssl", CFSSL_CURRENT), program) : peer(program);
  if (program === "cfssl") {
    const said = /Version: (\S+)/.exec(spawnSync(path, ["version"], { encoding: "utf8" }).stdout)?.[1];
    const want = which === "current" ? CFSSL_CURRENT : "1.2.0";
    if (said !== want) throw new Error(`${path} says it is cfssl ${said}, not ${want}`);
  }
  checked.set(`${which} ${program}`, path);
  return path;
}
const checked = new Map<string, string>();

/** What one tool did with one case. */
export interface Outcome {
  ok: boolean;
  /** Why it refused: config, policy, csr, cert, key or input (see {@link reasonOf}). */
  reason?: string;
  /** The first line of the refusal, for the report. */
  message?: string;
  /** The keys of the printed JSON (cert, csr, key): cfssljson -bare writes one file per key. */
  keys?: string[];
  cert?: CertFacts;
  csr?: CsrFacts;
  /** certinfo's JSON (certinfo cases). */
  certinfo?: unknown;
  /** The certificate PEM, to run certinfo on. */
  certPem?: string;
}

/** A certificate, decoded into what a relying party sees. */
export interface CertFacts {
  subject: string;
  subjectDer: string;
  issuerDer: string;
  sans: string[];
  key: string;
  basicConstraints: string;
  keyUsage: string;
  extKeyUsage: string;
  validity: string;
  sigalg: string;
  ski: boolean;
  aki: boolean;
  nameConstraints: boolean;
}

/** A CSR, decoded. */
export interface CsrFacts {
  subject: string;
  sans: string[];
  key: string;
  /** The requested extensions, by OID, with a critical mark: `2.5.29.19!`. */
  extensions: string[];
}

/** Runs a command without blocking, so cases can run side by side. */
export function runAsync(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The tools run side by side: current cfssl, Debian's cfssl 1.2, and the built dk-bootstrap. */
export type Tool = "cfssl" | "cfssl12" | "dk";

/** Runs `args` through current cfssl (`tool` "cfssl"), cfssl 1.2 ("cfssl12") or the built dk-bootstrap. */
export function runTool(tool: Tool, args: string[], cwd: string) {
  if (tool === "dk") return runAsync(process.execPath, [CLI, ...args], cwd);
  return runAsync(cfsslPath(tool === "cfssl" ? "current" : "1.2"), args, cwd);
}

/** At most `limit` promises at once: cfssl and node processes share a 2-core machine with other suites. */
export async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The class of a refusal, from cfssl's error code (1xxx certificate, 2xxx key, 5xxx policy, 9xxx CSR; a config that
 * fails to load is "config") or from dk-bootstrap's one `error:` line, by the file it names or the words it uses.
 */
export function reasonOf(tool: Tool, text: string, files: Record<string, string | undefined>): { reason: string; message: string } {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/\[(INFO|WARNING)\]/.test(l));
  const message = (tool === "dk" ? lines.find((l) => l.startsWith("error:")) : undefined) ?? lines.pop() ?? "";
  const named = (f: string | undefined) => f !== undefined && message.includes(basename(f));
  if (/invalid character|unexpected end of JSON|malformed JSON|ca section/.test(message)) return { reason: "input", message };
  if (tool !== "dk") {
    if (/Failed to load config file|failed to unmarshal configuration|invalid configuration/i.test(text)) return { reason: "config", message };
    const code = Number(/"code":(\d+)/.exec(text)?.[1] ?? 0);
    // Go's own parse errors carry no cfssl code: they are about the file read, a CSR's or a certificate's.
    if (code === 0 && /asn1:|x509:/.test(message)) return { reason: files.csr ? "csr" : "cert", message };
    if (code >= 5000 && code < 6000) return { reason: "policy", message };
    if (code >= 9000 && code < 10000) return { reason: "csr", message };
    if (code >= 2000 && code < 3000) return { reason: "key", message };
    if (code >= 1000 && code < 2000) return { reason: named(files.csr) ? "csr" : "cert", message };
    return { reason: "input", message };
  }
  if (/policy|whitelist|does not allow|not allowed/i.test(message)) return { reason: "policy", message };
  if (named(files.config)) return { reason: "config", message };
  if (named(files.csr)) return { reason: "csr", message };
  if (named(files.cert) || named(files.ca)) return { reason: "cert", message };
  if (named(files.caKey)) return { reason: "key", message };
  return { reason: "input", message };
}

const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString("hex");

/** A Name as `C=US(P) / O=a(P)+O=b(P) / CN=x(U)`: types, values, string types (P printable, U UTF8, I IA5) and RDN grouping. */
export function describeName(name: x509.Name): string {
  const tag = (v: { printableString?: string; utf8String?: string; ia5String?: string }) =>
    v.printableString !== undefined ? "P" : v.utf8String !== undefined ? "U" : v.ia5String !== undefined ? "I" : "?";
  return name.asn.map((rdn) => rdn.map((a) => `${name.getName(a.type) ?? a.type}=${a.value.toString()}(${tag(a.value)})`).join("+")).join(" / ");
}

function sansOf(ext: x509.SubjectAlternativeNameExtension | null): string[] {
  return (ext?.names.items ?? []).map((n) => `${n.type}:${n.value}`);
}

function keyOf(key: x509.PublicKey): string {
  const alg = key.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (alg.name === "ECDSA") return `ECDSA ${alg.namedCurve}`;
  if (alg.name.startsWith("RSA")) return `RSA ${alg.modulusLength}`;
  return alg.name;
}

/** The facts of a PEM certificate (`spki` keeps the exact key, for cases where both tools sign the same CSR). */
export function certFacts(pem: string, spki: boolean): CertFacts {
  const cert = new x509.X509Certificate(pem);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const alg = cert.signatureAlgorithm as { name: string; hash?: { name: string } };
  const nb = cert.notBefore.getTime();
  return {
    subject: describeName(cert.subjectName),
    subjectDer: hex(cert.subjectName.toArrayBuffer()),
    issuerDer: hex(cert.issuerName.toArrayBuffer()),
    sans: sansOf(cert.getExtension(x509.SubjectAlternativeNameExtension)),
    key: spki ? `${keyOf(cert.publicKey)} ${hex(cert.publicKey.rawData).slice(-16)}` : keyOf(cert.publicKey),
    basicConstraints: bc ? `CA:${bc.ca}${bc.pathLength === undefined ? "" : ` pathlen:${bc.pathLength}`}${bc.critical ? " critical" : ""}` : "none",
    keyUsage: ku ? `${ku.usages}${ku.critical ? " critical" : ""}` : "none",
    extKeyUsage: eku ? `${eku.usages.join(",")}${eku.critical ? " critical" : ""}` : "none",
    // notBefore is the minute, rounded, minus the backdate: both tools ran within the same minute or two, so the
    // backdate is known to the nearest 5 minutes.
    validity: `${(cert.notAfter.getTime() - nb) / 60_000} min, backdated ~${Math.round((Date.now() - nb) / 300_000) * 5} min, on the minute: ${nb % 60_000 === 0}`,
    sigalg: `${alg.name}${alg.hash ? `/${alg.hash.name}` : ""}`,
    ski: cert.getExtension(x509.SubjectKeyIdentifierExtension) !== null,
    aki: cert.getExtension(x509.AuthorityKeyIdentifierExtension) !== null,
    nameConstraints: cert.extensions.some((e) => e.type === "2.5.29.30"),
  };
}

/** The facts of a PEM CSR. */
export function csrFacts(pem: string): CsrFacts {
  const csr = new x509.Pkcs10CertificateRequest(pem);
  return {
    subject: describeName(csr.subjectName),
    sans: sansOf(csr.getExtension(x509.SubjectAlternativeNameExtension)),
    key: keyOf(csr.publicKey),
    extensions: csr.extensions.map((e) => `${e.type}${e.critical ? "!" : ""}`),
  };
}

/** Fields of two outcomes that differ, by name (`cert.subjectDer`, `outcome`, `reason`, `keys`, `certinfo` ...). */
export function differences(a: Outcome, b: Outcome): string[] {
  if (a.ok !== b.ok) return ["outcome"];
  if (!a.ok) return a.reason === b.reason ? [] : ["reason"];
  const out: string[] = [];
  if (JSON.stringify(a.keys) !== JSON.stringify(b.keys)) out.push("keys");
  for (const part of ["cert", "csr"] as const) {
    const x = a[part] as Record<string, unknown> | undefined;
    const y = b[part] as Record<string, unknown> | undefined;
    if (!x || !y) {
      if (x !== y) out.push(part);
      continue;
    }
    for (const k of Object.keys(x)) if (JSON.stringify(x[k]) !== JSON.stringify(y[k])) out.push(`${part}.${k}`);
  }
  if (JSON.stringify(a.certinfo) !== JSON.stringify(b.certinfo)) out.push("certinfo");
  return out;
}
