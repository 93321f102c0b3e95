import { InputError } from "@dk-bootstrap/pki";

/** The flags a Go-style command takes: name → kind. */
export type GoFlagSpec = Record<string, "string" | "bool">;

/** Parsed Go-style flags and the positional arguments after them. */
export interface GoFlags {
  values: Record<string, string>;
  bools: Set<string>;
  args: string[];
}

/**
 * Parses flags as Go's `flag` package (and so cfssl) spells them: `-name=value`, `-name value`,
 * `--name` too, booleans bare or `=true|false`. Unlike Go, a flag after the arguments is still a
 * flag (`json -bare ca -force`, as the usage lines show it), never a silently ignored argument;
 * `--` ends the flags. More arguments than the command takes are an error.
 */
export function parseGoFlags(argv: readonly string[], spec: GoFlagSpec, command: string, maxArgs: number): GoFlags {
  const out: GoFlags = { values: {}, bools: new Set(), args: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      out.args.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const kind = spec[name];
    if (!kind) throw new InputError(`flag provided but not defined: -${name}`, { field: command }, { hint: `run: dk-bootstrap ${command} -help` });
    if (kind === "bool") {
      const v = eq < 0 ? "true" : body.slice(eq + 1);
      if (v !== "true" && v !== "false") throw new InputError(`invalid boolean value for -${name}`, { field: command, value: v });
      if (v === "true") out.bools.add(name);
      else out.bools.delete(name);
    } else if (eq >= 0) out.values[name] = body.slice(eq + 1);
    else {
      const v = argv[++i];
      if (v === undefined) throw new InputError(`flag needs an argument: -${name}`, { field: command });
      out.values[name] = v;
    }
  }
  if (out.args.length > maxArgs)
    throw new InputError(
      maxArgs === 0 ? "takes no arguments" : `takes at most ${maxArgs} argument${maxArgs === 1 ? "" : "s"}`,
      {
        field: command,
        value: out.args.slice(maxArgs).join(" "),
      },
      { hint: `run: dk-bootstrap ${command} -help` },
    );
  return out;
}
