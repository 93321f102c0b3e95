// `dk-bootstrap web [DIR] [--port P]`: the page served on localhost only, opened on a cluster folder.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { request } from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
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
  /** What a project folder holding a cluster.yaml may also hold: never put into the page. */
  const SECRETS: Record<string, string> = {
    ".ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-for-the-page\n-----END OPENSSH PRIVATE KEY-----\n",
    ".aws/credentials": "[default]\naws_secret_access_key = not-for-the-page-either\n",
    "notes.txt": "a file of the user's own\n",
  };

  beforeAll(async () => {
    expect(dk(["certs", "--dir", cluster, "--key-algo", "ecdsa"]).status).toBe(0);
    for (const [path, text] of Object.entries(SECRETS)) {
      mkdirSync(join(cluster, path, ".."), { recursive: true });
      writeFileSync(join(cluster, path), text, { mode: 0o600 });
    }
    // Big files beside the PKI are not read at all, so not even named.
    writeFileSync(join(cluster, "backup.tar"), Buffer.alloc(MiB + 1, "b"));
    server = await serve([cluster]);
    browser = await launchChromium();
  });
  afterAll(async () => {
    server?.proc.kill("SIGTERM");
    await browser?.close();
  });

  it("serves the page on 127.0.0.1 and says the folder's keys stay on this machine", async () => {
    expect(server.out).toMatch(
      /^Serving the page on http:\/\/127\.0\.0\.1:\d+\/[\w-]{22}\/ with 43 files of .*cluster \(private keys among them: only this machine can reach it\)$/m,
    );
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('id="dk-folder">{"');
    expect((await get(`${server.url}pki/ca.key`)).status).toBe(404);
  });

  it("puts only the files `certs` makes into the page: never a key or credentials of the folder's own", async () => {
    const page = (await get(server.url)).body;
    const folder = JSON.parse(/id="dk-folder">(.*?)<\/script>/s.exec(page)![1]!) as Record<string, string>;
    expect(Object.keys(folder)).toContain("pki/ca.key");
    expect(Object.keys(folder)).toContain("cluster.yaml");
    for (const [path, text] of Object.entries(SECRETS)) {
      expect(Object.keys(folder), path).not.toContain(path);
      expect(page, path).not.toContain(Buffer.from(text).toString("base64"));
    }
    expect(Object.keys(folder).filter((p) => !/^(pki\/.*\.(crt|key|pub)|[a-z-]+\.conf|cluster\.yaml)$/.test(p))).toEqual([]);
    expect(server.err).toBe("");
  });

  it("says at start which of its files it left out of the page, and why, with their sizes", async () => {
    const big = join(work, "big");
    mkdirSync(big);
    writeFileSync(join(big, "cluster.yaml"), "");
    // Real bytes, not holes: half as much again over the bound, and one exactly at it (read).
    writeFileSync(join(big, "admin.conf"), Buffer.alloc(MiB * 1.5, "l"));
    writeFileSync(join(big, "kubelet.conf"), Buffer.alloc(MiB, "e"));
    const LEFT_OUT = "1 file over 1 MiB left out of the page (a cluster folder's files are smaller): admin.conf (1.5 MiB)";
    const served = await serve([big]);
    try {
      await expect.poll(() => served.err).toBe(`warning: ${LEFT_OUT}\n`);
      const page = await get(served.url);
      expect(page.body).toContain(`<script type="application/json" id="dk-left-out">${JSON.stringify(LEFT_OUT)}</script>`);
      expect(page.body).toContain(`"kubelet.conf":"${Buffer.alloc(MiB, "e").toString("base64")}"`);
      expect(page.body).not.toContain('"admin.conf":');
    } finally {
      served.proc.kill("SIGTERM");
    }
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
    expect(await page.textContent("#drop-status")).toBe("Read 43 files, in this page only.");
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

  it("opens the page on a workshop-layout folder (certs --workshop) given as --dir, as check-expiration reads it", async () => {
    const workshop = join(work, "workshop");
    expect(dk(["certs", "--workshop", "--dir", workshop]).status).toBe(0);
    // The same folder check-expiration reads: its CA and admin, cfssl's files.
    expect(dk(["certs", "check-expiration", "--dir", workshop, "-o", "json"]).status).toBe(0);
    const served = await serve(["--dir", workshop]);
    try {
      expect(served.out).toMatch(/^Serving the page on http:\/\/127\.0\.0\.1:\d+\/[\w-]{22}\/ with 6 files of .*workshop \(private keys among them/m);
      const body = (await get(served.url)).body;
      const folder = JSON.parse(/id="dk-folder">(.*?)<\/script>/s.exec(body)![1]!) as Record<string, string>;
      expect(Object.keys(folder).sort()).toEqual([
        "certs/admin-key.pem",
        "certs/admin.csr",
        "certs/admin.pem",
        "certs/ca-key.pem",
        "certs/ca.csr",
        "certs/ca.pem",
      ]);
      const page = await browser.newPage();
      await page.goto(served.url);
      await page.waitForSelector(".authority button.cert");
      // The CA with its one leaf, each checked against its key, under the files' own names; nothing said missing.
      expect(await page.textContent("#summary")).toMatch(/^2 certificates: 2 valid, 0 expiring within 30 days, 0 expired, 0 with problems; 0 kubeconfigs\.$/);
      expect(await page.locator(".authority button.cert.standing-ok").count()).toBe(2);
      expect(await page.locator(".problems").count()).toBe(0);
      await page.locator(".authority button.cert").first().click();
      expect(await page.textContent("#details")).toContain("certs/ca.pem with its key");
    } finally {
      served.proc.kill("SIGTERM");
    }
  });

  it("refuses DIR and --dir naming two folders, and names --dir when the folder it gives is not one", () => {
    const two = dk(["web", cluster, "--dir", work]);
    expect(two.status).toBe(1);
    expect(two.stderr).toBe(`error: --dir: names another folder than DIR: give one of them (got ${JSON.stringify(work)})\nhint: DIR is ${cluster}\n`);
    const notOne = dk(["web", "--dir", work]);
    expect(notOne.status).toBe(1);
    expect(notOne.stderr).toMatch(
      /^error: --dir: not a cluster folder: it has neither cluster\.yaml nor pki\/ca\.crt nor certs\/ca\.pem \(got ".*"\)\nhint: make one with `dk-bootstrap certs --dir DIR`/,
    );
  });

  it("ships the page in the CLI's package", () => {
    const files = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: join(import.meta.dirname, "..", "..", "cli") }).toString()) as {
      files: { path: string }[];
    }[];
    expect(files[0]!.files.map((f) => f.path)).toContain("bundle/web.html");
  });
});
