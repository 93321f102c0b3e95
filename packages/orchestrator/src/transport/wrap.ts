import type { Shell } from "../shell.js";

/** A PATH that has the usual system folders, which non-interactive SSH sessions often lack. */
export const NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Every script runs under `/bin/sh` with the same start, whatever the login shell of the node's user:
 * stop at the first failing command, a full PATH.
 */
export function wrap(script: Shell): string {
  return `set -e\nexport PATH=${NODE_PATH}:$PATH\n${script.text}`;
}
