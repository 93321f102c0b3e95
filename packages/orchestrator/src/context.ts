import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DkError, InputError } from "@dk-bootstrap/pki";
import { ARCHES } from "./artifacts.js";
import { NodeLayout, preamble } from "./node.js";
import { CGROUP_PROBE } from "./steps/cgroups.js";
import { type Shell, lines, sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import type { FilePut, Step, StepContext } from "./steps/step.js";
import { type Transport, exec, sha256 } from "./transport/transport.js";

/** The step context for a node: its architecture is asked of the node unless the spec gives it. */
export async function contextFor(spec: NodeSpec, transport: Transport): Promise<StepContext> {
  let arch = spec.arch;
  if (arch === undefined) {
    const machine = (await exec(transport, sh`uname -m`)).stdout.trim();
    arch = ARCHES[machine];
    if (!arch)
      throw new DkError(`${transport.host}: unsupported CPU architecture ${machine}`, "UNSUPPORTED", {
        hint: "Kubernetes publishes binaries for amd64 and arm64",
      });
  }
  const node = new NodeLayout(spec.remoteRoot);
  // The same test dk_start makes, so the configs' cgroup driver matches how the components run.
  const systemd = (await transport.run(lines([preamble(node), sh`dk_systemd`]))).exitCode === 0;
  const probed = (await exec(transport, CGROUP_PROBE)).stdout.trim();
  // A node with no cgroup hierarchy at all can still run etcd and the control plane; its kubelet step says why it cannot run.
  const cgroup = probed === "v1" || probed === "v2" ? probed : undefined;
  return { spec, node, arch, supervisor: systemd ? "systemd" : "process", ...(cgroup ? { cgroup } : {}) };
}

/** A file's bytes: generated, or read from the local cluster folder. */
export async function fileContent(spec: NodeSpec, f: FilePut): Promise<string | Buffer> {
  if (f.content !== undefined) return f.content;
  try {
    const bytes = await readFile(join(spec.dir, f.local!));
    return f.signer ? firstCertificate(bytes.toString("utf8")) : bytes;
  } catch {
    throw new InputError(
      "missing from the cluster folder",
      { file: join(spec.dir, f.local!) },
      { hint: "run `dk-bootstrap certs --dir DIR` with the same --dir" },
    );
  }
}

/** The first PEM certificate of a bundle, as its own file. */
function firstCertificate(pem: string): string {
  const end = "-----END CERTIFICATE-----";
  const at = pem.indexOf(end);
  return at < 0 ? pem : `${pem.slice(pem.indexOf("-----BEGIN CERTIFICATE-----"), at + end.length)}\n`;
}

/** The script a step runs: the shared shell functions, then its own. */
export function stepScript(c: StepContext, body: Shell): Shell {
  return lines([preamble(c.node), body]);
}

/**
 * A step's inputs, hashed: the shared shell functions it runs with (they write its unit, wait on its check),
 * its script, its check and its files' bytes. A changed hash makes a done step run again.
 */
export async function stepHash(c: StepContext, step: Step): Promise<string> {
  const files = await Promise.all(step.files(c).map(async (f) => ({ path: f.path, mode: f.mode, sha: sha256(await fileContent(c.spec, f)) })));
  return sha256(JSON.stringify({ functions: preamble(c.node).text, script: step.script(c).text, check: step.check(c).text, files }));
}
