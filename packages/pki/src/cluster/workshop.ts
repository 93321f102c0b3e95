import { join } from "node:path";
import { DEFAULT_SIGNING_CONFIG, type SigningConfig } from "../cfssl/config-json.js";
import type { CfsslCsrRequest } from "../cfssl/csr-json.js";
import { gencert, gencertInitCa, loadSigner } from "../cfssl/gencert.js";
import { bareFiles } from "../cfssl/output.js";
import { ensurePrivateDir, readIfExists, writeFileAtomic } from "../store.js";
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
 * `ca-key.pem`, `ca.csr`, `admin.pem`, `admin-key.pem`, `admin.csr`. Existing files are kept.
 */
export async function generateWorkshopPki(dir: string, options: { force?: boolean; now?: Date } = {}): Promise<PkiAction[]> {
  const certs = join(dir, "certs");
  await ensurePrivateDir(dir);
  await ensurePrivateDir(certs);
  const force = options.force ?? false;
  const actions: PkiAction[] = [];
  const write = async (base: string, out: { cert?: string; csr?: string; key?: string }) => {
    for (const f of bareFiles(join(certs, base), out)) {
      await writeFileAtomic(f.path, f.content, { mode: f.mode, dirMode: 0o700, protect: { what: f.isKey ? "private key" : "certificate", force } });
    }
  };
  let caCert = force ? undefined : await readIfExists(join(certs, "ca.pem"));
  let caKey = force ? undefined : await readIfExists(join(certs, "ca-key.pem"));
  if (caCert === undefined || caKey === undefined) {
    const ca = await gencertInitCa(WORKSHOP_CA_CSR, options.now);
    await write("ca", ca);
    [caCert, caKey] = [ca.cert, ca.key];
    actions.push({ name: "ca", action: "made" });
  } else actions.push({ name: "ca", action: "kept" });
  if (!force && (await readIfExists(join(certs, "admin.pem"))) !== undefined) {
    actions.push({ name: "admin", action: "kept" });
    return actions;
  }
  const signer = await loadSigner(caCert, caKey, { cert: join(certs, "ca.pem"), key: join(certs, "ca-key.pem") }, options.now);
  await write("admin", await gencert(WORKSHOP_ADMIN_CSR, signer, WORKSHOP_CONFIG.profiles.kubernetes!, options.now ? { now: options.now } : {}));
  actions.push({ name: "admin", action: "made" });
  return actions;
}
