import type { NodeLayout } from "./node.js";
import { foldersBetween, isUnder } from "./remote-root.js";
import { type Shell, raw, sh } from "./shell.js";
import type { Step, StepContext } from "./steps/step.js";

/**
 * The node's own record of what dk-bootstrap made there, so that `reset` removes exactly that (shared/design.md,
 * "Destroy only what we made"). Two files in the node's state folder:
 * - the mark (`node.json`): this node was set up by dk-bootstrap (for which node and cluster, under which root);
 * - the record (`made`): one line per path dk-bootstrap made, written before it makes it (so a killed run leaves a
 *   record of what it may have made, never a made path without its line). `rm<TAB>PATH`: a file or folder that did
 *   not exist and that a step makes whole (a program, a config, a data folder); `dir<TAB>PATH`: a folder that did not
 *   exist and that was made on the way to one (`mkdir -p`): removed only while empty, since a user may have put a
 *   file of their own in it since.
 * A path that already existed is never recorded: it was not ours to begin with.
 */
export const MARK_FILE = "node.json";
export const RECORD_FILE = "made";

/** What the mark says. */
export interface NodeMark {
  madeBy: "dk-bootstrap";
  node: string;
  cluster: string;
  remoteRoot: string;
  /** When the first run on this node began (ISO 8601). */
  at: string;
}

/** One line of the record. */
export interface MadeEntry {
  kind: "rm" | "dir";
  path: string;
}

/**
 * What every run records before its steps: the folders it makes on the node (its state: lock, steps, this record;
 * download cache, logs and pid files), and the file `certs rotate-ca` writes there outside any step (ca-rotation.ts's
 * nodeRotationFile), recorded ahead since no step puts it.
 */
export const runTargets = (node: NodeLayout): string[] => [node.state, node.cache, node.logs, node.run, `${node.pki}/ca-rotation.json`];

/** The unit file `dk_start` writes for a component under systemd. */
export const unitFile = (component: string): string => `/etc/systemd/system/dk-${component}.service`;

/** Every path a step makes: the files it puts, the paths it creates, and its components' units under systemd. */
export function stepTargets(c: StepContext, step: Step): string[] {
  return [...step.files(c).map((f) => f.path), ...step.creates(c), ...(c.supervisor === "systemd" ? step.components.map(unitFile) : [])];
}

/**
 * Shell that records, before they are made, the paths among `targets` (and the folders on the way to them) that do not
 * exist yet; it makes the state folder, which holds the record. Run it before the step that makes them.
 */
export function recordMade(node: NodeLayout, targets: readonly string[]): Shell {
  const paths = targets.filter((p) => isUnder(node.root, p));
  const folders = [...new Set(paths.flatMap((p) => foldersBetween(node.root, p)))];
  // One test per path (not a loop: a loop over one word is what shellcheck warns of, in the dry run's script).
  const scan = (kind: "dir" | "rm", list: string[]) => list.map((p) => sh`{ [ -e ${p} ] || [ -L ${p} ] || printf ${raw(`'${kind}\\t%s\\n'`)} ${p}; };`);
  const record = `${node.state}/${RECORD_FILE}`;
  // Asked before anything is made, the state folder (the record's own) included. One line: a reader who runs the
  // dry run's script line by line (each through its own ssh) keeps the question and its record together.
  return sh`dk_made=$(${[...scan("dir", folders), ...scan("rm", paths), sh`:`]}); mkdir -p ${node.state} && { [ -z "$dk_made" ] || printf '%s\n' "$dk_made" >> ${record}; }`;
}

/**
 * Shell that marks the node as dk-bootstrap's (once: the first run's mark stays), after {@link recordMade} of the state
 * folder. The time is the node's, so that a dry run's script is the same text every time it is rendered.
 */
export function markNode(node: NodeLayout, mark: Omit<NodeMark, "madeBy" | "at">): Shell {
  const head = JSON.stringify({ madeBy: "dk-bootstrap", ...mark });
  const file = `${node.state}/${MARK_FILE}`;
  return sh`[ -f ${file} ] || printf '%s,"at":"%s"}\n' ${head.slice(0, -1)} "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > ${file}`;
}

/** The record's lines, each once (a killed run may have written a line twice); a line of another shape is skipped. */
export function parseRecord(text: string): MadeEntry[] {
  const seen = new Set<string>();
  const out: MadeEntry[] = [];
  for (const line of text.split("\n")) {
    const tab = line.indexOf("\t");
    const kind = line.slice(0, tab);
    if (tab < 0 || (kind !== "rm" && kind !== "dir") || seen.has(line)) continue;
    seen.add(line);
    out.push({ kind, path: line.slice(tab + 1) });
  }
  return out;
}

/** The mark's fields, checked (it is text from the node): undefined when it is not a mark dk-bootstrap wrote. */
export function parseMark(text: string): NodeMark | undefined {
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    const fields = ["node", "cluster", "remoteRoot", "at"] as const;
    if (m?.madeBy !== "dk-bootstrap" || !fields.every((f) => typeof m[f] === "string")) return undefined;
    // Shown on the terminal: no control characters.
    const clean = (s: unknown) => String(s).replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
    return { madeBy: "dk-bootstrap", node: clean(m.node), cluster: clean(m.cluster), remoteRoot: clean(m.remoteRoot), at: clean(m.at) };
  } catch {
    return undefined;
  }
}
