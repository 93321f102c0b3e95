import { DkError } from "@dk-bootstrap/pki";
import type { ResetPlan } from "@dk-bootstrap/orchestrator";

/** kubeadm reset's question, answered on the terminal: only `y` or `yes` goes on. */
async function ask(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  // On stderr: stdout stays the command's output (a --json run's events).
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  try {
    process.stderr.write(question);
    const answer = await new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * How `reset` is confirmed, as kubeadm reset does it: `--yes` (`-y`) goes on without a question; else the question is
 * asked on the terminal, and without a terminal (a script, a pipe) the command refuses before it connects to anything.
 * Returns the question to ask once the node's plan is known, or undefined when `--yes` answered it.
 */
export function resetConfirmation(yes: boolean | undefined, what: string): ((plan: ResetPlan) => Promise<boolean>) | undefined {
  if (yes) return undefined;
  if (!process.stdin.isTTY)
    throw new DkError(`reset removes what dk-bootstrap made on ${what}, and there is no terminal to ask: nothing was done`, "CONFIRM", {
      hint: "add --yes (-y) to reset from a script",
    });
  return (plan) =>
    ask(
      `[reset] ${plan.host}: set up by dk-bootstrap as node ${plan.mark.node} of ${plan.mark.cluster} (${plan.mark.at}).\n` +
        `[reset] It stops the components dk-bootstrap started and removes the ${plan.remove.length} path(s) it recorded making ` +
        `(and the ${plan.folders.length} folder(s) it made, when empty).\n[reset] Are you sure you want to proceed? [y/N]: `,
    );
}

/** The one question for every host of a cluster file (asked before any host is reached), or undefined with `--yes`. */
export async function confirmClusterReset(yes: boolean | undefined, file: string): Promise<void> {
  const question = resetConfirmation(yes, `every host of ${file}`);
  if (!question) return;
  const go = await ask(
    `[reset] Every host of ${file}: stops the components dk-bootstrap started and removes what it recorded making (a host it did not set up is refused).\n[reset] Are you sure you want to proceed? [y/N]: `,
  );
  if (!go) throw new DkError("reset not confirmed: nothing was done", "CONFIRM", { hint: "answer y to reset, or pass --yes" });
}
