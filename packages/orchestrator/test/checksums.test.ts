// Where a mirror's downloads get their SHA-256: never from the mirror. The operator's table (--checksums), else the
// upstream's own checksum file fetched from the upstream; nothing else, and a plain http mirror only when asked for.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, runAsync, tempDir } from "../../../test-support/peers.js";
import { InputError } from "@dk-bootstrap/pki";
import { ARTIFACTS, ChecksumSourceError, NodeLayout, type NodeSpec, nodeSpec, preamble, raw, trustedSha256 } from "../src/index.js";
import { install } from "../src/steps/step.js";
import { wrap } from "../src/transport/wrap.js";

const work = tempDir("dk-checksums-");
const VERSIONS = { kubernetes: "1.34.2", etcd: "3.6.5", containerd: "2.1.5", runc: "1.3.4", cni: "1.6.2" };
const specFor = (over: Partial<Parameters<typeof nodeSpec>[0]> = {}): NodeSpec =>
  nodeSpec({ dir: join(work, "cluster"), remoteRoot: join(work, "node"), arch: "amd64", versions: VERSIONS, ...over });
const etcd = ARTIFACTS.etcd({ ...specFor().versions }, "amd64")[0]!;
const DIGEST = "ab".repeat(32);

describe("the SHA-256 of a mirror's files", () => {
  it("comes from the operator's table, keyed by the upstream URL; the upstream is not asked then", async () => {
    const table = join(work, "table.sha256");
    writeFileSync(table, `# the operator's own\n${DIGEST}  ${etcd.url}\n`);
    const asked: string[] = [];
    const got = await trustedSha256(specFor({ mirror: "https://mirror.example", checksums: table }), [etcd], async (u) => {
      asked.push(u);
      return undefined;
    });
    expect(got).toEqual({ [etcd.url]: DIGEST });
    expect(asked).toEqual([]);
  });

  it("else from the upstream's checksum file, asked of the upstream itself and not of the mirror", async () => {
    const asked: string[] = [];
    const got = await trustedSha256(specFor({ mirror: "https://mirror.example" }), [etcd], async (u) => {
      asked.push(u);
      return `${"00".repeat(32)}  etcd-v3.6.5-darwin-arm64.zip\n${DIGEST}  ${etcd.file}\n`;
    });
    expect(got).toEqual({ [etcd.url]: DIGEST });
    expect(asked).toEqual(["https://github.com/etcd-io/etcd/releases/download/v3.6.5/SHA256SUMS"]);
  });

  it("is refused, naming the file, when no source the mirror does not control knows it", async () => {
    const none = trustedSha256(specFor({ mirror: "https://mirror.example" }), [etcd], async () => undefined);
    await expect(none).rejects.toThrow(ChecksumSourceError);
    await expect(none).rejects.toThrow(`no SHA-256 from a source the mirror does not control for ${etcd.url}`);
  });

  it("refuses a table line that is not `SHA256  https://URL`, with its line number", async () => {
    const table = join(work, "bad.sha256");
    writeFileSync(table, `${DIGEST}  ${etcd.url}\n${DIGEST}  etcd.tar.gz\n`);
    const bad = trustedSha256(specFor({ checksums: table }), [etcd], async () => undefined);
    await expect(bad).rejects.toThrow(InputError);
    await expect(bad).rejects.toThrow(/bad\.sha256: line 2: expected `SHA256  https:\/\/URL`/);
  });

  it("refuses a plain http mirror unless the operator says so, naming what it gives up", () => {
    expect(() => specFor({ mirror: "http://mirror.example" })).toThrow(/--mirror: is plain http: anyone on the path sees .* and can withhold/);
    expect(specFor({ mirror: "http://mirror.example", allowHttpMirror: true }).mirror).toBe("http://mirror.example");
  });

  it("is never taken from the mirror: a download rendered without a pinned digest is refused on the node", async () => {
    const s = specFor({ mirror: "http://127.0.0.1:9", allowHttpMirror: true });
    const c = { spec: s, node: new NodeLayout(s.remoteRoot), arch: "amd64", supervisor: "process" as const };
    const script = install(c, [etcd]).text;
    expect(script).toContain(`dk_fetch http://127.0.0.1:9/github.com/etcd-io/etcd/releases/download/v3.6.5/${etcd.file} sha256: ${etcd.file}`);
    const r = await runAsync(peer("dash"), ["-c", wrap(raw(`${preamble(c.node).text}\n${script}`))]);
    expect(r.status).toBe(86);
    expect(r.stderr).toMatch(/no trusted checksum for etcd-v3\.6\.5-linux-amd64\.tar\.gz/);
  });
});
