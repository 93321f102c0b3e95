// The OCI archive writer, judged by the real containerd (built from its module) and runc: the archive is
// imported with `ctr images import`, listed under its name, `ctr images check` says it is complete, and
// containers run from it (the layer unpacked right, the config's entrypoint, user and env applied). Our
// own reader (archive-names.ts) is only checked against what containerd itself says.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContainerd, startContainerd } from "../../../test-support/containerd.js";
import { builtPeer } from "../../../test-support/built-peers.js";
import { COREDNS_VERSION, TRAEFIK_VERSION, corednsImage, pauseImage, traefikImage, webImage } from "../../../test-support/images.js";
import { run, tempDir } from "../../../test-support/peers.js";
import { archiveImages, imageName, ociArchive } from "../src/index.js";
import { tarBytes, withParents } from "../src/images/tar.js";

describe("image names as containerd stores them", () => {
  it.each([
    ["registry.k8s.io/pause:3.10.2", "registry.k8s.io/pause:3.10.2"],
    ["zwindler/vhelloworld", "docker.io/zwindler/vhelloworld:latest"],
    ["traefik:v3.6.2", "docker.io/library/traefik:v3.6.2"],
    ["localhost:5000/web:1", "localhost:5000/web:1"],
  ])("%s is %s", (given, full) => expect(imageName(given).full).toBe(full));

  it.each(["Upper/case:1", "web@sha256:abc", "web:", "a//b:1"])("%s is refused with one line naming the field", (bad) => {
    expect(() => imageName(bad)).toThrow(/^image: .*\(got /);
  });
});

describe("the archive writer", () => {
  const input = { name: "example.com/a:1", files: [{ path: "/bin/a", content: Buffer.from("#!/bin/sh\n") }], entrypoint: ["/bin/a"] };

  it("writes the same bytes for the same input, and other digests for another file", () => {
    const [a, b] = [ociArchive(input), ociArchive(input)];
    expect(a.bytes.equals(b.bytes)).toBe(true);
    const c = ociArchive({ ...input, files: [{ path: "/bin/a", content: Buffer.from("#!/bin/sh\nexit 1\n") }] });
    expect(c.diffId).not.toBe(a.diffId);
    expect(c.manifestDigest).not.toBe(a.manifestDigest);
  });

  it("lists its entries sorted, parents first, owned by 0:0 at one mtime (GNU tar reads it)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.tar"), ociArchive(input).bytes);
    const r = run("tar", ["--numeric-owner", "-tvf", join(dir, "a.tar")]);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split("\n");
    expect(rows.map((l) => l.split(/\s+/).pop())).toEqual([
      "blobs/",
      "blobs/sha256/",
      ...rows.slice(2, 5).map((l) => l.split(/\s+/).pop()),
      "index.json",
      "oci-layout",
    ]);
    for (const l of rows) expect(l).toMatch(/ 0\/0 .* 1970-01-01 00:00 /);
  });

  it("refuses a relative path and a path given twice, each with one line", () => {
    expect(() => ociArchive({ ...input, files: [{ path: "bin/a", content: Buffer.alloc(0) }] })).toThrow(/must be absolute/);
    expect(() => ociArchive({ ...input, files: [...input.files, ...input.files] })).toThrow(/given twice/);
  });
});

describe("archives in the real containerd", () => {
  let ctd: TestContainerd;
  const work = tempDir("dk-img-");

  beforeAll(async () => {
    ctd = await startContainerd();
  });
  afterAll(async () => {
    await ctd?.stop();
  });

  /**
   * Runs an image as a task of this containerd's own ID (`ctr run --rm`, ctr's extra arguments before the image):
   * its ID, its host PID once it runs, and the run's end. A run that ends before its task shows fails with ctr's words.
   */
  const runTask = async (image: string, name: string, ...flags: string[]) => {
    const id = ctd.taskId(name);
    let ended: { status: number | null; stderr: string } | undefined;
    const done = ctd.ctrAsync("run", "--rm", ...flags, image, id).then((r) => (ended = r));
    for (let i = 0; i < 600 && !ended; i++) {
      const pid = new RegExp(`^${id}\\s+(\\d+)\\s+RUNNING`, "m").exec(ctd.ctr("tasks", "ls").stdout)?.[1];
      if (pid) return { id, pid, done };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(ended ? `ctr run ${image} ended (exit ${ended.status}) before its task ran: ${ended.stderr.trim()}` : `the task ${id} never ran`);
  };

  /** `ctr images ls`'s row for a name: its digest and labels. */
  const listed = (name: string) =>
    ctd
      .ctr("images", "ls")
      .stdout.split("\n")
      .find((l) => l.split(/\s+/)[0] === name);

  it("imports the pause image under kubeadm's name: listed with the writer's digest, complete, unpacked; our reader agrees", async () => {
    const img = await pauseImage("1.37.2");
    expect(img.name).toBe("registry.k8s.io/pause:3.10.2");
    const r = ctd.ctr("images", "import", "--platform", "linux/amd64", img.path);
    expect(r.status, r.stderr).toBe(0);
    const [read] = archiveImages(img.path);
    expect(read!.name).toBe(img.name);
    expect(listed(img.name)).toContain(read!.digest);
    const check = ctd.ctr("images", "check", `name==${img.name}`);
    expect(check.stdout).toMatch(/complete \(2\/2\)/);
    expect(check.stdout).toMatch(/\btrue\s*$/m); // UNPACKED
  });

  it("runs pause from the image: as 65535 (the config's user), and SIGTERM ends it with exit 0", async () => {
    const task = await runTask("registry.k8s.io/pause:3.10.2", "pause-1");
    expect(readFileSync(`/proc/${task.pid}/status`, "utf8")).toMatch(/^Uid:\s+65535\s/m);
    expect(readFileSync(`/proc/${task.pid}/cmdline`, "utf8")).toBe("/pause\0");
    expect(ctd.ctr("tasks", "kill", "-s", "SIGTERM", task.id).status).toBe(0);
    const done = await task.done;
    expect(done.status, done.stderr).toBe(0);
  });

  it("runs the web app from its image: the layer's /webapp on the image's PORT, its page naming the container's host", async () => {
    const img = await webImage();
    expect(ctd.ctr("images", "import", "--platform", "linux/amd64", img.path).status).toBe(0);
    const { id, pid, done: running } = await runTask(img.name, "web-1", "--hostname", "web-7f9c");
    // Inside the container's own network namespace (ctr gives it a loopback only): the image's port 80.
    let page = run("nsenter", ["-t", pid, "-n", "curl", "-s", "--retry", "50", "--retry-connrefused", "--retry-delay", "0", "http://127.0.0.1:80/"]);
    expect(page.status, page.stderr).toBe(0);
    expect(page.stdout).toContain("Hello World!");
    expect(page.stdout).toContain("Served by web-7f9c");
    page = run("nsenter", ["-t", pid, "-n", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:80/healthz"]);
    expect(page.stdout).toBe("200");
    expect(ctd.ctr("tasks", "kill", "-s", "SIGTERM", id).status).toBe(0);
    const done = await running;
    expect(done.status, done.stderr).toBe(0);
  });

  it("runs CoreDNS from its image under the coredns step's name: /coredns is the entrypoint, and it answers DNS", async () => {
    const img = await corednsImage(COREDNS_VERSION);
    expect(img.name).toBe(`registry.k8s.io/coredns/coredns:v${COREDNS_VERSION}`);
    expect(ctd.ctr("images", "import", "--platform", "linux/amd64", img.path).status).toBe(0);
    const { id, pid, done: running } = await runTask(img.name, "coredns-1");
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("/coredns\0");
    // With no Corefile, CoreDNS serves its whoami plugin on :53: the client's own address, in the additional section.
    // Asked again until it answers (up to a minute): the task runs before CoreDNS listens, and a refused query (an
    // ICMP port unreachable) ends dig's tries at once, so 30 of them went by in a CI run before CoreDNS was up.
    const whoami = /^example\.org\.\s+0\s+IN\s+A\s+127\.0\.0\.1$/m;
    const ask = () => run("nsenter", ["-t", pid, "-n", "dig", "+noall", "+additional", "+tries=1", "+timeout=1", "@127.0.0.1", "example.org"]);
    let dig = ask();
    for (const end = Date.now() + 60_000; !whoami.test(dig.stdout) && Date.now() < end; dig = ask()) await new Promise((r) => setTimeout(r, 200));
    expect(dig.stdout, dig.stderr).toMatch(whoami);
    expect(ctd.ctr("tasks", "kill", "-s", "SIGTERM", id).status).toBe(0);
    await running;
  });

  it("runs Traefik from its image under the traefik step's name: /traefik is the entrypoint, and it serves HTTP on :80", async () => {
    const img = await traefikImage(TRAEFIK_VERSION);
    expect(img.name).toBe(`docker.io/library/traefik:v${TRAEFIK_VERSION}`);
    expect(ctd.ctr("images", "import", "--platform", "linux/amd64", img.path).status).toBe(0);
    const { id, pid, done: running } = await runTask(img.name, "traefik-1");
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("/traefik\0");
    // With no configuration Traefik listens on :80 with no route: every path is its own 404.
    const r = run("nsenter", ["-t", pid, "-n", "curl", "-s", "--retry", "50", "--retry-connrefused", "--retry-delay", "0", "http://127.0.0.1:80/"]);
    expect(r.stdout, r.stderr).toBe("404 page not found\n");
    expect(ctd.ctr("tasks", "kill", "-s", "SIGTERM", id).status).toBe(0);
    await running;
  });

  it("names a `docker save` archive (manifest.json's RepoTags) as containerd does: our reader gives the name ctr lists", () => {
    // The older `docker save` form, made by hand: a config, an uncompressed layer, and manifest.json naming them.
    const layer = tarBytes(withParents([{ path: "hello", content: Buffer.from("hello"), mode: 0o644 }]));
    const diffId = `sha256:${createHash("sha256").update(layer).digest("hex")}`;
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } }));
    const configName = `${createHash("sha256").update(config).digest("hex")}.json`;
    const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ["legacy-web:7"], Layers: ["l1/layer.tar"] }]));
    const path = join(work, "legacy.tar");
    writeFileSync(
      path,
      tarBytes(
        withParents([
          { path: configName, content: config },
          { path: "l1/layer.tar", content: layer },
          { path: "manifest.json", content: manifest },
        ]),
      ),
    );
    expect(archiveImages(path)).toEqual([{ name: "docker.io/library/legacy-web:7" }]);
    const r = ctd.ctr("images", "import", "--platform", "linux/amd64", path);
    expect(r.status, r.stderr).toBe(0);
    expect(listed("docker.io/library/legacy-web:7")).toBeDefined();
  });

  it("takes the archive written again from the same program as the same image (same digest: nothing new)", async () => {
    const img = await pauseImage("1.37.2");
    const before = listed(img.name);
    const again = ociArchive({
      name: img.name,
      entrypoint: ["/pause"],
      user: "65535:65535",
      files: [{ path: "/pause", content: readFileSync(join(builtPeer("pause", "1"), "pause")) }],
    });
    writeFileSync(join(work, "pause-again.tar"), again.bytes);
    expect(ctd.ctr("images", "import", "--platform", "linux/amd64", join(work, "pause-again.tar")).status).toBe(0);
    expect(before).toContain(again.manifestDigest);
    expect(listed(img.name)).toBe(before);
  });
});
