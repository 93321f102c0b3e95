// The built page in Debian's Chromium, from file://: the form makes the PKI, the download is checked as the
// CLI's output is (openssl, a real etcd, kubectl), and a folder made by `certs` is drawn with its expired certificate marked.
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusedLine, startEtcd } from "../../../test-support/etcd-local.js";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";
import { inconsistencies } from "../../cli/test/cluster-check.js";
import { ARTIFACTS, dropPaths, launchChromium, pageUrl } from "./browser.js";

const CA_OF: Record<string, string> = {};
const CERTS = [
  ...["ca", "etcd/ca", "front-proxy-ca"].map((n) => [n, n]),
  ...["apiserver", "apiserver-kubelet-client", "kubelet", "clients/admin", "clients/super-admin", "clients/controller-manager", "clients/scheduler"].map(
    (n) => [n, "ca"],
  ),
  ...["clients/kube-proxy", "clients/kubelet"].map((n) => [n, "ca"]),
  ["front-proxy-client", "front-proxy-ca"],
  ...["etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"].map((n) => [n, "etcd/ca"]),
] as const;
for (const [n, ca] of CERTS) CA_OF[n] = ca;

const FLAGS = ["--node-name", "node-1", "--node-ip", "10.1.2.3", "--key-algo", "ecdsa", "--cluster-name", "web-test", "--server", "https://10.1.2.3:6443"];

/** Every file under `dir` with its permission bits, relative to it. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = (statSync(p).mode & 0o777).toString(8);
    }
  };
  walk(dir);
  return out;
}

async function fill(page: Page, flags: string[]): Promise<void> {
  for (let i = 0; i < flags.length; i += 2) {
    const id = `#${flags[i]!.slice(2)}`;
    if ((await page.locator(id).evaluate((el) => el.tagName)) === "SELECT") await page.selectOption(id, flags[i + 1]!);
    else await page.fill(id, flags[i + 1]!);
  }
}

describe("the page in Chromium, from file://", () => {
  let browser: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const work = tempDir("dk-web-");

  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("request", (r) => requests.push(r.url()));
    // A style or script the policy blocked would show here, as would any error of the page.
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(pageUrl());
    await page.waitForSelector("body[data-ready=true]");
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("offers no download before it has made something", async () => {
    expect(await page.locator("#download").isVisible()).toBe(false);
    expect(await page.locator("#form-error").isVisible()).toBe(false);
  });

  it("has the CLI's defaults in its labelled fields", async () => {
    const help = dk(["certs", "--help"]).stdout.replace(/\s+/g, " ");
    for (const [flag, value] of [
      ["--node-name", "kubernetes"],
      ["--service-cidr", "10.0.0.0/24"],
      ["--cluster-domain", "cluster.local"],
      ["--cluster-name", "demystifions-kubernetes"],
      ["--key-algo", "rsa"],
      ["--validity", "8760h"],
      ["--server", "https://127.0.0.1:6443"],
    ]) {
      expect(help).toMatch(new RegExp(`${flag} <[^>]+>[^"]*?\\(default: "${value!.replaceAll(".", "\\.")}"\\)`));
      const id = flag!.slice(2);
      expect(await page.inputValue(`#${id}`)).toBe(value);
      expect(await page.locator(`label[for="${id}"]`).count()).toBe(1);
    }
  });

  it("says what is wrong with a field in the CLI's words", async () => {
    for (const [flag, bad] of [
      ["--validity", "1 year"],
      ["--node-name", "Node_1"],
      ["--server", "http://10.0.0.1:6443"],
      ["--service-cidr", "10.0.0.0/33"],
    ]) {
      const cli = dk(["certs", "--dir", join(work, "refused"), flag!, bad!]);
      expect(cli.status).toBe(1);
      await page.reload();
      await page.waitForSelector("body[data-ready=true]");
      await fill(page, [flag!, bad!]);
      await page.click("#make");
      await expect.poll(() => page.textContent("#form-error")).toBe(cli.stderr.trim());
      expect(await page.getAttribute(`#${flag!.slice(2)}`, "aria-invalid")).toBe("true");
    }
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
  });

  it("makes the PKI, and its cluster.tar.gz is what `certs` makes: openssl, etcd and kubectl accept it", async () => {
    await fill(page, FLAGS);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      (async () => {
        await page.click("#make");
        await page.waitForSelector("#download:not([hidden])");
        await page.click("#download");
      })(),
    ]);
    expect(download.suggestedFilename()).toBe("cluster.tar.gz");
    const archive = join(work, "cluster.tar.gz");
    await download.saveAs(archive);
    const out = join(work, "from-page");
    run("mkdir", ["-p", out]);
    const tar = run("tar", ["-xzpf", archive, "-C", out]);
    expect(tar.stderr).toBe("");
    const dir = join(out, "cluster");

    // The same layout and modes as `certs` with the same settings, the same saved settings.
    const cliDir = join(work, "from-cli");
    expect(dk(["certs", "--dir", cliDir, ...FLAGS]).status).toBe(0);
    expect(modes(dir)).toEqual(modes(cliDir));
    expect(readFileSync(join(dir, "cluster.yaml"), "utf8")).toBe(readFileSync(join(cliDir, "cluster.yaml"), "utf8"));
    for (const d of ["pki", "pki/etcd", "pki/clients"]) expect(statSync(join(dir, d)).mode & 0o777).toBe(statSync(join(cliDir, d)).mode & 0o777);

    expect(inconsistencies(dir)).toEqual([]);
    const openssl = peer("openssl");
    for (const [name, ca] of CERTS) {
      const r = run(openssl, ["verify", "-x509_strict", "-CAfile", join(dir, "pki", `${ca}.crt`), join(dir, "pki", `${name}.crt`)]);
      expect(`${name}: ${r.stdout.trim()} ${r.stderr.trim()}`).toBe(`${name}: ${join(dir, "pki", `${name}.crt`)}: OK `);
    }
    const san = run(openssl, ["x509", "-in", join(dir, "pki/apiserver.crt"), "-noout", "-ext", "subjectAltName"]).stdout;
    for (const name of ["DNS:node-1", "DNS:kubernetes.default.svc.cluster.local", "IP Address:10.0.0.1", "IP Address:10.1.2.3"]) expect(san).toContain(name);

    const etcd = await startEtcd(dir);
    try {
      expect(etcd.ctl(["put", "/registry/page", "made-in-chromium"], "apiserver-etcd-client").status).toBe(0);
      expect(etcd.ctl(["get", "/registry/page", "--print-value-only"], "apiserver-etcd-client").stdout.trim()).toBe("made-in-chromium");
      // Refused for its CA: etcdctl only says its deadline passed, etcd's log says why.
      const from = etcd.logSize();
      const refused = etcd.ctl(["get", "/registry/page"], "clients/super-admin");
      expect(refused.status).toBe(1);
      expect(refused.stdout).toBe("");
      expect(await etcd.logged(refusedLine(/x509: certificate signed by unknown authority/), from)).toBeTruthy();
    } finally {
      etcd.stop();
    }

    const kubectl = peer("kubectl");
    for (const [file, user] of [
      ["admin.conf", "kubernetes-admin"],
      ["super-admin.conf", "kubernetes-super-admin"],
      ["controller-manager.conf", "system:kube-controller-manager"],
      ["scheduler.conf", "system:kube-scheduler"],
      ["kubelet.conf", "system:node:node-1"],
      ["kube-proxy.conf", "system:kube-proxy"],
    ]) {
      const conf = join(dir, file!);
      const view = run(kubectl, ["--kubeconfig", conf, "config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.server} {.users[0].name}"]);
      expect(view.stdout).toBe(`https://10.1.2.3:6443 ${user}`);
      const contexts = run(kubectl, ["--kubeconfig", conf, "config", "get-contexts", "-o", "name"]);
      expect(contexts.stdout.trim()).toBe(`${user}@web-test`);
      // kubectl reads the file it would write: the page's YAML is kubectl's own.
      expect(run(kubectl, ["--kubeconfig", conf, "config", "view", "--raw"]).stdout).toBe(readFileSync(conf, "utf8"));
    }
  });

  it("draws what it made", async () => {
    expect(await page.locator(".authority button.cert").count()).toBe(CERTS.length);
    expect(await page.locator(".authority .standing-expired, .authority .standing-problem").count()).toBe(0);
    await page.locator('.authority button.cert[data-cert="apiserver"]').click();
    await expect.poll(() => page.textContent("#details")).toContain('"common_name": "kube-apiserver"');
  });

  it("sends nothing anywhere: the only request is the file itself, and its policy refuses a connection", async () => {
    expect(new Set(requests.filter((u) => !u.startsWith("blob:")))).toEqual(new Set([pageUrl()]));
    expect(consoleErrors).toEqual([]);
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
    expect(csp).toMatch(/^default-src 'none';/);
    expect(csp).toContain("connect-src 'none'");
    const refused = await page.evaluate(() =>
      fetch("http://127.0.0.1:9/").then(
        () => "fetched",
        (e: Error) => e.name,
      ),
    );
    expect(refused).toBe("TypeError");
    expect(new Set(requests.filter((u) => !u.startsWith("blob:")))).toEqual(new Set([pageUrl()]));
  });

  it("draws the CLI's own ./cluster dropped as a folder and as a .tar.gz, the expired certificate marked", async () => {
    const cwd = join(work, "cli");
    run("mkdir", ["-p", cwd]);
    expect(dk(["certs", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const renew = dk(["certs", "renew", "clients/scheduler", "--validity", "1s"], { cwd });
    // The one line on stderr is the override said (the folder's saved validity is 8760h).
    expect(renew.stderr).toBe("[renew] --validity 1s overrides the folder's saved 8760h for this renewal\n");
    await new Promise((r) => setTimeout(r, 2_500)); // its one second runs out
    const tgz = join(work, "cli.tar.gz");
    expect(run("tar", ["-czf", tgz, "-C", cwd, "cluster"]).status).toBe(0);

    const check = async () => {
      await page.waitForSelector(".authority button.cert");
      const drawn = await page.locator(".authority button.cert").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.cert).sort());
      expect(drawn).toEqual(CERTS.map(([n]) => n).sort());
      expect(await page.locator(".authority button.cert.standing-expired").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.cert))).toEqual([
        "clients/scheduler",
      ]);
      expect(await page.locator('.authority button.cert[data-cert="clients/scheduler"] .badge').textContent()).toBe("expired");
      expect(await page.locator(".authority button.cert.standing-problem").count()).toBe(0);
      // Who dials whom: the scheduler's connection to the apiserver is drawn broken, and only it.
      expect(await page.locator(".trust-diagram path[data-presents]").count()).toBe(10);
      expect(await page.locator(".trust-diagram path.broken").evaluateAll((els) => els.map((e) => e.getAttribute("data-presents")))).toEqual([
        "clients/scheduler",
      ]);
    };
    // Chosen with "Choose a folder".
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await page.setInputFiles("#pick-folder", join(cwd, "cluster"));
    await check();
    await page.screenshot({ path: join(ARTIFACTS, "drawing.png"), fullPage: true });

    // Dropped as from a file manager, on the page opened from file://: the folder, then the archive.
    for (const dropped of [join(cwd, "cluster"), tgz]) {
      await page.reload();
      await page.waitForSelector("body[data-ready=true]");
      await dropPaths(page, "#drop", [dropped]);
      await expect.poll(() => page.textContent("#drop-status")).toBe("Read 43 files, in this page only.");
      await check();
    }
  });

  it("checks what it draws: a key that is not its certificate's, SANs that miss a name of the folder's plan", async () => {
    const copy = join(work, "damaged");
    expect(run("cp", ["-a", join(work, "cli", "cluster"), copy]).status).toBe(0);
    writeFileSync(join(copy, "pki/clients/kube-proxy.key"), readFileSync(join(copy, "pki/clients/admin.key")));
    const yaml = readFileSync(join(copy, "cluster.yaml"), "utf8");
    expect(yaml).toContain("    - nodeName: kubernetes\n");
    writeFileSync(join(copy, "cluster.yaml"), yaml.replace("    - nodeName: kubernetes\n", "    - nodeName: kubernetes\n      nodeIP: 10.9.9.9\n"));
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await page.setInputFiles("#pick-folder", copy);
    await page.waitForSelector(".authority button.cert");
    const problems = await page
      .locator(".authority button.cert.standing-problem")
      .evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.cert, e.querySelector(".card-problems")?.textContent]));
    expect(Object.fromEntries(problems)).toEqual({
      apiserver: "its names lack 10.9.9.9, which the plan serves",
      "etcd/server": "its names lack 10.9.9.9, which the plan serves",
      "etcd/peer": "its names lack 10.9.9.9, which the plan serves",
      kubelet: "its names lack 10.9.9.9, which the plan serves",
      "clients/kube-proxy": "its key pki/clients/kube-proxy.key does not match it",
    });
    // The plan is the folder's: the form shows the settings it was made with.
    expect(await page.inputValue("#node-ip")).toBe("10.9.9.9");
  });

  it("is readable: every text at a contrast of 4.5:1 or more on what is behind it", async () => {
    const measure = () =>
      page.evaluate(() => {
        const rgba = (c: string) => {
          const [r = 0, g = 0, b = 0, a = 1] = (c.match(/[\d.]+/g) ?? []).map(Number);
          return { rgb: [r, g, b], a: c.startsWith("rgba") ? a : 1 };
        };
        const lum = ([r, g, b]: number[]) =>
          [r!, g!, b!]
            .map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4))
            .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i]!, 0);
        const ratio = (fg: number[], bg: number[]) => {
          const [a, b] = [lum(fg), lum(bg)];
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        };
        const background = (el: Element | null): number[] => {
          for (; el; el = el.parentElement) {
            const c = rgba(getComputedStyle(el).backgroundColor);
            if (c.a !== 0) return c.rgb;
          }
          return [255, 255, 255];
        };
        const out: string[] = [];
        // HTML text: its CSS colour on the first background behind it.
        for (const el of document.querySelectorAll("body *")) {
          if (el.closest("svg")) continue;
          const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== "");
          if (!text || (el as HTMLElement).offsetParent === null) continue;
          const r = ratio(rgba(getComputedStyle(el).color).rgb, background(el));
          if (r < 4.5) out.push(`${el.tagName}.${el.className} "${el.textContent!.slice(0, 30)}": ${r.toFixed(2)}`);
        }
        // SVG text is drawn with its fill, over whatever the drawing painted before it at that place: every filled shape
        // that precedes it in the document and covers its middle, each laid over the last by its opacity, on the
        // background of the SVG's box.
        let svgTexts = 0;
        let covered = 0;
        for (const svg of document.querySelectorAll("svg")) {
          const shapes = [...svg.querySelectorAll("rect, circle, ellipse, path, polygon")].filter((s) => !s.closest("defs, marker"));
          for (const t of svg.querySelectorAll("text")) {
            const box = t.getBoundingClientRect();
            if (box.width === 0 || !t.textContent!.trim()) continue;
            svgTexts++;
            const [x, y] = [box.left + box.width / 2, box.top + box.height / 2];
            let behind = background(svg);
            let over = false;
            for (const s of shapes) {
              if (!(s.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING)) continue;
              const r = s.getBoundingClientRect();
              if (x < r.left || x > r.right || y < r.top || y > r.bottom) continue;
              const style = getComputedStyle(s);
              if (style.fill === "none") continue;
              const f = rgba(style.fill);
              const a = f.a * Number(style.fillOpacity) * Number(style.opacity);
              behind = behind.map((v, i) => a * f.rgb[i]! + (1 - a) * v);
              over = true;
            }
            if (over) covered++;
            const style = getComputedStyle(t);
            const r = ratio(rgba(style.fill).rgb, behind);
            if (r < 4.5)
              out.push(`svg text "${t.textContent!.slice(0, 30)}" (fill ${style.fill} on rgb(${behind.map(Math.round).join(", ")})): ${r.toFixed(2)}`);
          }
        }
        return { low: out, svgTexts, covered };
      });
    const { low, svgTexts, covered } = await measure();
    // The trust diagram is on the page: its labels are measured too, most of them over the boxes drawn behind them.
    expect(svgTexts).toBeGreaterThan(5);
    expect(covered).toBeGreaterThan(5);
    expect(low).toEqual([]);
    // The measure sees what the drawing paints: boxes filled with the text's own colour make every box label unreadable.
    const boxes = (fill: boolean) =>
      page.evaluate((fill) => {
        const colour = getComputedStyle(document.querySelector(".trust-diagram text")!).fill;
        for (const r of document.querySelectorAll<SVGRectElement>(".trust-diagram .box")) r.style.fill = fill ? colour : "";
      }, fill);
    await boxes(true);
    const unreadable = (await measure()).low.filter((l) => l.startsWith("svg text"));
    await boxes(false);
    expect(unreadable.length).toBeGreaterThan(5);
    expect((await measure()).low).toEqual([]);
  });

  it("works from the keyboard: Enter in a field makes the PKI, Enter on a certificate shows it", async () => {
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await page.selectOption("#key-algo", "ecdsa");
    await page.focus("#node-name");
    await page.keyboard.press("Enter");
    await page.waitForSelector(".authority button.cert");
    await page.focus('.authority button.cert[data-cert="etcd/ca"]');
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.cert)).toBe("etcd/server");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.textContent("#details h3")).toBe("etcd/server valid");
    expect(await page.textContent("#details")).toContain('"common_name": "kubernetes"');
  });

  it("fits a phone's width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForSelector(".authority button.cert");
    const wide = await page.evaluate(() =>
      // The trust table scrolls sideways in its own box; nothing else may stick out.
      [...document.querySelectorAll("body *")]
        .filter((e) => !e.closest(".trusts") && e.getBoundingClientRect().right > 391)
        .map((e) => `${e.tagName}.${e.className}#${e.id}`),
    );
    expect(wide).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, "phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("reads a lone kubeconfig", async () => {
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    writeFileSync(join(work, "admin.conf"), readFileSync(join(work, "cli", "cluster", "admin.conf")));
    await page.setInputFiles("#pick-files", join(work, "admin.conf"));
    await page.waitForSelector(".kubeconfigs button.kubeconfig");
    expect(await page.locator(".kubeconfigs").textContent()).toContain("user kubernetes-admin → https://127.0.0.1:6443");
    expect(await page.locator(".kubeconfigs button.kubeconfig.standing-ok").count()).toBe(1);
    await page.locator(".kubeconfigs button.kubeconfig").focus();
    await expect.poll(() => page.textContent("#details")).toContain('"common_name": "kubernetes-admin"');
  });
});
