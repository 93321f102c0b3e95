// Type-checks TypeScript as a user's strict ESM project would, against the packages as built (their dist .d.ts):
// what the README promises and what the typed API refuses are both compile-time facts, so they are tested here.
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "..");

/** The compiler options of a strict user project on Node: ESM through `NodeNext`, Node's types. */
export const USER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2023.d.ts"],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ["node"],
  noEmit: true,
  skipLibCheck: true,
};

/**
 * Type-checks `files` (name → source, each its own ES module) as if they sat in `dir` (the repository root by
 * default, so `@dk-bootstrap/*` resolve to the workspace's built packages; an installed app's folder to check the
 * tarballs). Nothing is written. Returns one line per diagnostic: `name(line,col): TS1234 message`.
 */
export function typecheck(files: Record<string, string>, dir: string = ROOT, options: ts.CompilerOptions = USER_OPTIONS): string[] {
  const virtual = new Map(Object.entries(files).map(([name, text]) => [join(dir, name), text]));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (file, lang, ...rest) => {
    const text = virtual.get(file);
    return text === undefined ? getSourceFile.call(host, file, lang, ...rest) : ts.createSourceFile(file, text, lang);
  };
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file);
  host.readFile = (file) => virtual.get(file) ?? readFile.call(host, file);
  host.getCurrentDirectory = () => dir;
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || d.start === undefined) return `TS${d.code} ${message}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const name = virtual.has(d.file.fileName) ? relative(dir, d.file.fileName) : d.file.fileName;
    return `${name}(${line + 1},${character + 1}): TS${d.code} ${message}`;
  });
}
