import { InputError } from "@dk-bootstrap/pki";

/** A piece of shell text whose interpolated values are already quoted. */
export class Shell {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const SAFE = /^[\w/.\-+@:=,%]+$/;

/**
 * Quotes a value for any POSIX shell (sh, dash, bash, zsh): left bare when it only holds safe
 * characters, else in single quotes with `'` written as `'\''`. NUL cannot be passed in a shell word.
 */
export function quote(value: string): string {
  if (value.includes("\0")) throw new InputError("a shell argument cannot hold a NUL byte", { value: value.replace(/\0/g, "\\0") });
  if (value === "") return "''";
  if (SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A value `sh` can interpolate: text and numbers are quoted, arrays element by element, `Shell` pieces go in as they are. */
export type ShellValue = string | number | Shell | readonly (string | number | Shell)[];

function one(v: string | number | Shell): string {
  return v instanceof Shell ? v.text : quote(String(v));
}

/**
 * zx-style template: the literal text is shell, every `${value}` is quoted, so a path with spaces
 * or a `;` stays one argument. `sh\`mkdir -p ${dir}\``.
 */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): Shell {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += Array.isArray(v) ? (v as (string | number | Shell)[]).map(one).join(" ") : one(v as string | number | Shell);
    out += strings[i + 1]!;
  });
  return new Shell(out);
}

/** Shell text taken as it is (for text the code itself wrote, never for user values). */
export function raw(text: string): Shell {
  return new Shell(text);
}

/** Joins shell pieces, one per line. */
export function lines(parts: readonly Shell[]): Shell {
  return new Shell(parts.map((p) => p.text).join("\n"));
}
