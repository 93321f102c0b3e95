// `explain STEP` shows the commands a run of this folder would send (issue 21): the folder's saved node name, as the
// dry run uses it, not the default `kubernetes`.
import { describe, expect, it } from "vitest";
import { dk, tempDir } from "../../../test-support/peers.js";

describe("explain reads the folder's saved settings", () => {
  it("shows the saved node name, as the dry run does", () => {
    const cwd = tempDir();
    expect(dk(["certs", "--node-name", "node7", "--key-algo", "ecdsa"], { cwd }).status).toBe(0);
    const r = dk(["explain", "etcd"], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("--name=node7");
    expect(r.stdout).not.toContain("--name=kubernetes");
    const dry = dk(["ssh", "root@192.0.2.1", "--dry-run", "--until", "etcd"], { cwd });
    expect(dry.stdout).toContain("--name=node7");
  });

  it("without a folder, the defaults", () => {
    const r = dk(["explain", "etcd"], { cwd: tempDir() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("--name=kubernetes");
  });
});
