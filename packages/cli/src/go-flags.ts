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
 * Parses flags the way Go's `flag` package (and so cfssl) does: `-name=value`, `-name value`,
 * `--name` too, booleans bare or `=true|false`, flags stop at the first non-flag or `--`.
 */
export function parseGoFlags(argv: readonly string[], spec: GoFlagSpec, command: string): GoFlags {
  const out: GoFlags = { values: {}, bools: new Set(), args: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      out.args.push(...argv.slice(i));
      break;
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
  return out;
}
