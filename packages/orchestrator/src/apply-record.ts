import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DkError, writeFileAtomic } from "@dk-bootstrap/pki";
import type { Versions } from "./releases.js";
import type { EtcdMember } from "./spec.js";

/**
 * What `apply` remembers in the cluster folder between runs: the versions it resolved (a re-run never
 * upgrades by itself), etcd's cluster token, and where each member started from (its flags must never
 * change after it first starts: a new member must not restart the others).
 */
export interface ApplyRecord {
  versions?: Versions;
  token: string;
  started: Record<string, { state: "new" | "existing"; members: EtcdMember[] }>;
}

const RECORD = "apply-record.json";

/** The cluster folder's {@link ApplyRecord}; an empty one before the first apply. */
export async function readApplyRecord(dir: string): Promise<ApplyRecord> {
  let text: string;
  try {
    text = await readFile(join(dir, RECORD), "utf8");
  } catch {
    return { token: "", started: {} };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DkError(`${join(dir, RECORD)}: not readable JSON`, "INPUT", { hint: RESTORE_HINT });
  }
  const problem = recordProblem(parsed);
  if (problem) throw new DkError(`${join(dir, RECORD)}: ${problem}`, "INPUT", { hint: RESTORE_HINT });
  return parsed as ApplyRecord;
}

const RESTORE_HINT = "restore it from a backup; it holds etcd's member history (apply never guesses it)";

/** What is wrong with a parsed record's shape, in a few words; undefined when it is an {@link ApplyRecord}. */
function recordProblem(r: unknown): string | undefined {
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObject(r)) return `expected an object, got ${r === null ? "null" : Array.isArray(r) ? "an array" : typeof r}`;
  if (typeof r.token !== "string") return "token: expected a string";
  if (r.versions !== undefined && !isObject(r.versions)) return "versions: expected an object";
  if (!isObject(r.started)) return "started: expected an object";
  for (const [name, s] of Object.entries(r.started)) {
    if (!isObject(s) || (s.state !== "new" && s.state !== "existing")) return `started.${name}.state: expected "new" or "existing"`;
    if (!Array.isArray(s.members) || !s.members.every((m) => isObject(m) && typeof m.name === "string" && typeof m.ip === "string"))
      return `started.${name}.members: expected a list of { name, ip }`;
  }
  return undefined;
}

/**
 * Whether the folder knows a started cluster: a member was given its flags (and so may have started). Such a cluster is
 * never made again as new, whatever its members answer (or fail to).
 */
export function clusterStarted(record: ApplyRecord): boolean {
  return Object.keys(record.started).length > 0;
}

export function writeApplyRecord(dir: string, record: ApplyRecord): Promise<void> {
  return writeFileAtomic(join(dir, RECORD), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
}

/** `concurrency` workers over the items; results in the items' order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return out;
}
