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

/** Asks for a secret on the terminal without echoing it. */
export async function askHidden(prompt: string): Promise<string> {
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // readline echoes what is typed through _writeToOutput: silence it after the prompt.
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(prompt);
  out._writeToOutput = () => undefined;
  const answer = await new Promise<string>((resolve) => rl.question("", resolve));
  rl.close();
  process.stderr.write("\n");
  return answer;
}
