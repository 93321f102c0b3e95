/**
 * Who dials whom, drawn: the clients on the left, the servers on the right, one arrow per TLS connection in the
 * colour of the CA both ends check each other with; a connection whose client certificate is expired or wrong is
 * dashed. The table beside it says the same in text.
 */
import type { CaName } from "@dk-bootstrap/pki";
import { TRUSTS } from "./components.js";
import type { CertView } from "./survey.js";

const NS = "http://www.w3.org/2000/svg";

/** Each CA's colour (7:1 or more on white), in the arrows and the legend. */
export const CA_COLOURS: Record<CaName, string> = { ca: "#0b4f96", "etcd/ca": "#7a4300", "front-proxy-ca": "#5e2780" };

const ROW = 36;
const BOX_W = 210;
const WIDTH = 680;

function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...children: (SVGElement | string)[]
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

/** The diagram; `byName` gives each presented certificate's standing. */
export function trustDiagram(byName: Map<string, CertView>): SVGSVGElement {
  const clients = [...new Set(TRUSTS.map((t) => t.client))];
  const servers = [...new Set(TRUSTS.map((t) => t.server))];
  const rows = Math.max(clients.length, servers.length);
  const height = rows * ROW + 50;
  const yOf = (list: string[], name: string) => {
    const offset = ((rows - list.length) * ROW) / 2;
    return 30 + offset + list.indexOf(name) * ROW + ROW / 2;
  };
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`,
    class: "trust-diagram",
    role: "img",
    "aria-label": "Who dials whom: the table below says the same",
  });
  svg.append(el("title", {}, "Who dials whom, coloured by the CA each side checks the other with"));
  svg.append(el("text", { x: 8, y: 18, class: "heading" }, "clients"), el("text", { x: WIDTH - BOX_W, y: 18, class: "heading" }, "servers"));
  for (const t of TRUSTS) {
    const y1 = yOf(clients, t.client);
    const y2 = yOf(servers, t.server);
    const standing = byName.get(t.presents)?.standing ?? "ok";
    const colour = CA_COLOURS[t.checkedWith];
    const path = el("path", {
      d: `M ${BOX_W + 8} ${y1} C ${WIDTH / 2} ${y1}, ${WIDTH / 2} ${y2}, ${WIDTH - BOX_W - 14} ${y2}`,
      fill: "none",
      stroke: colour,
      "stroke-width": 2,
      "marker-end": `url(#arrow-${t.checkedWith.replace("/", "-")})`,
      "data-presents": t.presents,
      ...(standing === "ok" || standing === "soon" ? {} : { "stroke-dasharray": "6 4", class: "broken" }),
    });
    path.append(el("title", {}, `${t.client} → ${t.server}: presents ${t.presents}, checked with ${t.checkedWith} (${standing})`));
    svg.append(path);
  }
  const defs = el("defs", {});
  for (const [ca, colour] of Object.entries(CA_COLOURS))
    defs.append(
      el(
        "marker",
        { id: `arrow-${ca.replace("/", "-")}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: colour }),
      ),
    );
  svg.prepend(defs);
  const box = (x: number, y: number, name: string) =>
    el("g", {}, el("rect", { x, y: y - 12, width: BOX_W, height: 24, rx: 4, class: "box" }), el("text", { x: x + 8, y: y + 5 }, name));
  for (const c of clients) svg.append(box(8, yOf(clients, c), c));
  for (const s of servers) svg.append(box(WIDTH - BOX_W - 8, yOf(servers, s), s));
  let x = 8;
  for (const [ca, colour] of Object.entries(CA_COLOURS)) {
    svg.append(
      el("rect", { x, y: height - 16, width: 14, height: 4, fill: colour }),
      el("text", { x: x + 20, y: height - 10, class: "legend" }, `checked with ${ca}`),
    );
    x += 200;
  }
  return svg;
}
