// Air-gapped images on a node: which archives a node gets, where they go, and the import script, run under
// dash against the real containerd (through the real ctr, wrapped only to count its imports): imported once,
// pinned, imported again only when the image is gone.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContainerd, startContainerd } from "../../../test-support/containerd.js";
import { pauseImage, webImage } from "../../../test-support/images.js";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import {
  NodeLayout,
  type StepContext,
  archiveImages,
  imageArchives,
  imageFiles,
  imageImportScript,
  nodeSpec,
  ociArchive,
  preamble,
  raw,
  sandboxImage,
} from "../src/index.js";
import { fileContent } from "../src/context.js";
import { wrap } from "../src/transport/wrap.js";

const ctx = (root: string, over: Parameters<typeof nodeSpec>[0]): StepContext => ({
  spec: nodeSpec(over),
  node: new NodeLayout(root),
  arch: "amd64",
  supervisor: "process",
});

/** A small archive of our own writer, named `name`. */
function archive(dir: string, file: string, name: string): string {
  const path = join(dir, file);
  writeFileSync(path, ociArchive({ name, files: [{ path: "/x", content: Buffer.from(name) }], entrypoint: ["/x"] }).bytes);
  return path;
}

describe("the sandbox image", () => {
  it.each([
    ["1.34.2", "registry.k8s.io/pause:3.10.1"],
    ["1.36.3", "registry.k8s.io/pause:3.10.2"],
    ["1.37.2", "registry.k8s.io/pause:3.10.2"],
    ["1.40.0", "registry.k8s.io/pause:3.10.2"],
  ])("Kubernetes %s: %s, as kubeadm pairs them", (kubernetes, image) => {
    expect(sandboxImage(nodeSpec({ dir: "/c", versions: { kubernetes } }))).toBe(image);
  });
});

describe("which archives a node gets", () => {
  const work = tempDir("dk-imgs-");
  const own = archive(work, "web.tar", "example.com/web:1");
  const upload = join(work, "bundle");
  mkdirSync(join(upload, "images"), { recursive: true });
  const bundled = archive(join(upload, "images"), "dns.tar", "example.com/dns:1");
  writeFileSync(join(upload, "images", "README"), "not an archive");

  it("none given: no file, and the import script is empty (a node that pulls is unchanged)", () => {
    const c = ctx("/n", { dir: join(work, "cluster") });
    expect(imageFiles(c)).toEqual([]);
    expect(imageImportScript(c).text).toBe("");
  });

  it("spec.images, then the --upload bundle's images/ archives, put under the node's cache and read from where they are", async () => {
    const c = ctx("/n", { dir: join(work, "cluster"), images: [own], upload });
    expect(imageArchives(c.spec)).toEqual([own, bundled]);
    const files = imageFiles(c);
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      ["/n/var/cache/dk-bootstrap/images/web.tar", 0o644],
      ["/n/var/cache/dk-bootstrap/images/dns.tar", 0o644],
    ]);
    // The runner reads a file relative to the cluster folder: the bytes are the archive's own.
    expect(Buffer.compare((await fileContent(c.spec, files[1]!)) as Buffer, readFileSync(bundled))).toBe(0);
  });

  it("refuses two archives of one name, a relative path, a missing archive and one that names no image, each in one line", () => {
    const other = join(work, "other");
    mkdirSync(other, { recursive: true });
    const twin = archive(other, "web.tar", "example.com/twin:1");
    expect(() => imageArchives({ images: [own, twin] })).toThrow(/two image archives named web\.tar/);
    expect(() => nodeSpec({ dir: "/c", images: ["web.tar"] })).toThrow(/^--images: an image archive's path must be absolute/);
    expect(() => imageImportScript(ctx("/n", { dir: "/c", images: [join(work, "none.tar")] }))).toThrow(/none\.tar: images: no image archive there$/);
    const nameless = join(work, "nameless.tar");
    writeFileSync(nameless, readFileSync(own).subarray(0, 512 * 2)); // a tar cut before its index.json
    expect(() => archiveImages(nameless)).toThrow(/names no image/);
  });

  it("the script passes shellcheck as POSIX sh, and dash and bash parse it", () => {
    const c = ctx("/n", { dir: "/c", images: [own], upload });
    const path = join(work, "import.sh");
    writeFileSync(path, `#!/bin/sh\n${preamble(c.node).text}\n${imageImportScript(c).text}\n`);
    const sc = run(peer("shellcheck"), ["-s", "sh", path]);
    expect(sc.status, sc.stdout).toBe(0);
    for (const sh of ["dash", "bash"]) expect(run(peer(sh), ["-n", path]).status).toBe(0);
  });
});

describe("the import script on the real containerd", () => {
  let ctd: TestContainerd;
  const root = tempDir("dk-node-");
  const log = join(root, "ctr.log");
  let c: StepContext;

  beforeAll(async () => {
    ctd = await startContainerd();
    const [pause, web] = [await pauseImage("1.37.2"), await webImage()];
    c = ctx(root, { dir: join(root, "cluster"), images: [pause.path, web.path] });
    // The node's layout: its ctr (the real one, logging its arguments) and containerd's socket where the
    // containerd step puts it.
    mkdirSync(c.node.bin, { recursive: true });
    writeFileSync(join(c.node.bin, "ctr"), `#!/bin/sh\necho "$*" >> ${log}\nexec ${join(ctd.bin, "ctr")} "$@"\n`);
    chmodSync(join(c.node.bin, "ctr"), 0o755);
    mkdirSync(c.node.path("run/containerd"), { recursive: true });
    symlinkSync(ctd.socket, c.node.path("run/containerd/containerd.sock"));
    // The uploaded archives, where imageFiles puts them.
    for (const f of imageFiles(c)) {
      mkdirSync(join(f.path, ".."), { recursive: true });
      writeFileSync(f.path, await fileContent(c.spec, f));
    }
  });
  afterAll(async () => {
    await ctd?.stop();
  });

  const runScript = () => run(peer("dash"), ["-c", wrap(raw([preamble(c.node).text, imageImportScript(c).text].join("\n")))]);
  const imports = () =>
    existsSync(log)
      ? readFileSync(log, "utf8")
          .split("\n")
          .filter((l) => / images import /.test(l)).length
      : 0;
  const row = (name: string) =>
    ctd
      .ctr("images", "ls")
      .stdout.split("\n")
      .find((l) => l.startsWith(`${name} `));

  it("imports each archive into k8s.io and pins its image", () => {
    const r = runScript();
    expect(r.status, r.stderr).toBe(0);
    expect(imports()).toBe(2);
    for (const name of ["registry.k8s.io/pause:3.10.2", "docker.io/zwindler/vhelloworld:dk-webapp-1"]) {
      expect(row(name), `${name} is not listed`).toMatch(/io\.cri-containerd\.pinned=pinned/);
    }
  });

  it("a second run imports nothing, and still pins", () => {
    ctd.ctr("images", "label", "registry.k8s.io/pause:3.10.2", "io.cri-containerd.pinned="); // unpinned meanwhile
    const r = runScript();
    expect(r.status, r.stderr).toBe(0);
    expect(imports()).toBe(2);
    expect(row("registry.k8s.io/pause:3.10.2")).toMatch(/io\.cri-containerd\.pinned=pinned/);
  });

  it("an image removed from containerd is imported again", () => {
    expect(ctd.ctr("images", "rm", "docker.io/zwindler/vhelloworld:dk-webapp-1").status).toBe(0);
    const r = runScript();
    expect(r.status, r.stderr).toBe(0);
    expect(imports()).toBe(3);
    expect(row("docker.io/zwindler/vhelloworld:dk-webapp-1")).toMatch(/io\.cri-containerd\.pinned=pinned/);
  });

  it("an archive that does not hold the image it names fails the script, never a silent success", () => {
    // The plan read the pause archive here; the node holds another one under its name: the pin finds no pause.
    const f = imageFiles(c)[0]!;
    const other = ociArchive({ name: "example.com/other:1", files: [{ path: "/x", content: Buffer.from("x") }] });
    ctd.ctr("images", "rm", "registry.k8s.io/pause:3.10.2");
    writeFileSync(f.path, other.bytes);
    const r = runScript();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/registry\.k8s\.io\/pause:3\.10\.2/);
  });
});
