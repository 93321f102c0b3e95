/**
 * The parser of kubectl's JSONPath templates, ported from k8s.io/client-go/util/jsonpath/parser.go:
 * the same nodes, the same errors, the same leniencies (an unclosed range, text after the last action).
 */
export type Node =
  | { t: "list"; nodes: Node[] }
  | { t: "text"; text: string }
  | { t: "field"; name: string }
  | { t: "array"; params: Param[] }
  | { t: "filter"; left: Node; right: Node; op: string }
  | { t: "int"; value: number }
  | { t: "float"; value: number }
  | { t: "bool"; value: boolean }
  | { t: "wildcard" }
  | { t: "recursive" }
  | { t: "union"; lists: Node[] }
  | { t: "identifier"; name: string };
export interface Param {
  known: boolean;
  value: number;
  derived?: boolean;
}
export type ListNode = Extract<Node, { t: "list" }>;

/** A Go int from the template (`{5}`, `[?(@.a==5)]`): Go compares it with JSON numbers (float64) as a different kind. */
export class GoInt {
  constructor(readonly value: number) {}
}

export class ParseError extends Error {}

const isTerminator = (r: string) => r === "" || " \t\r\n.,[]$@{}".includes(r);
const isAlphaNumeric = (r: string) => /^[\p{L}\p{Nd}_]$/u.test(r);
const SLICE = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/;
const DICT_KEY = /^'([^']*)'$/;
const FILTER = /^([^!<>=]+)([!<>=]+)(.+?)$/s;

/** client-go's recursive-descent parser over runes; every action becomes a list node of the root. */
export class Parser {
  root: ListNode = { t: "list", nodes: [] };
  private pos = 0;
  private start = 0;
  private width = 0;
  constructor(private readonly input: string) {}

  parse(): ListNode {
    this.parseText(this.root);
    return this.root;
  }
  private consume(): string {
    const v = this.input.slice(this.start, this.pos);
    this.start = this.pos;
    return v;
  }
  private next(): string {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return "";
    }
    const r = String.fromCodePoint(this.input.codePointAt(this.pos)!);
    this.width = r.length;
    this.pos += r.length;
    return r;
  }
  private peek(): string {
    const r = this.next();
    this.pos -= this.width;
    return r;
  }
  private rest(): string {
    return this.input.slice(this.pos);
  }

  private parseText(cur: ListNode): void {
    for (;;) {
      if (this.rest().startsWith("{")) {
        if (this.pos > this.start) cur.nodes.push({ t: "text", text: this.consume() });
        this.pos += 1;
        this.consume();
        const list: ListNode = { t: "list", nodes: [] };
        cur.nodes.push(list);
        return this.inside(list);
      }
      if (this.next() === "") break;
    }
    if (this.pos > this.start) cur.nodes.push({ t: "text", text: this.consume() });
  }

  private inside(cur: ListNode): void {
    for (;;) {
      const rest = this.rest();
      if (rest.startsWith("}")) {
        this.pos += 1;
        this.consume();
        return this.parseText(this.root);
      }
      if (rest.startsWith("[?(")) this.parseFilter(cur);
      else if (rest.startsWith("..")) this.parseRecursive(cur);
      else {
        const r = this.next();
        if (r === "" || r === "\r" || r === "\n") throw new ParseError("unclosed action");
        if (r === " " || r === "@" || r === "$") this.consume();
        else if (r === "[") this.parseArray(cur);
        else if (r === '"' || r === "'") this.parseQuote(cur, r);
        else if (r === ".") this.parseField(cur);
        else if (r === "+" || r === "-" || /^\p{Nd}$/u.test(r)) {
          this.pos -= this.width;
          this.parseNumber(cur);
        } else if (isAlphaNumeric(r)) {
          this.pos -= this.width;
          this.parseIdentifier(cur);
        } else {
          const cp = r.codePointAt(0)!;
          throw new ParseError(`unrecognized character in action: U+${cp.toString(16).toUpperCase().padStart(4, "0")} '${r}'`);
        }
      }
    }
  }

  private parseIdentifier(cur: ListNode): void {
    while (!isTerminator(this.next()));
    if (this.width > 0) this.pos -= this.width;
    const value = this.consume();
    cur.nodes.push(value === "true" || value === "false" ? { t: "bool", value: value === "true" } : { t: "identifier", name: value });
  }

  private parseRecursive(cur: ListNode): void {
    if (cur.nodes.at(-1)?.t === "recursive") throw new ParseError("invalid multiple recursive descent");
    this.pos += 2;
    this.consume();
    cur.nodes.push({ t: "recursive" });
    if (isAlphaNumeric(this.peek())) this.parseField(cur);
  }

  private parseNumber(cur: ListNode): void {
    const r = this.peek();
    if (r === "+" || r === "-") this.next();
    for (;;) {
      const c = this.next();
      if (c !== "." && !/^\p{Nd}$/u.test(c)) {
        if (this.width > 0) this.pos -= this.width;
        break;
      }
    }
    const value = this.consume();
    if (/^[-+]?\d+$/.test(value)) cur.nodes.push({ t: "int", value: Number(value) });
    else if (/^[-+]?(\d+\.?\d*|\.\d+)$/.test(value)) cur.nodes.push({ t: "float", value: Number(value) });
    else throw new ParseError(`cannot parse number ${value}`);
  }

  private parseArray(cur: ListNode): void {
    for (;;) {
      const r = this.next();
      if (r === "" || r === "\n") throw new ParseError("unterminated array");
      if (r === "]") break;
    }
    let text = this.consume().slice(1, -1);
    if (text === "*") text = ":";
    const parts = text.split(",");
    if (parts.length > 1) {
      cur.nodes.push({ t: "union", lists: parts.map((s) => parseAction(`[${s.trim()}]`)) });
      return;
    }
    const key = DICT_KEY.exec(text);
    if (key) {
      cur.nodes.push(...parseAction(`.${key[1]}`).nodes);
      return;
    }
    const m = SLICE.exec(text);
    if (!m) throw new ParseError(`invalid array index ${text}`);
    const params: Param[] = [];
    for (let i = 0; i < 3; i++) {
      let v = m[i + 1] ?? "";
      if (v !== "") {
        if (i > 0) v = v.slice(1);
        if (i > 0 && v === "") params.push({ known: false, value: 0 });
        else {
          if (!/^-?\d+$/.test(v)) throw new ParseError(`array index ${v} is not a number`);
          params.push({ known: true, value: Number(v) });
        }
      } else if (i === 1) params.push({ known: true, value: params[0]!.value + 1, derived: true });
      else params.push({ known: false, value: 0 });
    }
    cur.nodes.push({ t: "array", params });
  }

  private parseFilter(cur: ListNode): void {
    this.pos += 3;
    this.consume();
    let begin = false;
    let end = false;
    let pair = "";
    for (;;) {
      const r = this.next();
      if (r === "" || r === "\n") throw new ParseError("unterminated filter");
      if (r === '"' || r === "'") {
        if (!begin) {
          begin = true;
          pair = r;
          continue;
        }
        if (this.input[this.pos - 2] !== "\\" && r === pair) end = true;
      } else if (r === ")" && begin === end) break;
    }
    if (this.next() !== "]") throw new ParseError("unclosed array expect ]");
    const text = this.consume().slice(0, -2);
    const m = FILTER.exec(text);
    if (!m) cur.nodes.push({ t: "filter", left: parseAction(text), right: { t: "list", nodes: [] }, op: "exists" });
    else cur.nodes.push({ t: "filter", left: parseAction(m[1]!), right: parseAction(m[3]!), op: m[2]! });
  }

  private parseQuote(cur: ListNode, quote: string): void {
    for (;;) {
      const r = this.next();
      if (r === "" || r === "\n") throw new ParseError("unterminated quoted string");
      if (r === quote && this.input[this.pos - 2] !== "\\") break;
    }
    const value = this.consume();
    const s = unquote(value);
    if (s === undefined) throw new ParseError(`unquote string ${value} error invalid syntax`);
    cur.nodes.push({ t: "text", text: s });
  }

  private parseField(cur: ListNode): void {
    this.consume();
    for (;;) {
      const r = this.next();
      if (r === "\\") this.next();
      else if (isTerminator(r)) {
        if (this.width > 0) this.pos -= this.width;
        break;
      }
    }
    const value = this.consume();
    cur.nodes.push(value === "*" ? { t: "wildcard" } : { t: "field", name: value.replaceAll("\\", "") });
  }
}

/** One action parsed alone (union members, dict keys, filter sides). */
function parseAction(text: string): ListNode {
  return new Parser(`{${text}}`).parse().nodes[0] as ListNode;
}

/** client-go's UnquoteExtend: strconv.Unquote's escapes, in double or single quotes. */
function unquote(s: string): string | undefined {
  const q = s[0];
  if (s.length < 2 || (q !== '"' && q !== "'") || s.at(-1) !== q) return undefined;
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", "'": "'", '"': '"' };
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === q) return undefined;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return undefined;
    if (e in simple && (e !== "'" || q === "'") && (e !== '"' || q === '"')) out += simple[e];
    else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return undefined;
      out += String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else if (/[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return undefined;
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else return undefined;
  }
  return out;
}
