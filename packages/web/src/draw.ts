/**
 * The drawing of a surveyed cluster folder: the three CAs, each leaf under its CA with its identity,
 * usages, SANs and expiry; the components with the files they read; who dials whom.
 */
import { type Child, h } from "./dom.js";
import { COMPONENTS, TRUSTS } from "./components.js";
import { trustDiagram } from "./trust-svg.js";
import type { CertView, Standing, Survey } from "./survey.js";

const DAY_MS = 86_400_000;

const STANDING_LABEL: Record<Standing, string> = { ok: "valid", soon: "expires soon", expired: "expired", problem: "problem" };

/** What the drawing calls back: a certificate shown for a while (hover, focus), selected (click, Enter), or left (the pointer went away). */
export interface DrawEvents {
  show(view: CertView): void;
  select(view: CertView): void;
  leave(): void;
}

/** Wires a control to show `v` on hover and focus, and to select it on click. */
function showing<T extends HTMLElement>(el: T, v: CertView, events: DrawEvents): T {
  el.addEventListener("mouseenter", () => events.show(v));
  el.addEventListener("focus", () => events.show(v));
  el.addEventListener("mouseleave", () => events.leave());
  el.addEventListener("click", () => events.select(v));
  return el;
}

/** The drawing of `s` at `now`. */
export function drawSurvey(s: Survey, now: Date, events: DrawEvents): HTMLElement {
  const byName = new Map<string, CertView>();
  for (const a of s.authorities) for (const v of [a.cert, ...a.leaves]) if (v) byName.set(v.name, v);
  const card = (v: CertView, kind: "ca" | "leaf") => certCard(v, kind, now, events);
  const count = [...byName.values()].length + s.others.length;
  return h(
    "div",
    { class: "drawing" },
    h("p", { class: "summary", id: "summary" }, summary(s, count)),
    s.problems.length > 0 &&
      h(
        "ul",
        { class: "problems", "aria-label": "Problems of the folder" },
        s.problems.map((p) => h("li", {}, p)),
      ),
    h(
      "div",
      { class: "authorities" },
      s.authorities.map((a) =>
        h(
          "section",
          { class: "authority", "aria-label": `CA ${a.ca}` },
          h("h3", {}, a.ca, h("span", { class: "purpose" }, a.def.purpose)),
          a.cert ? card(a.cert, "ca") : h("p", { class: "missing" }, `no ${a.ca}.crt`),
          h(
            "ul",
            { class: "leaves" },
            a.leaves.map((v) => h("li", {}, card(v, "leaf"))),
          ),
        ),
      ),
    ),
    s.others.length > 0 &&
      h(
        "section",
        { class: "others", "aria-label": "Other certificates" },
        h("h3", {}, "Other certificates"),
        h(
          "ul",
          { class: "leaves" },
          s.others.map((v) => h("li", {}, card(v, "leaf"))),
        ),
      ),
    h("section", { class: "components", "aria-label": "Components and the files they read" }, h("h3", {}, "Who reads what"), componentCards(s, byName, events)),
    h(
      "section",
      { class: "trusts", "aria-label": "Who trusts whom" },
      h("h3", {}, "Who trusts whom (client → server)"),
      trustDiagram(byName),
      trustTable(byName, events),
    ),
    s.kubeconfigs.length > 0 && h("section", { class: "kubeconfigs", "aria-label": "Kubeconfigs" }, h("h3", {}, "Kubeconfigs"), kubeconfigList(s, events)),
  );
}

function summary(s: Survey, count: number): string {
  const all = [...s.authorities.flatMap((a) => [a.cert, ...a.leaves]), ...s.others].filter((v): v is CertView => v !== undefined);
  const n = (st: Standing) => all.filter((v) => v.standing === st).length;
  return `${count} certificates: ${n("ok")} valid, ${n("soon")} expiring within 30 days, ${n("expired")} expired, ${n("problem")} with problems; ${s.kubeconfigs.length} kubeconfigs.`;
}

function certCard(v: CertView, kind: "ca" | "leaf", now: Date, events: DrawEvents): HTMLElement {
  const i = v.info;
  const left = v.cert.notAfter.getTime() - now.getTime();
  const sans = [...i.sans.dns, ...i.sans.ip, ...i.sans.email, ...i.sans.uri];
  const button = h(
    "button",
    { type: "button", class: `cert ${kind} standing-${v.standing}`, "data-cert": v.name },
    h("span", { class: "name" }, v.name, h("span", { class: `badge ${v.standing}` }, STANDING_LABEL[v.standing])),
    line("CN", i.subject.CN ?? ""),
    (i.subject.O?.length ?? 0) > 0 && line("O", i.subject.O!.join(", ")),
    kind === "leaf" && line("usages", i.extKeyUsage.join(", ") || "none"),
    sans.length > 0 && line("SANs", sans.join(", ")),
    line("expires", `${i.notAfter.toISOString().slice(0, 10)} (${left <= 0 ? `${Math.ceil(-left / DAY_MS)} d ago` : `in ${Math.floor(left / DAY_MS)} d`})`),
    v.problems.length > 0 && h("span", { class: "card-problems" }, v.problems.join("; ")),
  );
  return showing(button, v, events);
}

function line(label: string, value: string): HTMLElement {
  return h("span", { class: "field" }, h("span", { class: "label" }, `${label}: `), value);
}

function certFor(file: string, byName: Map<string, CertView>): CertView | undefined {
  const m = /^pki\/(.+)\.(crt|key)$/.exec(file);
  return m ? byName.get(m[1]!) : undefined;
}

function componentCards(s: Survey, byName: Map<string, CertView>, events: DrawEvents): HTMLElement {
  const conf = new Map(s.kubeconfigs.map((k) => [k.file, k.cert]));
  return h(
    "div",
    { class: "component-grid" },
    COMPONENTS.map((c) =>
      h(
        "div",
        { class: "component" },
        h("h4", {}, c.name),
        h(
          "ul",
          {},
          c.reads.map((r) => {
            const v = certFor(r.file, byName) ?? conf.get(r.file);
            const present = s.files.has(r.file);
            const label: Child[] = [
              h("code", {}, r.file),
              " ",
              h("span", { class: "flag" }, r.as),
              !present && h("span", { class: "badge problem" }, "missing"),
            ];
            if (!v) return h("li", {}, label);
            return h("li", {}, showing(h("button", { type: "button", class: `file standing-${v.standing}`, "data-file": r.file }, ...label), v, events));
          }),
        ),
      ),
    ),
  );
}

function trustTable(byName: Map<string, CertView>, events: DrawEvents): HTMLElement {
  const cell = (name: string) => {
    const v = byName.get(name);
    if (!v) return h("td", {}, name);
    return h("td", {}, showing(h("button", { type: "button", class: `file standing-${v.standing}` }, name), v, events));
  };
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["client", "", "server", "client presents", "both checked with", "server presents"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      TRUSTS.map((t) =>
        h(
          "tr",
          {},
          h("td", {}, t.client),
          h("td", { "aria-hidden": "true" }, "→"),
          h("td", {}, t.server),
          cell(t.presents),
          cell(t.checkedWith),
          cell(t.serves),
        ),
      ),
    ),
  );
}

function kubeconfigList(s: Survey, events: DrawEvents): HTMLElement {
  return h(
    "ul",
    { class: "leaves" },
    s.kubeconfigs.map((k) => {
      const v = k.cert;
      const problems = [...k.problems, ...(v?.problems ?? [])];
      const b = h(
        "button",
        { type: "button", class: `file kubeconfig standing-${v?.standing ?? "problem"}`, "data-kubeconfig": k.file },
        h("code", {}, k.file),
        h("span", {}, `user ${k.user} → ${k.server}`),
        v && h("span", { class: `badge ${v.standing}` }, STANDING_LABEL[v.standing]),
        problems.length > 0 && h("span", { class: "card-problems" }, problems.join("; ")),
      );
      return h("li", {}, v ? showing(b, v, events) : b);
    }),
  );
}
