/**
 * Ctrl-C during `certs`: while keys are made nothing is on disk yet (the run's files are staged in memory and written
 * as one set at the end), so an interrupt says so, takes back the folder's lock file, and ends by SIGINT itself (a shell
 * sees 130). Re-raised, not process.exit(130): an exit waits for the key generations still running in the thread pool.
 * Once the set is being written, the interrupt waits for the write to end: a set is written whole, never half.
 */
import { existsSync, readFileSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { LOCK_FILE } from "@dk-bootstrap/pki";

/** What the command tells the guard: the write has begun; the command is over. */
export interface InterruptGuard {
  writing(): void;
  done(): void;
}

/** Guards a run that makes the cluster folder `dir` (made by this run when it does not exist yet). */
export function guardInterrupt(dir: string, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): InterruptGuard {
  const existed = existsSync(dir);
  let writing = false;
  let interrupted = false;
  const onSigint = () => {
    if (writing) {
      interrupted = true;
      return;
    }
    say("\ninterrupted: nothing was written");
    // The lock's socket goes with the process; its file is ours to take back (else the next run takes it over with a note).
    try {
      const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")) as { pid?: number };
      if (owner.pid === process.pid) unlinkSync(join(dir, LOCK_FILE));
      // A folder this run made, left empty: gone too (rmdir refuses a folder that holds anything).
      if (!existed) rmdirSync(dir);
    } catch {
      // no lock taken yet, or the folder holds files of its own: left as it is
    }
    reraise();
  };
  const reraise = () => {
    process.off("SIGINT", onSigint);
    process.kill(process.pid, "SIGINT");
  };
  process.on("SIGINT", onSigint);
  return {
    writing: () => {
      writing = true;
    },
    done: () => {
      process.off("SIGINT", onSigint);
      if (interrupted) {
        say("interrupted: the files were written whole first");
        reraise();
      }
    },
  };
}
