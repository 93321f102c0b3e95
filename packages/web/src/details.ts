/** A certificate's details as `dk-bootstrap certinfo -cert FILE` (cfssl's certinfo) prints them, with what the survey found. */
import { certinfoJson } from "@dk-bootstrap/pki";
import { h } from "./dom.js";
import type { CertView } from "./survey.js";

/** Fills `panel` with `view`'s details; a later call wins over one still computing. */
export async function showDetails(panel: HTMLElement, view: CertView): Promise<void> {
  const token = String(Math.random());
  panel.dataset.token = token;
  const json = JSON.stringify(await certinfoJson(view.cert), null, 2);
  if (panel.dataset.token !== token) return;
  panel.replaceChildren(
    h("h3", {}, view.name, " ", h("span", { class: `badge ${view.standing}` }, view.standing === "ok" ? "valid" : view.standing)),
    h("p", {}, h("code", {}, view.file), view.hasKey ? " with its key" : " (no key here)", view.def ? ` — ${view.def.purpose}` : ""),
    view.problems.length > 0
      ? h(
          "ul",
          { class: "problems" },
          view.problems.map((p) => h("li", {}, p)),
        )
      : "",
    h("pre", { class: "certinfo", tabindex: "0", "aria-label": "certinfo output" }, json),
  );
}
