import { resolve } from "node:path";
import {
  DEFAULT_CSR_REQUEST,
  DEFAULT_SIGNING_CONFIG,
  PRINT_DEFAULTS_CONFIG,
  InputError,
  bareFiles,
  certinfoCsrJson,
  certinfoJson,
  checkGoReadsKey,
  formatConfigJson,
  formatCsrJson,
  gencert,
  gencertInitCa,
  genkey,
  loadSigner,
  onlyCertificatePem,
  parseCertificate,
  parseConfigJson,
  parseCsr,
  parseCsrJson,
  parseJsonFile,
  parseSubjectJson,
  selectProfile,
  signCsr,
  writeFileAtomic,
  type Signer,
  type SigningProfile,
} from "@dk-bootstrap/pki";
import type { GoFlags } from "../go-flags.js";
import { readInput, readStdin } from "../io.js";

async function signerFrom(f: GoFlags, now: Date): Promise<Signer> {
  const ca = f.values.ca;
  const caKey = f.values["ca-key"];
  if (!ca || !caKey) throw new InputError("both -ca and -ca-key are needed to sign", { field: !ca ? "-ca" : "-ca-key" });
  return loadSigner(await readInput(ca, "the CA certificate"), await readInput(caKey, "the CA key"), { cert: ca, key: caKey }, now);
}

async function profileFrom(f: GoFlags): Promise<SigningProfile> {
  const file = f.values.config;
  const config = file ? parseConfigJson(await readInput(file, "the config"), file) : DEFAULT_SIGNING_CONFIG;
  return selectProfile(config, f.values.profile, file ?? "default config");
}

/** The clock, and cfssl's `-hostname a,b`, which replaces the CSR's hosts. */
function signOptions(f: GoFlags, now: Date): { hostnames?: string[]; now: Date } {
  const h = f.values.hostname;
  return h === undefined
    ? { now }
    : {
        hostnames: h
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
        now,
      };
}

function warn(lines: string[]): void {
  for (const l of lines) process.stderr.write(`[WARNING] ${l}\n`);
}

/** What each cfssl-compatible command does (their names, flags and help are in go-commands.ts, loaded without this). */
export const GO_RUNNERS: Record<string, (f: GoFlags) => Promise<void>> = {
  gencert: async (f) => {
    const file = f.args[0];
    if (!file) throw new InputError("a CSR JSON file is needed", { field: "CSRJSON" }, { hint: "dk-bootstrap gencert -initca ca-csr.json" });
    const req = parseCsrJson(await readInput(file, "the CSR JSON"), file);
    const now = new Date();
    const opts = signOptions(f, now);
    const out = f.bools.has("initca")
      ? await gencertInitCa(req, now, opts.hostnames)
      : await gencert(req, await signerFrom(f, now), await profileFrom(f), opts);
    warn(out.warnings);
    process.stdout.write(`${JSON.stringify({ cert: out.cert, csr: out.csr, key: out.key })}\n`);
  },
  genkey: async (f) => {
    const file = f.args[0];
    if (!file) throw new InputError("a CSR JSON file is needed", { field: "CSRJSON" }, { hint: "dk-bootstrap genkey csr.json" });
    const req = parseCsrJson(await readInput(file, "the CSR JSON"), file === "-" ? "stdin" : file);
    if (f.bools.has("initca")) {
      const out = await gencertInitCa(req);
      process.stdout.write(`${JSON.stringify({ cert: out.cert, csr: out.csr, key: out.key })}\n`);
    } else process.stdout.write(`${JSON.stringify(await genkey(req))}\n`);
  },
  sign: async (f) => {
    // cfssl sign CSR [SUBJECT]; with -csr, the one argument is the SUBJECT.
    const [file, subjectFile, extra] = f.values.csr === undefined ? f.args : [f.values.csr, ...f.args];
    if (!file) throw new InputError("a PEM CSR file is needed", { field: "CSR" });
    if (extra !== undefined) throw new InputError("takes a CSR and a SUBJECT file at most", { field: "sign", value: extra });
    const now = new Date();
    const text = await readInput(file, "the CSR");
    const subject = subjectFile === undefined ? undefined : parseSubjectJson(await readInput(subjectFile, "the SUBJECT"), subjectFile);
    const out = await signCsr(text, await signerFrom(f, now), await profileFrom(f), { ...signOptions(f, now), file, ...(subject ? { subject } : {}) });
    warn(out.warnings);
    // cfssl prints the CSR it signed, as read, so that cfssljson -bare writes NAME.csr beside NAME.pem.
    process.stdout.write(`${JSON.stringify({ cert: out.cert, csr: text })}\n`);
  },
  certinfo: async (f) => {
    if (f.values.cert) {
      const where = { file: f.values.cert };
      const cert = parseCertificate(onlyCertificatePem(await readInput(f.values.cert, "the certificate"), where), where);
      checkGoReadsKey(cert.publicKey.rawData, where);
      process.stdout.write(`${JSON.stringify(await certinfoJson(cert), null, 2)}\n`);
    } else if (f.values.csr) {
      // cfssl prints Go's x509.CertificateRequest as it is, once read and its signature checked.
      const csr = await parseCsr(await readInput(f.values.csr, "the CSR"), { file: f.values.csr });
      checkGoReadsKey(csr.csr.publicKey.rawData, { file: f.values.csr });
      process.stdout.write(certinfoCsrJson(new Uint8Array(csr.csr.rawData), { file: f.values.csr }));
    } else throw new InputError("one of -cert or -csr is needed", { field: "certinfo" });
  },
  "print-defaults": async (f) => {
    const which = f.args[0];
    const text = which === "csr" ? formatCsrJson(DEFAULT_CSR_REQUEST) : which === "config" ? formatConfigJson(PRINT_DEFAULTS_CONFIG) : undefined;
    if (text === undefined) throw new InputError("expected csr or config", { field: "print-defaults", value: which ?? "" });
    // cfssl prints one more blank line after the JSON; keep its bytes.
    process.stdout.write(`${text}\n`);
  },
  json: async (f) => {
    const base = f.args[0];
    const source = f.values.f ?? "-";
    const text = source === "-" ? await readStdin() : await readInput(source, "the JSON");
    const json = parseJsonFile(text, source === "-" ? "stdin" : source) as Record<string, unknown>;
    const payload = (f.bools.has("bare") ? json : (json.result as Record<string, unknown> | undefined)) ?? {};
    const pick = (k: string) => (typeof payload[k] === "string" ? (payload[k] as string) : undefined);
    const output = { cert: pick("cert") ?? pick("certificate"), key: pick("key") ?? pick("private_key"), csr: pick("csr") ?? pick("certificate_request") };
    if (!output.cert && !output.key && !output.csr)
      throw new InputError('no "cert", "key" or "csr" in the JSON (is it -bare output?)', { file: source === "-" ? "stdin" : source });
    if (f.bools.has("stdout")) {
      for (const v of [output.cert, output.key, output.csr]) if (v) process.stdout.write(v);
      return;
    }
    if (!base) throw new InputError("a base name is needed", { field: "NAME" }, { hint: "dk-bootstrap json -bare ca" });
    const files = bareFiles(resolve(base), output);
    for (const file of files)
      await writeFileAtomic(file.path, file.content, {
        mode: file.mode,
        protect: { what: file.isKey ? "private key" : "file", force: f.bools.has("force") || !file.isKey },
      });
  },
};
