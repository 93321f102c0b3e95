import { describe, expect, it } from "vitest";
import {
  DEFAULT_CSR_REQUEST,
  certinfoCsrJson,
  goJson,
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
import { goIp, goUrl } from "../src/cfssl/go-values.js";

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

describe("certinfo -csr's Go JSON", () => {
  it("writes Go's own forms: IPs as net.IP prints them, URIs as url.URL fields, HTML characters escaped", () => {
    expect(goIp(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]))).toBe("10.0.0.1");
    expect(goIp(Buffer.from("20010db8000000000001000000000001", "hex"))).toBe("2001:db8::1:0:0:1");
    expect(goUrl("spiffe://td/a%20b?q#f")).toEqual({
      ...{ Scheme: "spiffe", Opaque: "", User: null, Host: "td", Path: "/a b", RawPath: "", OmitHost: false },
      ...{ ForceQuery: false, RawQuery: "q", Fragment: "f", RawFragment: "" },
    });
    expect(goJson({ a: "<&>", b: [], c: null, n: 10n ** 30n }, "")).toBe(
      '{\n  "a": "\\u003c\\u0026\\u003e",\n  "b": [],\n  "c": null,\n  "n": 1000000000000000000000000000000\n}',
    );
  });

  it("refuses a truncated request in one error naming its file, never a raw exception", () => {
    expect(() => certinfoCsrJson(new Uint8Array([0x30, 0x82, 0x01]), { file: "x.csr" })).toThrow(/^x.csr: malformed certificate request/);
  });
});
