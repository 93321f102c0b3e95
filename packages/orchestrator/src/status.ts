import { withPinnedSha256 } from "./checksums.js";
import { contextFor, stepHash, stepScript } from "./context.js";
import type { NodeLayout } from "./node.js";
import { MARK_FILE, type MadeEntry, type NodeMark, RECORD_FILE, parseMark, parseRecord } from "./node-record.js";
import { plan } from "./plan.js";
import { lines, sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import type { Step, StepContext } from "./steps/step.js";
import { type Transport, exec } from "./transport/transport.js";

/** One step as the node sees it. */
export interface StepStatus {
  id: string;
  /** A run finished this step (with some inputs). */
  done: boolean;
  /** …with the inputs the spec gives today. */
  current: boolean;
  /** Its check passes now. */
  healthy: boolean;
}

/** Each step's state on the node (or only the steps `ids` names): done, with today's inputs, and healthy now. Changes nothing. */
export async function nodeStatus(spec: NodeSpec, t: Transport, ids?: readonly string[]): Promise<StepStatus[]> {
  const c = await contextFor(spec, t);
  const out: StepStatus[] = [];
  for (const step of plan({}, spec).filter((s) => !ids || ids.includes(s.id))) {
    const recorded = (await t.run(sh`cat ${`${c.node.state}/steps/${step.id}`} 2>/dev/null`)).stdout.trim();
    const healthy = recorded !== "" && (await t.run(stepScript(c, step.check(c)))).exitCode === 0;
    out.push({ id: step.id, done: recorded !== "", current: recorded === (await stepHash(await pinnedFor(c, step), step)), healthy });
  }
  return out;
}

/** The context a run of `step` hashes: with a mirror, its downloads' pinned checksums are inputs (none known: not current). */
async function pinnedFor(c: StepContext, step: Step): Promise<StepContext> {
  return { ...c, spec: await withPinnedSha256(c.spec, step.artifacts?.(c) ?? [], { partial: true }) };
}

/** A component's log: journald's under systemd, else the log file the process supervisor writes; `follow` streams it. */
export async function componentLogs(
  spec: NodeSpec,
  t: Transport,
  component: string,
  options: { follow?: boolean; lines?: number; onLine: (line: string) => void },
): Promise<void> {
  const c = await contextFor(spec, t);
  const n = String(options.lines ?? 100);
  const follow = options.follow ? sh`-f` : sh``;
  await exec(
    t,
    stepScript(
      c,
      lines([
        sh`if dk_systemd; then exec journalctl --no-pager -n ${n} ${follow} -u ${`dk-${component}`}; fi`,
        sh`f="$DK_LOGS"/${`${component}.log`}; [ -f "$f" ] || { echo ${`no log for ${component} on this node`} >&2; exit 1; }; exec tail -n ${n} ${follow} "$f"`,
      ]),
    ),
    { onLine: (line) => options.onLine(line) },
  );
}

/**
 * The mark dk-bootstrap leaves on a node it set up (see node-record.ts), with its record of what it made: undefined
 * when the node has no mark (never set up by dk-bootstrap, set up by one too old to mark it, or reset since).
 */
export async function nodeMark(node: NodeLayout, t: Transport): Promise<{ mark: NodeMark; made: MadeEntry[] } | undefined> {
  const split = "--dk-record--";
  const r = await exec(
    t,
    sh`cat ${`${node.state}/${MARK_FILE}`} 2>/dev/null || true; echo ${split}; cat ${`${node.state}/${RECORD_FILE}`} 2>/dev/null || true`,
  );
  const [mark, made] = r.stdout.split(`${split}\n`) as [string, string | undefined];
  const parsed = parseMark(mark);
  return parsed && { mark: parsed, made: parseRecord(made ?? "") };
}
