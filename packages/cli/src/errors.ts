import { CommanderError } from "commander";

/** Exit statuses: 1 for a failure we understood, 2 for a command line we could not read, 70 for a bug. */
export const EXIT = { failure: 1, usage: 2, internal: 70 } as const;

/**
 * Prints an error the one way the CLI does: `error: <one line>`, then `hint: <one line>` when we
 * have one; the stack only with --debug. Returns the exit status.
 */
export async function reportError(e: unknown, debug: boolean, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT.usage; // commander already printed it
  // Loaded here, not at start-up: `--version` and `--help` need none of the packages.
  const { DkError, InputError, describeSystemError } = await import("@dk-bootstrap/pki");
  // A raw ENOTDIR/EACCES/... from deep inside is said as the path and what it means.
  const err = describeSystemError(e) ?? (e instanceof Error ? e : new Error(String(e)));
  const firstLine = (err.message.split("\n")[0] ?? "").trim();
  // A file with several problems (a cluster file) says each on its own line; any other error is one line.
  const lines = e instanceof DkError && Array.isArray((e as { problems?: unknown }).problems) ? err.message.split("\n") : [firstLine];
  for (const line of lines) stderr.write(`error: ${line}\n`);
  if (e instanceof DkError && e.hint) stderr.write(`hint: ${e.hint}\n`);
  if (debug) stderr.write(`${(e instanceof Error ? e : err).stack ?? ""}\n`);
  else if (!(e instanceof DkError) && !isSystemError(e)) stderr.write("hint: this looks like a bug in dk-bootstrap; run again with --debug for the stack\n");
  if (e instanceof InputError) return EXIT.failure;
  if (e instanceof DkError || isSystemError(e)) return EXIT.failure;
  return EXIT.internal;
}

function isSystemError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && typeof (e as NodeJS.ErrnoException).syscall === "string";
}
