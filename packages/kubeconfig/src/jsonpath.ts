import { InputError, utf8 } from "@dk-bootstrap/pki";
import { goFloat, goJson } from "./json.js";
import { GoInt, type ListNode, type Node, type Param, ParseError, Parser } from "./jsonpath-parse.js";

/**
 * kubectl's JSONPath templates, ported from k8s.io/client-go/util/jsonpath (parser.go, jsonpath.go)
 * with their quirks: text with `{...}` actions; `.field`, `['field']`, `$`/`@`, `..field`, `*`;
 * `[i]`, `[-1]`, `[a:b:step]`, `[i,j]` (out of range is an error); filters `[?(@.a=="x")]`, `[?(@.a)]`
 * with `== != < > <= >=` under Go template's typed comparisons; `{range ...}...{end}`; quoted
 * literals (`{"\n"}`, `{'x'}`); a missing key gives nothing (kubectl's --allow-missing-template-keys).
 * Where Go iterates a map in random order (`*` and `..` over a map) keys go in sorted order.
 */
class ExecError extends Error {}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof GoInt);
/** What Go's %v of the value's type says in "is not array or slice". */
const goType = (v: unknown) =>
  Array.isArray(v) ? "[]interface {}" : isMap(v) ? "map[string]interface {}" : typeof v === "number" ? "float64" : v instanceof GoInt ? "int" : typeof v;

/** The children of a value for `*` and `..`: a map's values (keys sorted), a list's items, a string's bytes. */
function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isMap(v))
    return Object.keys(v)
      .sort()
      .map((k) => v[k]);
  if (typeof v === "string") return [...utf8(v)].map((b) => new GoInt(b));
  return [];
}

/** Go template's basicKind, for the typed comparisons of filters. */
function kind(v: unknown): "bool" | "int" | "float" | "string" {
  if (typeof v === "boolean") return "bool";
  if (v instanceof GoInt) return "int";
  if (typeof v === "number") return "float";
  if (typeof v === "string") return "string";
  throw new ExecError("invalid type for comparison");
}

function compare(a: unknown, op: string, b: unknown): boolean {
  const [ka, kb] = [kind(a), kind(b)];
  if (ka !== kb) throw new ExecError("incompatible types for comparison");
  const x = a instanceof GoInt ? a.value : (a as number | string | boolean);
  const y = b instanceof GoInt ? b.value : (b as number | string | boolean);
  if (op === "==") return x === y;
  if (op === "!=") return x !== y;
  if (ka === "bool") throw new ExecError("invalid type for comparison");
  switch (op) {
    case "<":
      return x < y;
    case ">":
      return x > y;
    case "<=":
      return x <= y;
    case ">=":
      return x >= y;
  }
  throw new ExecError(`unrecognized filter operator ${op}`);
}

/** The evaluator, with client-go's range bookkeeping (a range runs the nodes after it, up to its end, once per result). */
class Executor {
  private beginRange = 0;
  private inRange = 0;
  private endRange = 0;
  private lastEnd: Node | undefined;

  findResults(data: unknown, nodes: Node[]): unknown[][] {
    const full: unknown[][] = [];
    for (let i = 0; i < nodes.length; i++) {
      const results = this.walk([data], nodes[i]!);
      if (this.endRange > 0 && this.endRange <= this.inRange) {
        this.endRange--;
        this.lastEnd = nodes[i];
        break;
      }
      if (this.beginRange > 0) {
        this.beginRange--;
        this.inRange++;
        if (results.length > 0) for (const v of results) full.push(...this.findResults(v, nodes.slice(i + 1)));
        else this.findResults(null, nodes.slice(i + 1));
        this.inRange--;
        for (let k = i + 1; k < nodes.length; k++) {
          if (nodes[k] === this.lastEnd) {
            i = k;
            break;
          }
        }
        continue;
      }
      full.push(results);
    }
    return full;
  }

  private walk(input: unknown[], node: Node): unknown[] {
    switch (node.t) {
      case "list":
        return node.nodes.reduce((cur, n) => this.walk(cur, n), input);
      case "text":
        return [node.text];
      case "field":
        // A null holds no fields; a missing key gives nothing (kubectl allows missing keys).
        return input.filter(isMap).flatMap((v) => (Object.hasOwn(v, node.name) ? [v[node.name]] : []));
      case "array":
        return input.flatMap((v) => this.array(v, node.params));
      case "filter":
        return input.flatMap((v) => this.filter(v, node));
      case "int":
        return input.map(() => new GoInt(node.value));
      case "float":
      case "bool":
        return input.map(() => node.value);
      case "wildcard":
        return input.flatMap(children);
      case "recursive":
        return this.recursive(input);
      case "union":
        return node.lists.flatMap((l) => this.walk(input, l));
      case "identifier":
        if (node.name === "range") {
          this.beginRange++;
          return input;
        }
        if (node.name === "end") {
          if (this.inRange === 0) throw new ExecError("not in range, nothing to end");
          this.endRange++;
          return [];
        }
        throw new ExecError(`unrecognized identifier ${node.name}`);
    }
  }

  private array(v: unknown, p: Param[]): unknown[] {
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v)) throw new ExecError(`${goType(v)} is not array or slice`);
    const n = v.length;
    let start = p[0]!.known ? p[0]!.value : 0;
    if (start < 0) start += n;
    let end = p[1]!.known ? p[1]!.value : n;
    if (end < 0 || (end === 0 && p[1]!.derived)) end += n;
    if (end === start) return [];
    if (start >= n || start < 0) throw new ExecError(`array index out of bounds: index ${start}, length ${n}`);
    if (end > n || end < 0) throw new ExecError(`array index out of bounds: index ${end - 1}, length ${n}`);
    if (start > end) throw new ExecError(`starting index ${start} is greater than ending index ${end}`);
    let step = 1;
    if (p[2]!.known) {
      if (p[2]!.value <= 0) throw new ExecError("step must be > 0");
      step = p[2]!.value;
    }
    const out: unknown[] = [];
    for (let i = start; i < end; i += step) out.push(v[i]);
    return out;
  }

  private filter(v: unknown, node: Extract<Node, { t: "filter" }>): unknown[] {
    if (!Array.isArray(v)) throw new ExecError(`${goType(v)} is not array or slice and cannot be filtered`);
    return v.filter((item) => {
      if (node.op === "exists") {
        try {
          return this.walk([item], node.left).length > 0;
        } catch {
          return false;
        }
      }
      const lefts = this.walk([item], node.left);
      if (lefts.length === 0) return false;
      if (lefts.length > 1) throw new ExecError("can only compare one element at a time");
      const rights = this.walk([item], node.right);
      if (rights.length === 0) return false;
      if (rights.length > 1) throw new ExecError("can only compare one element at a time");
      return compare(lefts[0], node.op, rights[0]);
    });
  }

  private recursive(input: unknown[]): unknown[] {
    const out: unknown[] = [];
    for (const v of input) {
      if (v === null || v === undefined) continue;
      const kids = children(v);
      if (kids.length > 0) out.push(v, ...this.recursive(kids));
    }
    return out;
  }
}

/** One result as client-go prints it: maps and lists as compact JSON, scalars as text. */
function text(v: unknown): string {
  if (v instanceof GoInt) return String(v.value);
  if (typeof v === "object" && v !== null) return goJson(v);
  if (v === null || v === undefined) return "null";
  if (typeof v === "number") return goFloat(v);
  return String(v);
}

/** Parses a template, refusing it as kubectl would: `error parsing jsonpath TEMPLATE, WHY`. */
export function parseJsonPath(template: string): void {
  compile(template);
}

function compile(template: string): ListNode {
  try {
    return new Parser(template).parse();
  } catch (e) {
    if (e instanceof ParseError) throw new InputError(`error parsing jsonpath ${template}, ${e.message}`);
    throw e;
  }
}

/** Evaluates a kubectl JSONPath template against a JSON value, as `kubectl ... -o jsonpath=TEMPLATE` prints it. */
export function jsonPath(template: string, data: unknown): string {
  const root = compile(template);
  try {
    return new Executor()
      .findResults(data, root.nodes)
      .map((results) => results.map(text).join(" "))
      .join("");
  } catch (e) {
    if (e instanceof ExecError) throw new InputError(`error executing jsonpath ${JSON.stringify(template)}: Error executing template: ${e.message}`);
    throw e;
  }
}
