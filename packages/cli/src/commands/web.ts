import { randomBytes, timingSafeEqual } from "node:crypto";
import { constants } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { join, resolve } from "node:path";
import { CERT_DEFS, FileSystemError, InputError, SA_FILES, WORKSHOP_FILES, certFiles } from "@dk-bootstrap/pki";
import { COMPONENT_KUBECONFIGS } from "@dk-bootstrap/kubeconfig";
import { SETTINGS_FILE } from "../saved-settings.js";
import type { Command } from "commander";

/** The page, built by packages/web and shipped next to the bundle (bundle/web.html). */
const PAGE = new URL("web.html", import.meta.url);

/** A cluster folder's files are small: one over this is left out (said at start and on the page). */
const MAX_FILE_BYTES = 1 << 20;

/** `dk-bootstrap web [DIR | --dir DIR] [--port P]`: serves the page on localhost, opened on DIR's files when given. */
export function registerWeb(program: Command): void {
  program
    .command("web [dir]")
    .summary("the page that makes and draws the cluster PKI in your browser, served on localhost")
    .description(
      "Serves the page (one self-contained file, which also works opened from disk) on 127.0.0.1 only.\n" +
        "With DIR (a cluster folder made by `certs`, or the workshop's made by `certs --workshop`), the page opens on that\n" +
        "folder's files, private keys included (the page checks that each key matches its certificate), at a secret address\n" +
        "printed at start: only this machine can reach the port, and only who has that address gets the page. DIR must be a\n" +
        "cluster folder (cluster.yaml, pki/ca.crt or the workshop's certs/ca.pem); only the files `certs` makes are read (its\n" +
        "certificates, keys, kubeconfigs and cluster.yaml: never any other file of DIR), links and FIFOs are not followed, and\n" +
        "files over 1 MiB are left out: named at start and on the page.",
    )
    // --dir as every other command names the folder (and as cluster-dir.ts reads it: `~`, a pki/ folder given); DIR stays.
    .option("--dir <dir>", "the cluster folder to open the page on (the same as DIR)")
    .option("--port <port>", "the port to listen on (a free one by default)", "0")
    .addHelpText(
      "after",
      "\nExamples:\n  dk-bootstrap web\n  dk-bootstrap web --dir ./cluster --port 8080\n  dk-bootstrap web --dir ./workshop   # certs --workshop's folder",
    )
    .action(async (positional: string | undefined, o: { port: string; dir?: string }) => {
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535) throw new InputError("must be a port number, 0 to 65535", { field: "--port", value: o.port });
      if (positional !== undefined && o.dir !== undefined && resolve(positional) !== resolve(o.dir))
        throw new InputError("names another folder than DIR: give one of them", { field: "--dir", value: o.dir }, { hint: `DIR is ${positional}` });
      const dir = o.dir ?? positional;
      // A bad folder is named by how it was given.
      const folder = dir === undefined ? undefined : await readFolder(dir, o.dir !== undefined ? "--dir" : "DIR");
      const files = folder?.files;
      const leftOut = folder && leftOutNote(folder.leftOut);
      // Said before anything is served: the page, which says it too, may never be opened.
      if (leftOut) process.stderr.write(`warning: ${leftOut}\n`);
      const page = withFolder(await readPage(), files, leftOut);
      // A page holding keys is served at a path only this run knows (printed below): another local user or program that
      // finds the port gets a 404. The page alone, which holds nothing secret, keeps the plain address.
      const path = files ? `/${randomBytes(16).toString("base64url")}/` : "/";
      const address = await serve(page, port, path);
      const what = dir === undefined ? "" : ` with ${files!.size} files of ${dir} (private keys among them: only this machine can reach it)`;
      process.stdout.write(`Serving the page on ${address}${what}\nPress Ctrl-C to stop.\n`);
    });
}

async function readPage(): Promise<string> {
  try {
    return await readFile(PAGE, "utf8");
  } catch {
    throw new FileSystemError(PAGE.pathname, "the page is missing from this install (build packages/web)");
  }
}

/**
 * What marks a folder as a cluster folder (`certs`'s, kubeadm's /etc/kubernetes, or the workshop's of `certs --workshop`):
 * any other folder's keys stay out of the page.
 */
const MARKS = ["cluster.yaml", "pki/ca.crt", WORKSHOP_FILES[0]!.cert];

/**
 * The files `certs` makes, relative to the folder: every certificate of the cluster PKI and its key, the service-account
 * key pair, the component kubeconfigs and the settings file; and those `certs --workshop` makes. Nothing else of DIR is ever read: a project folder that
 * holds a cluster.yaml may also hold `.ssh/id_ed25519` or `.aws/credentials`, and the page is no place for them.
 */
export const CERTS_FILES: readonly string[] = [
  ...CERT_DEFS.flatMap((d) => Object.values(certFiles(d.name))),
  SA_FILES.key,
  SA_FILES.pub,
  ...COMPONENT_KUBECONFIGS.map((k) => k.file),
  SETTINGS_FILE,
  // The workshop's layout (`certs --workshop`), which check-expiration reads too: its CA and admin, cfssl's files.
  ...WORKSHOP_FILES.flatMap((f) => [f.cert, f.key, f.csr]),
];

/** A folder as read: its files of {@link CERTS_FILES} by path relative to it, and those left out as too big, with their sizes. */
interface Folder {
  files: Map<string, Uint8Array>;
  leftOut: { path: string; bytes: number }[];
}

/** DIR's files of {@link CERTS_FILES} that are there as regular files (symbolic links are not followed). */
async function readFolder(dir: string, field: "DIR" | "--dir"): Promise<Folder> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError("not a folder", { field, value: dir });
  const marks = await Promise.all(MARKS.map((m) => stat(join(root, m)).catch(() => undefined)));
  if (!marks.some((m) => m?.isFile()))
    throw new InputError(
      `not a cluster folder: it has neither ${MARKS.join(" nor ")}`,
      { field, value: dir },
      { hint: "make one with `dk-bootstrap certs --dir DIR` (or `certs --workshop --dir DIR`)" },
    );
  const files = new Map<string, Uint8Array>();
  const leftOut: Folder["leftOut"] = [];
  for (const name of CERTS_FILES) {
    const read = await readRegular(join(root, name));
    if (read instanceof Uint8Array) files.set(name, read);
    else if (read) leftOut.push({ path: name, bytes: read.tooBig });
  }
  return { files, leftOut: leftOut.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

/** What was left out, said once for both the terminal and the page; undefined when nothing was. */
function leftOutNote(leftOut: Folder["leftOut"]): string | undefined {
  if (leftOut.length === 0) return undefined;
  const list = leftOut.map((f) => `${/^[\w./@+=-]+$/.test(f.path) ? f.path : JSON.stringify(f.path)} (${sizeText(f.bytes)})`).join(", ");
  const count = leftOut.length === 1 ? "1 file" : `${leftOut.length} files`;
  return `${count} over ${sizeText(MAX_FILE_BYTES)} left out of the page (a cluster folder's files are smaller): ${list}`;
}

/** Bytes in binary units: 1 MiB, 2.5 MiB, 1.0 GiB. */
function sizeText(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let unit = -1;
  let n = bytes;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  if (unit < 0) return `${bytes} bytes`;
  return Number.isInteger(n) ? `${n} ${units[unit]}` : `${n.toFixed(1)} ${units[unit]}`;
}

/**
 * A regular file's bytes, its size when it is too big to read, or undefined when it is not there or not a regular file: the
 * check is made on the opened file (no link followed, never blocking on a FIFO), so a path swapped meanwhile is never followed.
 */
async function readRegular(path: string): Promise<Uint8Array | { tooBig: number } | undefined> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    // Not there (a folder need not have every file), or a link: skipped; any other failure (a key we may not read) is said.
    if (e.code === "ENOENT" || e.code === "ENOTDIR" || e.code === "ELOOP") return undefined;
    throw e;
  });
  if (!file) return undefined;
  try {
    const info = await file.stat();
    if (!info.isFile()) return undefined;
    if (info.size > MAX_FILE_BYTES) return { tooBig: info.size };
    return await file.readFile();
  } finally {
    await file.close();
  }
}

/**
 * The page with the folder's files in its data block, and what was left out of them in another (a JSON string the page
 * shows): read without a request (the page's policy allows none).
 */
function withFolder(page: string, files: Map<string, Uint8Array> | undefined, leftOut: string | undefined): string {
  if (!files) return page;
  // "<" written as \u003c: a path cannot end a data block.
  const data = (id: string, value: unknown) => `<script type="application/json" id="${id}">${JSON.stringify(value).replaceAll("<", "\\u003c")}</script>`;
  const json = Object.fromEntries([...files].map(([p, bytes]) => [p, Buffer.from(bytes).toString("base64")]));
  const blocks = data("dk-folder", json) + (leftOut ? data("dk-left-out", leftOut) : "");
  return page.replace('<script type="application/json" id="dk-folder"></script>', () => blocks);
}

/** Serves `page` at `path` on 127.0.0.1 until SIGINT/SIGTERM; resolves to its address. */
function serve(page: string, port: number, path: string): Promise<string> {
  const paths = path === "/" ? ["/", "/index.html"] : [path];
  const body = Buffer.from(page);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const addr = server.address();
    const own = typeof addr === "object" && addr ? [`127.0.0.1:${addr.port}`, `localhost:${addr.port}`] : [];
    // A page elsewhere could reach this port through a DNS name it points at 127.0.0.1: only our own names are answered.
    if (!own.includes(req.headers.host ?? "")) return end(res, 403, "forbidden");
    if (req.method !== "GET" && req.method !== "HEAD") return end(res, 405, "method not allowed");
    if (!paths.some((p) => sameText(req.url ?? "", p))) return end(res, 404, "not found");
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "content-length": body.length,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // The page holds keys: no other page may frame it (a meta policy cannot say frame-ancestors), load it, or learn its address.
      "x-frame-options": "DENY",
      "content-security-policy": "frame-ancestors 'none'",
      "cross-origin-resource-policy": "same-origin",
      "referrer-policy": "no-referrer",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new InputError("port in use", { field: "--port", value: String(port) }) : e),
    );
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address();
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(0));
      resolvePromise(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : port}${path}`);
    });
  });
}

function end(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(`${text}\n`);
}

/** Compares in a time that does not depend on where the texts differ (the path is a secret). */
function sameText(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
