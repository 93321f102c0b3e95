/** A small element builder: text goes in as text nodes, never as HTML, since dropped files are anyone's. */
export type Child = Node | string | false | undefined | null;

/** `h("li", { class: "x" }, "text", child)`: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== false && c !== undefined && c !== null) el.append(c);
  return el;
}
