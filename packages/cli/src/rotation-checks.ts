// What `certs rotate-ca` checks and says whichever way it reaches the cluster (-f cluster.yaml, or ssh [user@]host),
// and the line `status` says of a kept archive: below both rotation commands and `status`, so the one-node form does
// not import the cluster form (which loads it) nor `status` the command.
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type CaName,
  InputError,
  RotationError,
  ROTATABLE_CAS,
  certPaths,
  keptArchives,
  mustBeAbortable,
  readRotation,
  rotationInProgress,
  withClusterFolder,
} from "@dk-bootstrap/pki";
import { type NodeSpec, plannedContext, rotationImpact } from "@dk-bootstrap/orchestrator";
import type { ApplyFlags } from "./cluster-hosts.js";

/**
 * A rotation needs the folder that holds the CA: a missing one (a mistyped --dir) is said before anything else,
 * and not made, as opening it for writing would.
 */
export async function mustBeClusterFolder(dir: string, hint: string): Promise<void> {
  // Other errors (a file, no permission) are described by the folder's opening, which comes next.
  const missing = await stat(dir).then(
    () => false,
    (e: NodeJS.ErrnoException) => e.code === "ENOENT" || e.code === "ENOTDIR",
  );
  if (missing) throw new InputError("no such cluster folder: a rotation needs the CA it holds", { file: dir }, { hint });
}

/** Said before any host is dialled: a rotation of another CA in progress, nothing to abort, or no CA to rotate. */
export async function checkRotationState(dir: string, name: string, ca: CaName, abort: boolean, how: string): Promise<void> {
  const { current, missing } = await withClusterFolder(
    dir,
    undefined,
    async (f) => {
      const p = certPaths(f.dir, ca);
      const missing =
        (await f.read(p.crt)) === undefined
          ? { what: "no CA certificate", file: p.crt }
          : (await f.read(p.key)) === undefined
            ? { what: "no CA key", file: p.key }
            : undefined;
      return { current: await readRotation(f), missing };
    },
    { mustExist: true },
  );
  const active = current && rotationInProgress(current) ? current : undefined;
  if (active && active.ca !== ca)
    throw new RotationError(`a rotation of the ${active.name} CA is in progress (phase ${active.phase}): one CA at a time`, {
      hint: `finish it first: dk-bootstrap certs rotate-ca ${active.name} ${how} (or --abort it in phase 1 or 2)`,
    });
  if (abort && !active) throw new RotationError(`no rotation of the ${name} CA is in progress: nothing to abort`);
  if (abort && active) mustBeAbortable(active);
  // A rotation in progress has both CAs in its archive; a new one starts from the CA and its key in the folder.
  if (!active && missing) throw new InputError(`${missing.what}: a rotation needs the CA and its key`, { file: missing.file });
}

/** A dry run's lines for one node: each phase's trust, signer, changed files and restarts. */
export function sayImpact(say: (line: string) => void, nodeName: string, spec: NodeSpec, ca: CaName): void {
  for (const p of rotationImpact(plannedContext(spec), ca))
    say(
      `${nodeName}: phase ${p.phase}: trust ${p.trust}, ${p.signer} CA signs; files: ${p.files.join(" ") || "none"}; restarts: ${p.restarts.join(", ") || "nothing"}`,
    );
}

/** `certs rotate-ca`'s flags. */
export interface RotateCaFlags extends Omit<ApplyFlags, "file"> {
  file?: string;
  abort?: boolean;
  purgeArchive?: boolean;
  port?: string;
  jump?: string;
}

/** The line `status` says while a finished rotation's archive still holds the old CA's key; undefined when none does. */
export async function keptArchiveNote(dir: string): Promise<string | undefined> {
  const kept = await withClusterFolder(
    dir,
    undefined,
    async (f) =>
      (await Promise.all(Object.entries(ROTATABLE_CAS).map(async ([n, ca]) => ({ n, archives: await keptArchives(f, ca) })))).filter(
        (k) => k.archives.length > 0,
      ),
    { readOnly: true },
  ).catch(() => []);
  if (kept.length === 0) return undefined;
  return kept
    .map(
      (k) =>
        `rotation: the old ${k.n} CA's key is still kept in ${k.archives.map((a) => resolve(dir, a)).join(", ")}: \`dk-bootstrap certs rotate-ca ${k.n} --purge-archive --dir ${dir}\` removes it`,
    )
    .join("\n");
}
