import { NodeLayout, preamble, waitFor } from "./node.js";
import { runTargets, markNode, recordMade, stepTargets } from "./node-record.js";
import { PREFLIGHT, plan, stepById } from "./plan.js";
import { quote, raw, sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import { preflight } from "./steps/preflight.js";
import { type FilePut, type Step, type StepContext, assumedSupervisor } from "./steps/step.js";
import { NODE_PATH } from "./transport/wrap.js";

/**
 * The plan as one shell script a person can read and run on the node (`--dry-run`): the same shell
 * functions, step scripts and checks a real run sends, each step under a `# step: <id>` line. Files
 * from the cluster folder are installed from `$DK_CLUSTER_DIR` (copy the folder to the node), so no
 * private key is ever printed; generated files are written inline.
 */
export function renderScript(
  spec: NodeSpec,
  range: { from?: string; until?: string } = {},
  notBefore = new Date(Date.now() - 5 * 60_000),
  /** Comment lines for the script's head: what a real run does on this machine before it connects (the PKI). */
  notes: readonly string[] = [],
  /**
   * The SHA-256 of each cluster-folder file the script installs (relative path → hex), as a real run would find them
   * (after its PKI step): the script checks them before it changes anything (see {@link localFileChecks}).
   */
  digests: ReadonlyMap<string, string> = new Map(),
): string {
  const steps = plan(range, spec);
  // `--until preflight`: only the checks, for every step a whole run would make.
  const pending = range.until === PREFLIGHT ? plan({ from: range.from }, spec) : steps;
  const c: StepContext = { spec, node: new NodeLayout(spec.remoteRoot), arch: spec.arch ?? "amd64", supervisor: assumedSupervisor(spec) };
  const out = [
    "#!/bin/sh",
    `# dk-bootstrap plan for node ${spec.nodeName}: Kubernetes ${spec.versions.kubernetes}, etcd ${spec.versions.etcd}, ${c.arch}, remote root ${spec.remoteRoot}, components run by ${c.supervisor === "systemd" ? "systemd" : "dk-bootstrap as detached processes"}`,
    "# Run on the node, with a copy of the local cluster folder: DK_CLUSTER_DIR=/path/to/cluster sh this-script",
    ...notes.flatMap((n) => wrapComment(n)),
    // The checks are single-quoted on purpose: dk_wait evaluates them again on each try.
    "# shellcheck disable=SC2016",
    "set -e",
    `export PATH="${NODE_PATH}:$PATH"`,
    `DK_CLUSTER_DIR=\${DK_CLUSTER_DIR:-${quote(spec.dir)}}`,
    preamble(c.node).text,
    ...localFileChecks(spec, [preflight(pending, notBefore, spec), ...steps], c, digests),
    // As a real run does first: the node's record of what it makes, and the mark that dk-bootstrap set it up.
    recordMade(c.node, runTargets(c.node)).text,
    markNode(c.node, { node: spec.nodeName, cluster: spec.clusterName, remoteRoot: spec.remoteRoot }).text,
  ];
  for (const step of [preflight(pending, notBefore, spec), ...steps]) {
    out.push("", `# step: ${step.id}`, `# ${step.title}`);
    if (step.why) out.push(...wrapComment(step.why));
    const targets = stepTargets(c, step);
    if (targets.length > 0) out.push(recordMade(c.node, targets).text);
    for (const f of step.files(c)) out.push(renderFile(f));
    out.push(step.script(c).text);
    if (step.id !== PREFLIGHT) out.push(waitFor(step.checkTimeout, step.check(c)).text);
    if (step.observe) out.push(...wrapComment(`now: ${step.observe}`));
  }
  return `${out.join("\n")}\n`;
}

/** The cluster-folder files (paths relative to it) that the plan's steps in `range` install: what {@link renderScript}'s digests are of. */
export function installedLocalFiles(spec: NodeSpec, range: { from?: string; until?: string } = {}): string[] {
  const c: StepContext = { spec, node: new NodeLayout(spec.remoteRoot), arch: spec.arch ?? "amd64", supervisor: assumedSupervisor(spec) };
  return [...new Set(plan(range, spec).flatMap((s) => s.files(c).flatMap((f) => (f.local === undefined ? [] : [f.local]))))];
}

/**
 * Lines that refuse to go on, before anything is changed, when a file of `$DK_CLUSTER_DIR` that the script installs
 * is not the one it was rendered with (a certificate re-issued for a new node name or address is only staged by a
 * dry run): as printed, the script would install files that do not fit the names and addresses it configures.
 */
function localFileChecks(spec: NodeSpec, steps: readonly Step[], c: StepContext, digests: ReadonlyMap<string, string>): string[] {
  const locals = [...new Set(steps.flatMap((s) => s.files(c).flatMap((f) => (f.local === undefined ? [] : [f.local]))))];
  const known = locals.filter((l) => digests.has(l));
  if (known.length === 0) return [];
  const certs = sh`dk-bootstrap certs --dir ${spec.dir} --node-name ${spec.nodeName}${spec.nodeIPs.length > 0 ? sh` ${spec.nodeIPs.map((ip) => sh`--node-ip ${ip}`)}` : sh``}`;
  return [
    "# The cluster folder's files, as this plan was rendered with them: anything else is refused before any change.",
    raw(String.raw`dk_same() {
  if [ "$(sha256sum "$DK_CLUSTER_DIR/$1" 2>/dev/null | cut -d' ' -f1)" != "$2" ]; then
    echo "$DK_CLUSTER_DIR/$1 is not the file this plan was rendered with: run \`$DK_CERTS\` first, then render the plan again" >&2
    exit 1
  fi
}`).text,
    sh`DK_CERTS=${certs.text}`.text,
    ...known.map((l) => sh`dk_same ${l} ${digests.get(l)!}`.text),
  ];
}

function renderFile(f: FilePut): string {
  const mode = f.mode.toString(8);
  // The signer of a CA bundle: its first certificate only.
  if (f.local !== undefined && f.signer)
    return sh`mkdir -p "$(dirname ${f.path})" && sed '/-----END CERTIFICATE-----/q' "$DK_CLUSTER_DIR"/${f.local} > ${f.path} && chmod ${mode} ${f.path}`.text;
  if (f.local !== undefined) return sh`install -D -m ${mode} "$DK_CLUSTER_DIR"/${f.local} ${f.path}`.text;
  return `${sh`mkdir -p "$(dirname ${f.path})" && cat > ${f.path} <<'DK_EOF'`.text}\n${f.content!.replace(/\n$/, "")}\nDK_EOF\n${sh`chmod ${mode} ${f.path}`.text}`;
}

function wrapComment(text: string, width = 110): string[] {
  const words = text.split(/\s+/);
  const rows: string[] = [];
  let row = "#";
  for (const w of words) {
    if (row.length + w.length + 1 > width) {
      rows.push(row);
      row = "#";
    }
    row += ` ${w}`;
  }
  rows.push(row);
  return rows;
}

/** `dk-bootstrap explain STEP`: the step's why, what the user should see after it, and the exact commands it runs. */
export function explainStep(spec: NodeSpec, id: string): string {
  const step = id === PREFLIGHT ? preflight(plan({}, spec), new Date(Date.now() - 5 * 60_000), spec) : stepById(id);
  const c: StepContext = { spec, node: new NodeLayout(spec.remoteRoot), arch: spec.arch ?? "amd64", supervisor: assumedSupervisor(spec) };
  const out = [`${step.id}: ${step.title}`, "", ...wrapComment(step.why).map((l) => l.slice(2)), ""];
  if (step.observe) out.push("Afterwards:", ...wrapComment(step.observe).map((l) => `  ${l.slice(2)}`), "");
  out.push("Commands (on the node, after dk-bootstrap's shell functions):", "");
  for (const f of step.files(c)) out.push(renderFile(f));
  out.push(step.script(c).text);
  if (step.id !== PREFLIGHT) out.push(waitFor(step.checkTimeout, step.check(c)).text);
  return `${out.join("\n")}\n`;
}
