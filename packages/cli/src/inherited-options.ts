import type { Command, Option } from "commander";
import { InputError } from "@dk-bootstrap/pki";

/**
 * Hands each option a parent command took to the subcommand that runs, or refuses it.
 *
 * With positional options (set on the program), `certs --dir X renew all` leaves `--dir X` with
 * `certs`, while `certs renew all --dir X` gives it to `renew`. The first spelling must mean the
 * same as the second: an option the subcommand also declares is moved to it (given twice with two
 * values is an error), and one the subcommand does not declare is refused, never silently dropped.
 */
export function handOverParentOptions(action: Command): void {
  for (let parent = action.parent; parent?.parent; parent = parent.parent) {
    for (const option of parent.options as readonly Option[]) {
      const key = option.attributeName();
      if (parent.getOptionValueSource(key) !== "cli") continue;
      const value = parent.getOptionValue(key) as unknown;
      const own = (action.options as readonly Option[]).find((o) => o.long === option.long);
      if (!own)
        throw new InputError(
          `is an option of \`${commandPath(parent)}\`, not of \`${commandPath(action)}\``,
          { field: option.long },
          { hint: `run: dk-bootstrap ${commandPath(action)} --help` },
        );
      const ownKey = own.attributeName();
      if (action.getOptionValueSource(ownKey) === "cli" && JSON.stringify(action.getOptionValue(ownKey)) !== JSON.stringify(value))
        throw new InputError("is given twice with different values", { field: option.long });
      action.setOptionValueWithSource(ownKey, value, "cli");
    }
  }
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
