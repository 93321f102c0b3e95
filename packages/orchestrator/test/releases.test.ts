// Versions resolved as kubeadm resolves them (stable.txt through the mirror), paired from the table of tested combinations.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { load } from "js-yaml";
import { RELEASES, artifactsFor, mirrored, nodeSpec, parseKubernetesRequest, resolveVersions } from "@dk-bootstrap/orchestrator";
import { type Mirror, startMirror } from "../../../test-support/mirror.js";
import { dkAsync, tempDir } from "../../../test-support/peers.js";

const newest = RELEASES[0]!;
const next = `1.${Number(newest.minor.split(".")[1]) + 1}`;

describe("parsing --k8s-version", () => {
  it.each([
    [undefined, { kind: "stable" }],
    ["stable", { kind: "stable" }],
    ["1.35", { kind: "minor", minor: "1.35" }],
    ["v1.35.4", { kind: "exact", version: "1.35.4" }],
    ["1.36.0-rc.1", { kind: "exact", version: "1.36.0-rc.1" }],
  ])("%s", (value, want) => expect(parseKubernetesRequest(value)).toEqual(want));
  it.each(["latest", "1", "2.0.0", "1.35.x", "v1.35."])("refuses %s with the flag named", (value) => {
    expect(() => parseKubernetesRequest(value)).toThrow(/--k8s-version: expected stable, 1.N or 1.N.P/);
  });
});

describe("resolving against a mirror of dl.k8s.io", () => {
  let mirror: Mirror;
  const files = new Map<string, Buffer>();
  beforeAll(async () => {
    mirror = await startMirror("127.0.0.1", files);
  });
  afterAll(() => mirror.close());
  const online = (warnings: string[] = []) => ({ online: true, mapUrl: (u: string) => mirrored(u, mirror.url), warn: (w: string) => warnings.push(w) });

  it("takes stable.txt's patch and pairs the runtime for its minor", async () => {
    files.set("/dl.k8s.io/release/stable.txt", Buffer.from(`v${newest.minor}.7\n`));
    const v = await resolveVersions({}, online());
    expect(v).toMatchObject({ kubernetes: `${newest.minor}.7`, etcd: newest.etcd, containerd: newest.containerd, runc: newest.runc, cni: newest.cni });
    expect(mirror.requests).toContain("/dl.k8s.io/release/stable.txt");
  });

  it("asks stable-1.N.txt for a minor, and keeps the versions given", async () => {
    const older = RELEASES[1]!;
    files.set(`/dl.k8s.io/release/stable-${older.minor}.txt`, Buffer.from(`v${older.minor}.9\n`));
    const v = await resolveVersions({ kubernetes: older.minor, etcd: "v3.6.1" }, online());
    expect(v.kubernetes).toBe(`${older.minor}.9`);
    expect(v.etcd).toBe("3.6.1");
    expect(v.containerd).toBe(older.containerd);
  });

  it("falls back to the newest minor it pairs when stable is newer, as kubeadm does", async () => {
    files.set("/dl.k8s.io/release/stable.txt", Buffer.from(`v${next}.0\n`));
    files.set(`/dl.k8s.io/release/stable-${newest.minor}.txt`, Buffer.from(`v${newest.minor}.4\n`));
    expect((await resolveVersions({}, online())).kubernetes).toBe(`${newest.minor}.4`);
  });

  it("uses the table's known patch, with a warning, when the mirror has no answer", async () => {
    files.delete("/dl.k8s.io/release/stable.txt");
    const warnings: string[] = [];
    expect((await resolveVersions({}, online(warnings))).kubernetes).toBe(newest.knownPatch);
    expect(warnings.join("\n")).toMatch(/could not ask for the newest stable release \(.*stable.txt: HTTP 404\); using/);
  });

  it("refuses an answer that is not a release", async () => {
    files.set("/dl.k8s.io/release/stable.txt", Buffer.from("<html>captive portal</html>"));
    const warnings: string[] = [];
    expect((await resolveVersions({}, online(warnings))).kubernetes).toBe(newest.knownPatch);
    expect(warnings.join("\n")).toMatch(/not a release such as/);
  });
});

describe("what the table says", () => {
  const offline = (warnings: string[], now?: Date) => ({ online: false, warn: (w: string) => warnings.push(w), ...(now ? { now } : {}) });
  it("warns when the minor is out of upstream support", async () => {
    const oldest = RELEASES[RELEASES.length - 1]!;
    const warnings: string[] = [];
    await resolveVersions({ kubernetes: oldest.minor }, offline(warnings, new Date(Date.parse(`${oldest.endOfLife}T00:00:00Z`) + 86_400_000)));
    expect(warnings.join("\n")).toMatch(new RegExp(`Kubernetes ${oldest.minor} is out of upstream support since ${oldest.endOfLife}`));
    const fresh: string[] = [];
    await resolveVersions({ kubernetes: oldest.minor }, offline(fresh, new Date(Date.parse(`${oldest.endOfLife}T00:00:00Z`) - 86_400_000)));
    expect(fresh).toEqual([]);
  });
  it("pairs an unknown minor as its nearest, and says so", async () => {
    const warnings: string[] = [];
    const v = await resolveVersions({ kubernetes: `${next}.1` }, offline(warnings));
    expect(v.etcd).toBe(newest.etcd);
    expect(warnings.join("\n")).toMatch(new RegExp(`Kubernetes ${next} is not a combination dk-bootstrap has tested`));
  });
  it("refuses containerd 1.x from Kubernetes 1.36 on", async () => {
    await expect(resolveVersions({ kubernetes: "1.36.0", containerd: "1.7.28" }, offline([]))).rejects.toThrow(
      /--containerd-version: Kubernetes 1.36 needs containerd 2.x/,
    );
    await expect(resolveVersions({ kubernetes: "1.35.0", containerd: "1.7.28" }, offline([]))).resolves.toMatchObject({ containerd: "1.7.28" });
  });
});

describe("the CLI resolves, plans and records", () => {
  let mirror: Mirror;
  /**
   * A --checksums table for every file the newest release's plan downloads (a mirror's own checksum files are never
   * trusted): the digests do not matter here, nothing is downloaded.
   */
  const checksumsFile = (cwd: string, kubernetes = newest.knownPatch) => {
    const spec = nodeSpec({
      dir: cwd,
      versions: { kubernetes, etcd: newest.etcd, containerd: newest.containerd, runc: newest.runc, cni: newest.cni },
    });
    const path = join(cwd, "checksums.txt");
    writeFileSync(
      path,
      artifactsFor(spec, "amd64")
        .map((a) => `${"0".repeat(64)}  ${a.url}\n`)
        .join(""),
    );
    return path;
  };
  beforeAll(async () => {
    mirror = await startMirror("127.0.0.1", new Map([["/dl.k8s.io/release/stable.txt", Buffer.from(`v${newest.minor}.5\n`)]]));
  });
  afterAll(() => mirror.close());

  it("ssh --dry-run asks the mirror nothing: it plans the table's patch (a real run asks, below)", async () => {
    const cwd = tempDir();
    const before = mirror.requests.length;
    const r = await dkAsync(["ssh", "root@192.0.2.10", "--dry-run", "--mirror", mirror.url, "--allow-http-mirror", "--checksums", checksumsFile(cwd)], {
      cwd,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(mirror.requests.length).toBe(before);
    expect(r.stdout).toMatch(new RegExp(`Kubernetes ${newest.knownPatch.replaceAll(".", "\\.")}, etcd ${newest.etcd}`));
    expect(r.stdout).toContain(`/v${newest.knownPatch}/bin/linux/amd64/kube-apiserver`);
  });

  it("local records the resolved versions in cluster.yaml, and a re-run keeps them when stable moves on", async () => {
    const cwd = tempDir();
    const args = [
      "local",
      "--mirror",
      mirror.url,
      "--allow-http-mirror",
      "--checksums",
      checksumsFile(cwd, `${newest.minor}.5`),
      "--remote-root",
      join(cwd, "root"),
      "--until",
      "preflight",
      "--key-algo",
      "ecdsa",
    ];
    // The preflight's own verdict on this machine does not matter here: the folder is written before it runs.
    await dkAsync(args, { cwd });
    const saved = (load(readFileSync(join(cwd, "cluster", "cluster.yaml"), "utf8")) as { spec: { versions: Record<string, string> } }).spec.versions;
    expect(saved).toMatchObject({
      kubernetes: `${newest.minor}.5`,
      etcd: newest.etcd,
      containerd: newest.containerd,
      runc: newest.runc,
      cniPlugins: newest.cni,
    });
    mirror.files.set("/dl.k8s.io/release/stable.txt", Buffer.from(`v${newest.minor}.6\n`));
    const again = await dkAsync(
      ["ssh", "root@192.0.2.10", "--dry-run", "--mirror", mirror.url, "--allow-http-mirror", "--checksums", join(cwd, "checksums.txt")],
      {
        cwd,
      },
    );
    expect(again.stdout, again.stderr).toMatch(new RegExp(`Kubernetes ${newest.minor}.5,`));
  });
});
