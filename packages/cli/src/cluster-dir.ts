/**
 * Where the cluster folder is, checked once for every command that takes `--dir`, before it runs (a preAction hook):
 *
 * - `--dir=~/x` (one word: the shell leaves its `~` alone) means the home folder, as the apply file's `keyPath` does,
 *   not a folder literally named `~`.
 * - Without `--dir`, a command given a cluster file (`-f /path/cluster.yaml`) uses the folder beside that file
 *   (`/path/cluster`), not one beside wherever it runs: k0sctl users keep one file and run it from anywhere. A
 *   cluster folder left at the old place (`./cluster`, a PKI in it) while none is beside the file is refused rather
 *   than a second PKI made.
 * - A PKI folder given as the cluster folder (kubeadm's `--cert-dir` habit: `--dir c/pki`, or a kubeadm-style
 *   `/etc/kubernetes/pki` with `ca.crt` and `ca.key` at its top) is refused with the parent to use: a second CA would
 *   otherwise be made inside it without a word.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "@dk-bootstrap/pki";
import type { Command } from "commander";

/** Applies the rules above to the command about to run, setting its `dir` option to the folder to use. */
export function checkClusterDir(action: Command): void {
  if (!action.options.some((o) => o.long === "--dir")) return;
  const given = action.getOptionValueSource("dir") === "cli";
  let dir = action.getOptionValue("dir") as string | undefined;
  if (dir === undefined) return;
  if (given && (dir === "~" || dir.startsWith("~/"))) {
    dir = join(homedir(), dir.slice(1));
    action.setOptionValueWithSource("dir", dir, "cli");
  }
  const file = action.getOptionValue("file") as unknown;
  // A file inside a cluster folder is that folder's own settings file: its reader names it (kind ClusterSettings).
  if (!given && typeof file === "string" && file !== "" && !isClusterFolder(dirname(resolve(file)))) {
    const beside = join(dirname(resolve(file)), "cluster");
    const here = resolve(dir);
    if (beside !== here && !isClusterFolder(beside) && isClusterFolder(here))
      throw new InputError(
        `the cluster folder is the one beside the cluster file (${beside}), and it has none; a cluster folder is here, at ${here}`,
        { field: "--dir" },
        { hint: `pass --dir ${here} to use it (or move it beside the file)` },
      );
    action.setOptionValueWithSource("dir", beside, "default");
    dir = beside;
  }
  const abs = resolve(dir);
  if (existsSync(join(abs, "ca.crt")) && existsSync(join(abs, "ca.key"))) {
    const parent = dirname(abs);
    throw new InputError(
      `is a PKI folder (ca.crt and ca.key at its top), not a cluster folder: ${basename(abs) === "pki" ? "the cluster folder holds it as pki/" : "a cluster folder holds its PKI in pki/"}`,
      { field: "--dir", value: dir },
      { hint: `did you mean --dir ${parent}?` },
    );
  }
}

/** A folder a run has made: a PKI, or a multi-host cluster's record. */
function isClusterFolder(dir: string): boolean {
  return existsSync(join(dir, "pki", "ca.crt")) || existsSync(join(dir, "apply-record.json"));
}
