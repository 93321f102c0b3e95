import { describe, expect, it } from "vitest";
import {
  DEFAULT_CSR_REQUEST,
  PRINT_DEFAULTS_CONFIG,
  type CfsslCsrRequest,
  formatConfigJson,
  formatCsrJson,
  formatDuration,
  parseConfigJson,
  parseCsrJson,
  parseDuration,
  parseUsages,
  selectProfile,
} from "../src/index.js";

describe("cfssl's JSON, written and read back", () => {
  it.each([0, 250, 90_000, 5_400_000, 8760 * 3_600_000, 3_600_000 + 1])("formats %d ms as a Go duration that parses back", (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it("round-trips a CSR request, CA section included", () => {
    const req: CfsslCsrRequest = {
      CN: "etcd-ca",
      names: [{ O: "a" }, { O: "b", OU: "x" }],
      hosts: ["10.0.0.1", "etcd.local"],
      key: { algo: "rsa", size: 3072 },
      ca: { expiryMs: 87_600 * 3_600_000, pathLen: 0 },
    };
    const text = formatCsrJson(req);
    expect(JSON.parse(text).ca).toEqual({ expiry: "87600h", pathlen: 0, pathlenzero: true });
    expect(parseCsrJson(text, "x.json")).toEqual(req);
    expect(parseCsrJson(formatCsrJson(DEFAULT_CSR_REQUEST), "d.json")).toEqual(DEFAULT_CSR_REQUEST);
  });

  it("round-trips a config with an intermediate-CA profile", () => {
    const config = {
      default: { usageNames: ["signing"], usages: parseUsages(["signing"]), expiryMs: 3_600_000 },
      profiles: {
        intermediate: {
          usageNames: ["cert sign", "crl sign"],
          usages: parseUsages(["cert sign", "crl sign"]),
          expiryMs: 43_800 * 3_600_000,
          ca: { pathLen: 0 },
        },
      },
    };
    expect(parseConfigJson(formatConfigJson(config), "c.json")).toEqual(config);
    expect(parseConfigJson(formatConfigJson(PRINT_DEFAULTS_CONFIG), "d.json")).toEqual(PRINT_DEFAULTS_CONFIG);
  });

  it("refuses to sign with a default profile that has no usages, as cfssl does", () => {
    const config = parseConfigJson(
      '{"signing":{"default":{"expiry":"8760h"},"profiles":{"kubernetes":{"usages":["client auth"],"expiry":"1h"}}}}',
      "ca-config.json",
    );
    expect(() => selectProfile(config, undefined, "ca-config.json")).toThrow(
      /^ca-config.json: signing.default.usages: the default profile has no usages: pass -profile \(kubernetes\)/,
    );
    expect(selectProfile(config, "kubernetes").expiryMs).toBe(3_600_000);
  });

  it("refuses a profile without expiry, as cfssl does (empty expiry string), rather than lend it the default's", () => {
    expect(() => parseConfigJson('{"signing":{"default":{"expiry":"8760h"},"profiles":{"k":{"usages":["client auth"]}}}}', "c.json")).toThrow(
      /^c.json: signing.profiles.k.expiry: missing: every profile needs an expiry/,
    );
  });
});
