import { join } from "node:path";
import { DEFAULT_SIGNING_CONFIG, type SigningConfig } from "../cfssl/config-json.js";
import type { CfsslCsrRequest } from "../cfssl/csr-json.js";
import { gencert, gencertInitCa, loadSigner } from "../cfssl/gencert.js";
import { bareFiles } from "../cfssl/output.js";
import { parseCertificate } from "../certificate.js";
import { PkiError } from "../errors.js";
import { verifyChain } from "../inspect.js";
import { type ClusterFolder, withClusterFolder } from "../cluster-folder.js";
import { readIfExists } from "../store.js";
import type { PkiAction } from "./generate.js";

const SEED_NAMES = { C: "FR", L: "Pessac", ST: "Nouvelle Aquitaine" };

/** The workshop's `ca-csr.json`. */
export const WORKSHOP_CA_CSR: CfsslCsrRequest = {
  CN: "Kubernetes",
  key: { algo: "rsa", size: 2048 },
  names: [{ ...SEED_NAMES, O: "Kubernetes", OU: "CA" }],
  hosts: ["127.0.0.1", "localhost"],
};

/** The workshop's `admin-csr.json`: the one identity every component shares there (bad practice, kept for the story). */
export const WORKSHOP_ADMIN_CSR: CfsslCsrRequest = {
  CN: "admin",
  key: { algo: "rsa", size: 2048 },
  names: [{ ...SEED_NAMES, O: "system:masters", OU: "Démystifions Kubernetes" }],
  hosts: ["127.0.0.1", "localhost"],
};

/** The workshop's `ca-config.json`: one `kubernetes` profile, server and client auth, 8760h. */
export const WORKSHOP_CONFIG: SigningConfig = { default: DEFAULT_SIGNING_CONFIG.default, profiles: { kubernetes: DEFAULT_SIGNING_CONFIG.default } };

/**
 * The workshop's PKI, exactly as its two cfssl commands make it, in `<dir>/certs`: `ca.pem`,
 * `ca-key.pem`, `ca.csr`, `admin.pem`, `admin-key.pem`, `admin.csr`. Existing files are kept; an admin
 * certificate that its CA did not sign is an error. Nothing is written unless the whole run succeeds, and
 * then every file is written as one set under the folder's lock (or in `folder`'s set, committed by the caller).
 */
export function generateWorkshopPki(dir: string, options: { force?: boolean; now?: Date; folder?: ClusterFolder } = {}): Promise<PkiAction[]> {
  return withClusterFolder(dir, options.folder, (folder) => workshopInFolder(folder, options));
}

async function workshopInFolder(folder: ClusterFolder, options: { force?: boolean; now?: Date }): Promise<PkiAction[]> {
  const dir = folder.dir;
  const certs = join(dir, "certs");
  const force = options.force ?? false;
  const files = { cert: join(certs, "ca.pem"), key: join(certs, "ca-key.pem") };
  const adminPath = join(certs, "admin.pem");
  const [caCert, caKey, admin] = force ? [] : await Promise.all([readIfExists(files.cert), readIfExists(files.key), readIfExists(adminPath)]);

  const outputs: [string, { cert?: string; csr?: string; key?: string }][] = [];
  const actions: PkiAction[] = [];
  let signer;
  if (caCert !== undefined && caKey !== undefined) {
    signer = await loadSigner(caCert, caKey, files, options.now);
    actions.push({ name: "ca", action: "kept" });
  } else {
    const ca = await gencertInitCa(WORKSHOP_CA_CSR, options.now);
    signer = await loadSigner(ca.cert, ca.key, files, options.now);
    outputs.push(["ca", ca]);
    actions.push({ name: "ca", action: "made" });
  }
  if (admin !== undefined) {
    // An admin certificate of another CA (say, ca.pem was removed and made again) would be refused by every component.
    const problems = await verifyChain(parseCertificate(admin, { file: adminPath }), [signer.cert], [], options.now);
    if (problems.length > 0) throw new PkiError(`${adminPath}: ${problems[0]}`, { hint: "pass --force to make the workshop's CA and admin certificate again" });
    actions.push({ name: "admin", action: "kept" });
  } else {
    outputs.push(["admin", await gencert(WORKSHOP_ADMIN_CSR, signer, WORKSHOP_CONFIG.profiles.kubernetes!, options.now ? { now: options.now } : {})]);
    actions.push({ name: "admin", action: "made" });
  }

  for (const [base, out] of outputs) {
    for (const f of bareFiles(join(certs, base), out)) {
      await folder.stage(f.path, f.content, { mode: f.mode, dirMode: 0o700, ...(f.isKey ? { protect: { what: "private key", force } } : {}) });
    }
  }
  return actions;
}
