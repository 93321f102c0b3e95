/**
 * Before `apply` pushes a PKI: the cluster folder's CA must be one the nodes already trust. A folder other than the one
 * the cluster was applied from (the folder beside the file is the default now; `--dir` may name another) would hold
 * a CA of its own, and pushing it would cut every node off from the others. Refused before any host is changed, with
 * both fingerprints. Mid-rotation both sides hold a bundle: any certificate in common is the same cluster.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DkError } from "@dk-bootstrap/pki";
import { type HostConnection, NodeLayout, sh } from "@dk-bootstrap/orchestrator";

/** SHA-256 fingerprints of every certificate of a PEM bundle, in its order. */
function fingerprints(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]).fingerprint256);
}

/** Refuses when a host already trusts a cluster CA that the folder `dir` does not hold. */
export async function checkTrustedCa(conns: readonly HostConnection[], dir: string): Promise<void> {
  const local = fingerprints(await readFile(join(dir, "pki", "ca.crt"), "utf8").catch(() => ""));
  const strangers: string[] = [];
  for (const c of conns.filter((x) => !x.host.reset)) {
    const r = await c.transport.run(sh`cat ${join(new NodeLayout(c.host.remoteRoot).pki, "ca.crt")} 2>/dev/null`);
    const theirs = fingerprints(r.stdout);
    if (theirs.length > 0 && !theirs.some((f) => local.includes(f))) strangers.push(`${c.host.ssh.address} trusts ${theirs[0]}`);
  }
  if (strangers.length > 0)
    throw new DkError(
      `the cluster folder ${dir} holds ${local.length > 0 ? `CA ${local[0]}` : "no CA yet (a new one would be made)"}, not the CA the nodes trust: ${strangers.join("; ")}; nothing was changed`,
      "INPUT",
      { hint: "pass --dir with the folder this cluster was applied from (the default is the folder `cluster` beside the file)" },
    );
}
