// Air-gapped images through the CLI and the cluster file: `bundle --images DIR` takes archives into the bundle
// (the node's plan then finds them through --upload), and `spec.images` in a cluster file reaches each host's spec.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";
import { hostSpec, imageArchives, ociArchive, parseClusterFile, DEFAULT_VERSIONS } from "@dk-bootstrap/orchestrator";

/** A small archive of our own writer, named `name`, in `dir`. */
function archive(dir: string, file: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), ociArchive({ name, files: [{ path: "/x", content: Buffer.from(name) }], entrypoint: ["/x"] }).bytes);
  return join(dir, file);
}

// --until preflight: a plan with nothing to download, so only the images are bundled (nothing goes online).
const bundleArgs = (out: string, images: string) => [
  "bundle",
  "--out",
  out,
  "--images",
  images,
  "--until",
  "preflight",
  "--k8s-version",
  "1.36.3",
  "--arches",
  "amd64",
];

describe("dk-bootstrap bundle --images", () => {
  const work = tempDir("dk-bundle-img-");
  const src = join(work, "archives");
  archive(src, "pause.tar", "registry.k8s.io/pause:3.10.2");
  archive(src, "web.tar", "zwindler/vhelloworld:1");
  writeFileSync(join(src, "notes.txt"), "not an archive");
  const out = join(work, "bundle");

  it("copies every archive into the bundle's images/ folder, naming the images each holds; a second run keeps them", () => {
    let r = dk(bundleArgs(out, src));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`got  ${join(out, "images", "pause.tar")} (registry.k8s.io/pause:3.10.2)`);
    expect(r.stdout).toContain("(docker.io/zwindler/vhelloworld:1)");
    expect(readdirSync(join(out, "images")).sort()).toEqual(["pause.tar", "web.tar"]);
    expect(readFileSync(join(out, "images", "web.tar")).equals(readFileSync(join(src, "web.tar")))).toBe(true);
    r = dk(bundleArgs(out, src));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`have ${join(out, "images", "pause.tar")}`);
    // What a node's plan with --upload BUNDLE then gets.
    expect(imageArchives({ upload: out })).toEqual([join(out, "images", "pause.tar"), join(out, "images", "web.tar")]);
  });

  it("refuses a folder with an archive that names no image before copying any, in one line", () => {
    const bad = join(work, "bad");
    archive(bad, "a.tar", "example.com/a:1");
    writeFileSync(join(bad, "b.tar"), Buffer.alloc(1024)); // an empty tar: no index.json, no manifest.json
    const dest = join(work, "bundle-bad");
    const r = dk(bundleArgs(dest, bad));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^error: .*b\.tar: --images: an image archive that names no image/m);
    expect(() => readdirSync(join(dest, "images"))).toThrow();
  });

  it("refuses a folder without archives, with a hint on how to make one", () => {
    const r = dk(bundleArgs(join(work, "bundle-none"), join(work, "bundle")));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/error: --images: holds no image archive/);
    expect(r.stderr).toMatch(/hint: make one with `ctr images export`/);
  });
});

describe("spec.images in a cluster file", () => {
  const text = (images: string) =>
    `apiVersion: dk-bootstrap/v1alpha1\nkind: Cluster\nmetadata:\n  name: demo\nspec:\n  hosts:\n    - { ssh: { address: 10.0.0.1 }, role: controller+worker }\n  images: ${images}\n`;

  it("reads each path from the file's folder (absolute ones as they are) into every host's spec", () => {
    const { cluster } = parseClusterFile(text("[images/pause.tar, /srv/web.tar]"), "/etc/dk/cluster.yaml");
    expect(cluster.images).toEqual(["/etc/dk/images/pause.tar", "/srv/web.tar"]);
    const spec = hostSpec(
      cluster,
      cluster.hosts[0]!,
      { nodeName: "cp1", nodeIPs: ["10.0.0.1"] },
      {
        dir: "/c",
        versions: DEFAULT_VERSIONS,
        clusterSteps: true,
        controllerIp: "10.0.0.1",
      },
    );
    expect(spec.images).toEqual(["/etc/dk/images/pause.tar", "/srv/web.tar"]);
  });

  it("refuses anything but a list of paths, with its field path", () => {
    expect(() => parseClusterFile(text("images/pause.tar"), "cluster.yaml")).toThrow(/cluster\.yaml: spec\.images: expected a list of image archive paths/);
    expect(() => parseClusterFile(text("[1]"), "cluster.yaml")).toThrow(/spec\.images: expected a list/);
  });

  it("a file without images gives hosts without any (they pull, as today)", () => {
    const { cluster } = parseClusterFile(text("[]").replace("  images: []\n", ""), "cluster.yaml");
    expect(cluster.images).toBeUndefined();
  });
});
