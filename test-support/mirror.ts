// A local HTTP mirror laid out as `--mirror` expects (URL/HOST/PATH), serving a real etcd release tarball in the
// upstream layout, with its SHA256SUMS: from 3.5 on the release built from etcd's modules, 3.4.x Debian's build.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasEtcdutl } from "@dk-bootstrap/orchestrator";
import { peer } from "./peers.js";
import { type MirrorBody, builtPeer, etcdMirror } from "./built-peers.js";

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
 * The etcd tools of release `version` on this machine: from 3.5 on, the binaries built from etcd's modules
 * (test-support/built-peers.ts, etcd, etcdctl and etcdutl of that very release); 3.4.x, Debian's etcd-server and
 * etcd-client (3.4.23, without etcdutl), kept for the tests about a 3.4 node. A 3.4 version Debian's build is not
 * throws: the tarball would say one release and hold another.
 */
export function etcdTool(version: string, tool: "etcd" | "etcdctl" | "etcdutl"): string {
  const v = version.replace(/^v/, "");
  if (hasEtcdutl(v)) return join(builtPeer("etcd", v), tool);
  if (tool === "etcdutl") throw new Error(`etcd ${v} has no etcdutl (3.5 and later ship it)`);
  const path = peer(tool);
  const said = /[Vv]ersion: (\S+)/.exec(
    execFileSync(path, [tool === "etcd" ? "--version" : "version"], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } }),
  )?.[1];
  if (said !== v) throw new Error(`${path} is etcd ${said}, not ${v}: a 3.4 test must ask for Debian's release`);
  return path;
}

/** etcdctl of release `version` (see {@link etcdTool}), with the environment 3.4's needs for the v3 API (later ones ignore it). */
export function etcdctlOf(version: string): { path: string; env: NodeJS.ProcessEnv } {
  return { path: etcdTool(version, "etcdctl"), env: { ...process.env, ETCDCTL_API: "3" } };
}

/**
 * Builds `etcd-v<version>-linux-<arch>.tar.gz` (folder `etcd-v…/` with etcd, etcdctl and, from 3.5 on, etcdutl) from
 * the real tools of that release ({@link etcdTool}).
 */
export function etcdRelease(work: string, version: string, arch: string): { tarball: Buffer; name: string } {
  const name = `etcd-v${version}-linux-${arch}`;
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const bin of hasEtcdutl(version) ? (["etcd", "etcdctl", "etcdutl"] as const) : (["etcd", "etcdctl"] as const))
    cpSync(etcdTool(version, bin), join(dir, bin));
  execFileSync("tar", ["-czf", `${name}.tar.gz`, name], { cwd: work });
  return { tarball: readFileSync(join(work, `${name}.tar.gz`)), name: `${name}.tar.gz` };
}

/** The files' bytes in memory (a test's own server that answers with `res.end(body)`). */
export function mirrorBuffers(files: Map<string, MirrorBody>): Map<string, Buffer> {
  return new Map([...files].map(([p, b]) => [p, Buffer.isBuffer(b) ? b : readFileSync(b.file)]));
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
    close: () => new Promise<void>((r) => server.close(() => r())).then(() => rmSync(scratch, { recursive: true, force: true })),
  };
}

/**
 * The files of an etcd release on the mirror: the tarball and SHA256SUMS, at their upstream paths, holding the real
 * tools of that release ({@link etcdTool}; from 3.5 on the built tarball of test-support/built-peers.ts, made once per
 * version). `tamper`: a mirror that changed the tarball and published a SHA256SUMS that matches it, as a mirror
 * controls both.
 */
export function etcdMirrorFiles(work: string, version: string, arch: string, tamper = false): Map<string, MirrorBody> {
  const built = hasEtcdutl(version) ? etcdMirror(version, arch) : undefined;
  if (built && !tamper) return new Map(Object.entries(built));
  const name = `etcd-v${version}-linux-${arch}.tar.gz`;
  const file = built?.[`/github.com/etcd-io/etcd/releases/download/v${version}/${name}`];
  const tarball = file && !Buffer.isBuffer(file) ? readFileSync(file.file) : etcdRelease(work, version, arch).tarball;
  const served = tamper ? Buffer.concat([tarball, Buffer.from("tampered")]) : tarball;
  const sum = createHash("sha256").update(served).digest("hex");
  const base = `/github.com/etcd-io/etcd/releases/download/v${version}`;
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "SHA256SUMS"), `${sum}  ${name}\n`);
  return new Map<string, MirrorBody>([
    [`${base}/${name}`, served],
    [
      `${base}/SHA256SUMS`,
      Buffer.from(`0000000000000000000000000000000000000000000000000000000000000000  etcd-v${version}-darwin-arm64.zip\n${sum}  ${name}\n`),
    ],
  ]);
}
