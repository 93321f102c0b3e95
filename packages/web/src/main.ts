/**
 * The page: a form that makes the cluster PKI and its kubeconfigs in the browser, a download of
 * cluster.tar.gz, and the drawing of any cluster folder made here, dropped here, or served by
 * `dk-bootstrap web DIR`. Nothing leaves the page: its Content-Security-Policy allows no connection.
 */
import { DkError, InputError, fromBase64 } from "@dk-bootstrap/pki";
import { showDetails } from "./details.js";
import { h } from "./dom.js";
import { drawSurvey } from "./draw.js";
import { type FileSet, dropItems, filesOfDrop, filesOfInput } from "./drop.js";
import { clusterArchive, makeClusterFiles } from "./make.js";
import { FIELDS, type FormValues, type Settings, settingsOf, valuesOfClusterYaml } from "./settings.js";
import { type CertView, clusterPaths, survey } from "./survey.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const idOf = (flag: string) => flag.replace(/^-+/, "");

let archiveUrl: string | undefined;

function buildForm(): void {
  const fields = $("fields");
  for (const f of FIELDS) {
    const id = idOf(f.flag);
    const input = f.choices
      ? h(
          "select",
          { id, name: id, "aria-describedby": `${id}-help` },
          ...f.choices.map((c) => h("option", { value: c, ...(c === f.default ? { selected: "" } : {}) }, c)),
        )
      : h("input", { id, name: id, type: "text", value: f.default, autocomplete: "off", spellcheck: "false", "aria-describedby": `${id}-help` });
    fields.append(h("div", { class: "field-row" }, h("label", { for: id }, f.label), input, h("small", { id: `${id}-help` }, `${f.flag} — ${f.help}`)));
  }
}

function formValues(): FormValues {
  return Object.fromEntries(FIELDS.map((f) => [f.flag, ($(idOf(f.flag)) as HTMLInputElement).value]));
}

/** Says what is wrong the way the CLI does (`error: …`, `hint: …`) and marks the field. */
function showError(e: unknown): void {
  const box = $("form-error");
  for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const err = e instanceof Error ? e : new Error(String(e));
  const lines = [`error: ${err.message.split("\n")[0]}`];
  if (e instanceof DkError && e.hint) lines.push(`hint: ${e.hint}`);
  box.textContent = lines.join("\n");
  box.hidden = false;
  if (e instanceof InputError && e.field) {
    const input = document.getElementById(idOf(e.field));
    input?.setAttribute("aria-invalid", "true");
    input?.focus();
  }
  if (!(e instanceof DkError)) console.error(e);
}

async function make(): Promise<void> {
  const status = $("status");
  $("form-error").hidden = true;
  let settings: Settings;
  try {
    settings = settingsOf(formValues());
  } catch (e) {
    showError(e);
    return;
  }
  const button = $<HTMLButtonElement>("make");
  button.disabled = true;
  status.textContent = "Making the cluster PKI…";
  try {
    const started = performance.now();
    const now = new Date();
    const files = await makeClusterFiles(settings, now);
    const archive = await clusterArchive(files, now);
    if (archiveUrl) URL.revokeObjectURL(archiveUrl);
    archiveUrl = URL.createObjectURL(new Blob([archive as Uint8Array<ArrayBuffer>], { type: "application/gzip" }));
    const link = $<HTMLAnchorElement>("download");
    link.href = archiveUrl;
    link.hidden = false;
    const ms = performance.now() - started;
    status.textContent = `Made ${files.length} files in ${ms.toFixed(0)} ms: download cluster.tar.gz, or look at the drawing below.`;
    document.body.dataset.madeMs = ms.toFixed(1);
    await show(new Map(files.map((f) => [f.path, f.content])), settings);
  } catch (e) {
    showError(e);
    status.textContent = "";
  } finally {
    button.disabled = false;
  }
}

/**
 * Surveys and draws a folder against its plan: the settings it was made with (its cluster.yaml, which also fills
 * the form), else the form's.
 */
async function show(files: FileSet, settings?: Settings): Promise<void> {
  let plan = settings;
  const saved = clusterPaths(files).get("cluster.yaml");
  if (!plan && saved) {
    try {
      const values = valuesOfClusterYaml(new TextDecoder().decode(saved));
      plan = settingsOf(values);
      for (const f of FIELDS) ($(idOf(f.flag)) as HTMLInputElement).value = values[f.flag] ?? f.default;
    } catch (e) {
      $("drop-status").textContent = `cluster.yaml: ${(e as Error).message}; checked against the form instead`;
    }
  }
  if (!plan) {
    try {
      plan = settingsOf(formValues());
    } catch {
      plan = settingsOf({});
    }
  }
  const now = new Date();
  const s = await survey(files, plan.spec, now);
  const details = $("details");
  // A selected certificate stays in the panel; hovering another shows it until the pointer leaves.
  let selected: CertView | undefined;
  const drawing = drawSurvey(s, now, {
    show: (v) => void showDetails(details, v),
    select: (v) => {
      selected = v;
      void showDetails(details, v);
    },
    leave: () => selected && void showDetails(details, selected),
  });
  $("drawing").replaceChildren(drawing);
  document.body.dataset.drawn = String(Date.now());
}

/** Reads and draws files; `note` says what the reader left out of them. */
async function load(what: Promise<FileSet>, note?: string): Promise<void> {
  const status = $("drop-status");
  try {
    const files = await what;
    status.textContent = `Read ${files.size} files, in this page only${note ? `; ${note}` : ""}.`;
    await show(files);
  } catch (e) {
    status.textContent = `error: ${(e as Error).message}`;
  }
}

function wireDrop(): void {
  const zone = $("drop");
  const over = (on: boolean) => (e: Event) => {
    e.preventDefault();
    zone.classList.toggle("over", on);
  };
  for (const t of [zone, document.body]) {
    t.addEventListener("dragover", over(true));
    t.addEventListener("dragleave", over(false));
  }
  document.body.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    void load(filesOfDrop(dropItems(e.dataTransfer)));
  });
  for (const id of ["pick-files", "pick-folder"]) {
    const input = $<HTMLInputElement>(id);
    input.addEventListener("change", () => input.files && void load(filesOfInput([...input.files])));
  }
}

/**
 * `dk-bootstrap web DIR` embeds the folder's files in the page it serves, base64 by path: no request is needed to read them;
 * and, when it left files out (too big for a cluster folder's), says which in a second block.
 */
function embeddedFolder(): { files: FileSet; leftOut?: string } | undefined {
  const el = document.getElementById("dk-folder");
  if (!el?.textContent?.trim()) return undefined;
  const files = JSON.parse(el.textContent) as Record<string, string>;
  const leftOut = document.getElementById("dk-left-out")?.textContent;
  return {
    files: new Map(Object.entries(files).map(([p, b64]) => [p, fromBase64(b64)])),
    ...(leftOut ? { leftOut: JSON.parse(leftOut) as string } : {}),
  };
}

buildForm();
wireDrop();
$("pki-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void make();
});
const folder = embeddedFolder();
if (folder) void load(Promise.resolve(folder.files), folder.leftOut);
document.body.dataset.ready = "true";
