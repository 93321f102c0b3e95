// `dk-bootstrap web [DIR] [--port P]`: the page served on localhost only, opened on a cluster folder.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { request } from "node:http";
import { mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, dk, tempDir } from "../../../test-support/peers.js";
import { launchChromium } from "./browser.js";

interface Served {
  proc: ChildProcess;
  url: string;
  out: string;
  /** Its stderr so far (a pipe of its own: what it wrote there first may be read after stdout). */
  err: string;
}

const MiB = 1 << 20;

/** Starts `dk-bootstrap web ...` and resolves to the address it prints. */
function serve(args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [CLI, "web", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const served: Served = { proc, url: "", out: "", err: "" };
  return new Promise((resolve, reject) => {
    proc.stdout!.on("data", (d) => {
      served.out += d;
      const m = /Serving the page on (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(served.out);
      if (m && !served.url) resolve(Object.assign(served, { url: m[1]! }));
    });
    proc.stderr!.on("data", (d) => (served.err += d));
    proc.once("exit", (code) => reject(new Error(`dk-bootstrap web exited ${code}: ${served.out}${served.err}`)));
  });
}

/** A GET with the Host header given (a browser sends the name it dialed). */
function get(url: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("dk-bootstrap web", () => {
  const work = tempDir("dk-web-cli-");
  const cluster = join(work, "cluster");
  let server: Served;
  let browser: BrowserContext;
  const LEFT_OUT = '2 files over 1 MiB left out of the page (a cluster folder\'s files are smaller): backup.tar (1.0 MiB), "logs/kube apiserver.log" (1.5 MiB)';

  beforeAll(async () => {
    expect(dk(["certs", "--dir", cluster, "--key-algo", "ecdsa"]).status).toBe(0);
    // Real bytes, not holes: one byte over the bound, half as much again over it, and one exactly at it (read).
    mkdirSync(join(cluster, "logs"));
    writeFileSync(join(cluster, "backup.tar"), Buffer.alloc(MiB + 1, "b"));
    writeFileSync(join(cluster, "logs", "kube apiserver.log"), Buffer.alloc(MiB * 1.5, "l"));
    writeFileSync(join(cluster, "logs", "exactly.log"), Buffer.alloc(MiB, "e"));
    server = await serve([cluster]);
    browser = await launchChromium();
  });
  afterAll(async () => {
    server?.proc.kill("SIGTERM");
    await browser?.close();
  });

  it("serves the page on 127.0.0.1 and says the folder's keys stay on this machine", async () => {
    expect(server.out).toMatch(
      /^Serving the page on http:\/\/127\.0\.0\.1:\d+\/[\w-]{22}\/ with 44 files of .*cluster \(private keys among them: only this machine can reach it\)$/m,
    );
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('id="dk-folder">{"');
    expect((await get(`${server.url}pki/ca.key`)).status).toBe(404);
  });

  it("says at start which files it left out of the page, and why, with their sizes", async () => {
    await expect.poll(() => server.err).toBe(`warning: ${LEFT_OUT}\n`);
    const page = await get(server.url);
    expect(page.body).toContain(`<script type="application/json" id="dk-left-out">${JSON.stringify(LEFT_OUT)}</script>`);
    expect(page.body).toContain(`"logs/exactly.log":"${Buffer.alloc(MiB, "e").toString("base64")}"`);
    expect(page.body).not.toContain('"backup.tar":');
  });

  it("answers no other name than its own (a DNS name pointed at 127.0.0.1 by another site gets nothing)", async () => {
    const port = new URL(server.url).port;
    expect((await get(server.url, `evil.example:${port}`)).status).toBe(403);
    expect((await get(server.url, `localhost:${port}`)).status).toBe(200);
  });

  it("opens the page on the folder: every certificate drawn, checked against its key", async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(server.url);
    await page.waitForSelector(".authority button.cert");
    expect(await page.locator(".authority button.cert").count()).toBe(17);
    expect(await page.locator(".authority button.cert.standing-ok").count()).toBe(17);
    expect(await page.textContent("#summary")).toMatch(/^17 certificates: 17 valid, 0 expiring within 30 days, 0 expired, 0 with problems; 6 kubeconfigs\.$/);
    // The page, too, says the folder had files it was not given.
    expect(await page.textContent("#drop-status")).toBe(`Read 44 files, in this page only; ${LEFT_OUT}.`);
    expect(requests).toEqual([server.url]);
  });

  it("refuses a bad port or a folder that is not one, in one line", () => {
    const port = dk(["web", "--port", "http"]);
    expect(port.status).toBe(1);
    expect(port.stderr).toBe('error: --port: must be a port number, 0 to 65535 (got "http")\n');
    const missing = dk(["web", join(work, "nowhere")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`error: DIR: not a folder (got ${JSON.stringify(join(work, "nowhere"))})\n`);
  });

  it("counts the files it leaves out toward its bound of 500: a folder of many big files is no cluster folder either", () => {
    const many = join(work, "many");
    mkdirSync(many);
    writeFileSync(join(many, "cluster.yaml"), "");
    // Holes, not bytes: only their size is looked at.
    for (let i = 0; i < 500; i++) {
      writeFileSync(join(many, `big-${i}.bin`), "");
      truncateSync(join(many, `big-${i}.bin`), 2 * MiB);
    }
    // Were they not counted, it would serve the page: the bound ends that run (status null) instead of hanging the test.
    const r = spawnSync(process.execPath, [CLI, "web", many], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe(`error: DIR: more than 500 files: not a cluster folder (got ${JSON.stringify(many)})\n`);
    expect(r.status).toBe(1);
  });

  it("ships the page in the CLI's package", () => {
    const files = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: join(import.meta.dirname, "..", "..", "cli") }).toString()) as {
      files: { path: string }[];
    }[];
    expect(files[0]!.files.map((f) => f.path)).toContain("bundle/web.html");
  });
});
