import { InputError } from "./errors.js";

/**
 * Parses JSON text, turning a syntax error into one line with the file, line and column.
 * Used for every JSON file a user hands us (cfssl CSR and config files).
 */
export function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = "";
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split("\n").length;
      where = ` at line ${line} column ${before.length - before.lastIndexOf("\n")}`;
      if (Number(pos[1]) >= text.trimEnd().length) where += " (the file ends early: truncated?)";
    } else if (/end of JSON input/i.test(msg)) where = " (the file ends early: truncated?)";
    throw new InputError(`malformed JSON${where}: ${msg.replace(/ in JSON at position \d+.*$/, "")}`, { file });
  }
}

/**
 * A tiny reader over an untyped JSON object that reports bad fields by their dotted path. Keys match as Go's
 * encoding/json matches them (cfssl reads its files with it): exactly, else case-insensitively (`"cn"` is `CN`).
 */
export class Fields {
  constructor(
    readonly obj: Record<string, unknown>,
    readonly file: string,
    readonly path = "",
  ) {}

  /** Wraps a parsed value, which must be an object. */
  static of(value: unknown, file: string, path = ""): Fields {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InputError("expected a JSON object", { file, field: path || undefined, value: Array.isArray(value) ? "array" : value });
    }
    return new Fields(value as Record<string, unknown>, file, path);
  }

  /** The value of a key, found as Go finds it: the exact key, else the first that differs only in case. */
  get(key: string): unknown {
    if (Object.hasOwn(this.obj, key)) return this.obj[key];
    const lower = key.toLowerCase();
    const match = Object.keys(this.obj).find((k) => k.toLowerCase() === lower);
    return match === undefined ? undefined : this.obj[match];
  }

  /** True when the object has the key (in any case) with a value other than null. */
  has(key: string): boolean {
    const v = this.get(key);
    return v !== undefined && v !== null;
  }

  /** Dotted path of a child field. */
  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The error for a bad child field. */
  error(key: string, problem: string, value?: unknown): InputError {
    return new InputError(problem, { file: this.file, field: this.at(key), value });
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw this.error(key, "expected a string", v);
    return v;
  }

  number(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.error(key, "expected a number", v);
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw this.error(key, "expected true or false", v);
    return v;
  }

  strings(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw this.error(key, "expected a list of strings", v);
    v.forEach((s, i) => {
      if (typeof s !== "string") throw this.error(`${key}[${i}]`, "expected a string", s);
    });
    return v as string[];
  }

  object(key: string): Fields | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    return Fields.of(v, this.file, this.at(key));
  }

  objects(key: string): Fields[] {
    const v = this.get(key);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.error(key, "expected a list of objects", v);
    return v.map((item, i) => Fields.of(item, this.file, `${this.at(key)}[${i}]`));
  }
}
