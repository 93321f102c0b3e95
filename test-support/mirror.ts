// A local HTTP mirror laid out as `--mirror` expects (URL/HOST/PATH), serving a real etcd release
// tarball made from Debian's etcd binaries in the upstream layout, with its SHA256SUMS.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasEtcdutl } from "@dk-bootstrap/orchestrator";
import { peer } from "./peers.js";
import type { MirrorBody } from "./built-peers.js";

/** One request the mirror answered: who asked (the client's address), for what, and how many body bytes it sent. */
export interface MirrorRequest {
  path: string;
  client: string;
  bytes: number;
}

/** Files served, by path (`/github.com/etcd-io/...`), and what was asked for. */
export interface Mirror {
  url: string;
  files: Map<string, MirrorBody>;
  requests: string[];
  /** The same requests with their client and size: several hosts behind one mirror are told apart by address. */
  log: MirrorRequest[];
  /**
   * Writes the trusted checksum table (`--checksums`, `spec.checksums`) for the files served now and returns its
   * path: the test built these files, so it plays the upstream that publishes their SHA-256. A test of a tampering
   * mirror gives the table of the genuine files instead (a mirror's own checksum files are never trusted).
   */
  checksums(): string;
  close(): Promise<void>;
}

/** Whether a mirror path is a checksum file rather than a release file. */
const isSums = (path: string) => /(SHA256SUMS|\.sha256|\.sha256sum)$/.test(path);

/**
 * The trusted checksum table for release files served at `/HOST/PATH`: `SHA256  https://HOST/PATH` lines, written
 * to `path` (the product reads it as `--checksums`). Returns `path`.
 */
export function trustedChecksums(path: string, files: Map<string, MirrorBody>): string {
  const lines = [...files]
    .filter(([p]) => !isSums(p))
    .map(
      ([p, body]) =>
        `${createHash("sha256")
          .update(Buffer.isBuffer(body) ? body : readFileSync(body.file))
          .digest("hex")}  https:/${p}`,
    );
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/**
 * Stands in for etcdutl in a tarball served as 3.5 or later, which the etcd step installs: Debian's etcd is 3.4 and
 * ships none. dk-bootstrap picks etcdctl or etcdutl by what the installed etcd says it is (3.4.x here), so it never
 * runs this; if it did, the run would fail, saying why.
 */
const ETCDUTL_PLACEHOLDER = `#!/bin/sh
echo "etcdutl: placeholder of the test mirror (Debian's etcd 3.4 has no etcdutl): a 3.4 node must use etcdctl" >&2
exit 1
`;

/**
 * Builds `etcd-v<version>-linux-<arch>.tar.gz` (folder `etcd-v…/` with etcd and etcdctl, and, from 3.5 on, an
 * etcdutl placeholder) from the installed Debian binaries.
 */
export function etcdRelease(work: string, version: string, arch: string): { tarball: Buffer; name: string } {
  const name = `etcd-v${version}-linux-${arch}`;
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const bin of ["etcd", "etcdctl"]) cpSync(peer(bin), join(dir, bin));
  if (hasEtcdutl(version)) writeFileSync(join(dir, "etcdutl"), ETCDUTL_PLACEHOLDER, { mode: 0o755 });
  execFileSync("tar", ["-czf", `${name}.tar.gz`, name], { cwd: work });
  return { tarball: readFileSync(join(work, `${name}.tar.gz`)), name: `${name}.tar.gz` };
}

/** Serves `files` on `host:0`. */
export async function startMirror(host: string, files: Map<string, MirrorBody>): Promise<Mirror> {
  const requests: string[] = [];
  const log: MirrorRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const body = files.get(req.url ?? "");
    const size = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : statSync(body.file).size;
    log.push({ path: req.url ?? "", client: req.socket.remoteAddress ?? "", bytes: size });
    if (!body) {
      res.statusCode = 404;
      res.end("not found\n");
      return;
    }
    res.setHeader("content-length", size);
    if (Buffer.isBuffer(body)) res.end(body);
    else createReadStream(body.file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as { port: number }).port;
  const scratch = mkdtempSync(join(tmpdir(), "dk-mirror-"));
  return {
    url: `http://${host}:${port}`,
    files,
    requests,
    log,
    checksums: () => trustedChecksums(join(scratch, "trusted.sha256"), files),
    close: () => new Promise((r) => server.close(() => r())).then(() => rmSync(scratch, { recursive: true, force: true })),
  };
}

/**
 * The files of an etcd release on the mirror: the tarball and SHA256SUMS, at their upstream paths. `tamper`: a
 * mirror that changed the tarball and published a SHA256SUMS that matches it, as a mirror controls both.
 */
export function etcdMirrorFiles(work: string, version: string, arch: string, tamper = false): Map<string, Buffer> {
  const { tarball, name } = etcdRelease(work, version, arch);
  const served = tamper ? Buffer.concat([tarball, Buffer.from("tampered")]) : tarball;
  const sum = createHash("sha256").update(served).digest("hex");
  const base = `/github.com/etcd-io/etcd/releases/download/v${version}`;
  writeFileSync(join(work, "SHA256SUMS"), `${sum}  ${name}\n`);
  return new Map([
    [`${base}/${name}`, served],
    [
      `${base}/SHA256SUMS`,
      Buffer.from(`0000000000000000000000000000000000000000000000000000000000000000  etcd-v${version}-darwin-arm64.zip\n${sum}  ${name}\n`),
    ],
  ]);
}
