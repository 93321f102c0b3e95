import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { InputError } from "@dk-bootstrap/pki";

/** Reads a file named on the command line (relative to the current folder), or stdin for `-`. */
export async function readInput(name: string, what: string): Promise<string> {
  if (name === "-") return readStdin();
  try {
    return await readFile(resolve(name), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a folder" : (e as Error).message;
    throw new InputError(`cannot read ${what}: ${why}`, { file: name });
  }
}

/** All of stdin as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
