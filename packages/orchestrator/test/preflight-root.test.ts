// Root never runs what a login user can replace: with root steps pending under a remote root, the preflight refuses
// a remote root (or a folder above it) that is not root's or that group or others may write, and names it. The
// preflight script runs for real in dash, as root (the test suite's user), on folders made for each case.
import { chmodSync, chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, runAsync, tempDir } from "../../../test-support/peers.js";
import { NodeLayout, nodeSpec, plan, preamble } from "../src/index.js";
import { preflight } from "../src/steps/preflight.js";

const NOBODY = 65534;

/** The preflight's problem lines about folder ownership, for root steps under `remoteRoot`. */
async function ownershipProblems(remoteRoot: string): Promise<string[]> {
  const s = nodeSpec({ dir: join(remoteRoot, "..", "cluster"), remoteRoot, arch: "amd64" });
  const pending = plan({ from: "containerd", until: "containerd" }, s);
  expect(pending.map((p) => p.needsRoot)).toEqual([true]);
  const c = { spec: s, node: new NodeLayout(remoteRoot), arch: "amd64", supervisor: "process" as const };
  const r = await runAsync(peer("dash"), ["-c", `${preamble(c.node).text}\n${preflight(pending, new Date(0), s).script(c).text}`]);
  return r.stderr.split("\n").filter((l) => / is owned by uid /.test(l));
}

describe("the preflight of root steps under a remote root", () => {
  const base = tempDir("dk-preflight-root-");
  chmodSync(base, 0o755);

  it("passes a remote root that is root's, in folders that are root's (a sticky /tmp above included)", async () => {
    const root = join(base, "good");
    mkdirSync(root, { mode: 0o755 });
    expect(await ownershipProblems(root)).toEqual([]);
    // Not made yet: root makes it, under folders that are root's.
    expect(await ownershipProblems(join(base, "good", "not", "yet"))).toEqual([]);
  });

  it("refuses a remote root a login user owns, naming it and what runs as root", async () => {
    const root = join(base, "users");
    mkdirSync(root, { mode: 0o755 });
    chownSync(root, NOBODY, NOBODY);
    const [line, ...more] = await ownershipProblems(root);
    expect(more).toEqual([]);
    expect(line).toBe(
      `preflight: ${root} is owned by uid ${NOBODY} with mode 755: containerd run as root from under it, and a user who can change it could replace what root runs: make it root's and not group- or world-writable (chown root: and chmod go-w), or choose a remote root whose folders are`,
    );
  });

  it("refuses a group-writable remote root, and a user's folder above one that does not exist yet", async () => {
    const writable = join(base, "writable");
    mkdirSync(writable, { mode: 0o755 });
    chmodSync(writable, 0o775);
    expect(await ownershipProblems(writable)).toEqual([expect.stringMatching(new RegExp(`^preflight: ${writable} is owned by uid 0 with mode 775:`))]);
    const parent = join(base, "parent");
    mkdirSync(parent, { mode: 0o755 });
    chownSync(parent, NOBODY, NOBODY);
    expect(await ownershipProblems(join(parent, "k8s"))).toEqual([
      expect.stringMatching(new RegExp(`^preflight: ${parent} is owned by uid ${NOBODY} with mode 755:`)),
    ]);
  });
});
