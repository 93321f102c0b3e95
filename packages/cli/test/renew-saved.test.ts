// `certs renew` renews with the folder's saved settings (issue 21): a folder made with --validity 100h renews for
// 100h, not the 8760h default; a --validity given to renew wins and says so.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";

const HOUR = 3_600_000;

describe("certs renew uses the folder's saved validity", () => {
  const cwd = tempDir();
  const lifetime = (name: string) => Date.parse(new X509Certificate(readFileSync(join(cwd, "cluster", "pki", `${name}.crt`))).validTo) - Date.now();
  beforeAll(() => {
    const r = dk(["certs", "--key-algo", "ecdsa", "--validity", "100h"], { cwd });
    expect(r.status, r.stderr).toBe(0);
  });

  it("renews for the saved 100h, silently", () => {
    const r = dk(["certs", "renew", "apiserver"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(lifetime("apiserver")).toBeGreaterThan(99 * HOUR);
    expect(lifetime("apiserver")).toBeLessThan(101 * HOUR);
    expect(r.stderr).not.toMatch(/overrides/);
  });

  it("takes its own --validity over the saved one, and says so", () => {
    const r = dk(["certs", "renew", "apiserver", "--validity", "200h"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(lifetime("apiserver")).toBeGreaterThan(199 * HOUR);
    expect(lifetime("apiserver")).toBeLessThan(201 * HOUR);
    expect(r.stderr).toContain("[renew] --validity 200h overrides the folder's saved 100h for this renewal");
  });
});
