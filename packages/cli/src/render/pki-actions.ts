// The `[certs]` lines kubeadm prints for what a PKI run did: said the same way by `certs` and by the node runs (ssh,
// local) that make the PKI before their steps.
import type { ClusterSpec, PkiAction } from "@dk-bootstrap/pki";

const VERB: Record<PkiAction["action"], string> = { kept: "Using the existing", made: "Generated", renewed: "Re-issued", external: "Using the external" };

/** kubeadm-style `[certs]` lines for what a run did. */
export function printActions(actions: PkiAction[], dir: string, spec?: ClusterSpec): void {
  for (const a of actions) {
    // A re-issued certificate keeps its key: saying "and key" would tell the user to expect a new one.
    const what =
      a.name === "sa" ? `"sa" key pair` : a.action === "renewed" ? `"${a.name}" certificate with its existing key` : `"${a.name}" certificate and key`;
    process.stdout.write(`[certs] ${VERB[a.action]} ${what}${a.reason ? ` (${a.reason})` : ""}\n`);
    if (a.name === "sa" && a.action === "made" && spec?.key.algo === "ed25519")
      process.stderr.write("[certs] note: sa.key is ECDSA P-256, not Ed25519: the apiserver signs service-account tokens with RSA or ECDSA only\n");
  }
  const count = (k: PkiAction["action"]) => actions.filter((a) => a.action === k).length;
  process.stdout.write(`[certs] ${dir}: ${count("made")} made, ${count("kept")} kept, ${count("renewed")} renewed\n`);
}
