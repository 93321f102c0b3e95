/**
 * The one error hierarchy of dk-bootstrap. Every package throws subclasses of {@link DkError};
 * only the CLI turns them into exit statuses and `error: …` / `hint: …` lines.
 */
export class DkError extends Error {
  /** A stable, machine-readable kind, e.g. `INPUT` or `EXISTS`. */
  readonly code: string;
  /** One line telling the user what to do about it, when we know. */
  readonly hint: string | undefined;

  constructor(message: string, code: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** Where a bad value came from: any of a file, a field inside it (dotted path) and the value. */
export interface InputLocation {
  file?: string;
  field?: string;
  value?: unknown;
}

/**
 * Bad input from the user: a file, a flag or a field. The message names where it is,
 * e.g. `ca-csr.json: key.size: RSA key size must be 2048 to 8192 (got 1024)`.
 */
export class InputError extends DkError {
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly value: unknown;

  constructor(problem: string, where: InputLocation = {}, options: { hint?: string; cause?: unknown } = {}) {
    super(formatInputMessage(problem, where), "INPUT", options);
    this.file = where.file;
    this.field = where.field;
    this.value = where.value;
  }
}

function formatInputMessage(problem: string, where: InputLocation): string {
  const place = [where.file, where.field].filter((p) => p !== undefined && p !== "").join(": ");
  const got = where.value === undefined ? "" : ` (got ${JSON.stringify(where.value)})`;
  return `${place ? `${place}: ` : ""}${problem}${got}`;
}

/** A file we would have to overwrite (a CA, a private key) exists and `force` was not given. */
export class FileExistsError extends DkError {
  readonly path: string;
  constructor(path: string, what: string) {
    super(`${path}: ${what} exists, refusing to overwrite it`, "EXISTS", {
      hint: "keep it, or pass --force to replace it",
    });
    this.path = path;
  }
}

/** A certificate or key that is well-formed but unusable: expired CA, key that doesn't match, broken chain. */
export class PkiError extends DkError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, "PKI", options);
  }
}

/** A file or folder the operating system refused us, with the path and what it means in words. */
export class FileSystemError extends DkError {
  readonly path: string;
  constructor(path: string, problem: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`${path}: ${problem}`, "FS", options);
    this.path = path;
  }
}

/**
 * Re-issuing with the new settings would drop names or IPs that existing certificates serve, and
 * `allowNameRemoval` was not given: every such certificate, in the cluster's order, each with what it would lose.
 */
export class NamesDroppedError extends PkiError {
  readonly certificates: readonly { file: string; dropped: readonly string[] }[];
  constructor(certificates: readonly { file: string; dropped: readonly string[] }[]) {
    const [first, ...others] = certificates;
    const also = others.length ? `; so would ${others.map((c) => `${c.file} (${c.dropped.join(", ")})`).join(", ")}` : "";
    super(`${first!.file}: the new settings would drop ${first!.dropped.join(", ")} from its names${also}`, {
      hint: "give them again (--node-name, --node-ip, --service-cidr, --cluster-domain), or pass --allow-name-removal",
    });
    this.certificates = certificates;
  }
}
