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
  try {
    return JSON.parse(text) as ApplyRecord;
  } catch {
    throw new DkError(`${join(dir, RECORD)}: not readable JSON`, "INPUT", { hint: "restore it from a backup; it holds etcd's member history" });
  }
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
