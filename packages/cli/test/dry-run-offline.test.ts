// A dry run connects to nothing, dl.k8s.io included (issue 21): versions come from the table, said in the script's
// head (notes wrap: their lines are joined before matching); `local` has a --dry-run too; the warning of a real run that could not ask says how to silence it. The
// network is a mirror in this process that counts what it is asked (--mirror takes every dl.k8s.io request).
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { artifactsFor, nodeSpec, resolveVersions } from "@dk-bootstrap/orchestrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dk, dkAsync, tempDir } from "../../../test-support/peers.js";

describe("dry runs resolve versions offline", () => {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? "");
    res.writeHead(200).end("v1.35.9\n");
  });
  let mirror = "";
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    mirror = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  /**
   * The flags a plain-http test mirror needs (a mirror's own checksums are never trusted): --allow-http-mirror, and a
   * --checksums table for every file of the table's newest release (the digests do not matter: nothing is fetched).
   */
  const mirrorFlags = (cwd: string) => {
    const path = join(cwd, "checksums.txt");
    writeFileSync(
      path,
      artifactsFor(nodeSpec({ dir: cwd }), "amd64")
        .map((a) => `${"0".repeat(64)}  ${a.url}\n`)
        .join(""),
    );
    return ["--mirror", mirror, "--allow-http-mirror", "--checksums", path];
  };

  it("ssh --dry-run asks nothing and says where its versions come from", async () => {
    const cwd = tempDir();
    const r = await dkAsync(["ssh", "root@192.0.2.1", "--dry-run", ...mirrorFlags(cwd), "--until", "etcd"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(asked).toEqual([]);
    expect(r.stdout.replace(/\n# /g, " ")).toMatch(
      /versions: resolved offline from dk-bootstrap's table \(Kubernetes 1\.\d+\.\d+, the newest patch it knows for stable\)/,
    );
  });

  it("apply --dry-run asks nothing either", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "cluster.yaml"), dk(["init"]).stdout.replace(/^ {2}versions:\n( {4}.*\n)+/m, ""));
    const r = await dkAsync(["apply", "-f", "cluster.yaml", "--dry-run", ...mirrorFlags(cwd)], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(asked).toEqual([]);
    expect(r.stdout.replace(/\n# /g, " ")).toMatch(/versions: resolved offline from dk-bootstrap's table/);
  });

  it("an exact version needs no note", () => {
    const r = dk(["ssh", "root@192.0.2.1", "--dry-run", "--k8s-version", "1.34.2", "--until", "etcd"], { cwd: tempDir() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/resolved offline/);
  });

  it("local --dry-run prints the plan and changes nothing", () => {
    const cwd = tempDir();
    const r = dk(["local", "--dry-run", "--until", "etcd", "--k8s-version", "1.34.2"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# step: etcd$/m);
    expect(existsSync(join(cwd, "cluster"))).toBe(false);
  });

  it("the warning of a run that could not ask says how to pin the version", async () => {
    const warnings: string[] = [];
    await resolveVersions(
      {},
      {
        online: true,
        fetchText: () => Promise.reject(new Error("getaddrinfo ENOTFOUND dl.k8s.io")),
        warn: (w) => warnings.push(w),
      },
    );
    expect(warnings.join("\n")).toMatch(
      /could not ask for the newest stable release .*\(pin the version to skip the question: --k8s-version 1\.\d+\.\d+, or versions\.kubernetes in the cluster file\)/,
    );
  });
});
