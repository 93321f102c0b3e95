// Debian's Chromium driven by playwright-core (no browser download), for the page's tests and its benchmark.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { peer, tempDir } from "../../../test-support/peers.js";

/** The built page (`npm run build`). */
export const PAGE_FILE = join(import.meta.dirname, "..", "dist", "dk-bootstrap.html");

/** Where the tests keep their screenshots (gitignored). */
export const ARTIFACTS = join(import.meta.dirname, "..", "test-results");

/** The page as a file:// URL; a missing build fails the test, it does not skip it. */
export function pageUrl(): string {
  if (!existsSync(PAGE_FILE)) throw new Error(`${PAGE_FILE} is missing: run npm run build first`);
  return `file://${PAGE_FILE}`;
}

/** Chromium with a fresh profile, nothing running in the background, downloads accepted. */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<BrowserContext> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launchPersistentContext(tempDir("dk-chromium-"), {
    executablePath: peer("chromium"),
    headless: true,
    acceptDownloads: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * Drops files or folders from disk onto an element as a user's drag from a file manager does (Chromium's
 * Input.dispatchDragEvent): the page gets real DataTransfer items, folders included.
 */
export async function dropPaths(page: Page, selector: string, paths: string[]): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not on the page`);
  const cdp = await page.context().newCDPSession(page);
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ["dragEnter", "dragOver", "drop"] as const) await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
  await cdp.detach();
}
