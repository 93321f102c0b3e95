// The plan's flag and config checks, for every Kubernetes minor of the table of tested combinations.
import { describe, expect, it } from "vitest";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { dk, tempDir } from "../../../test-support/peers.js";

/** Flags the kubelet and the control plane no longer take (removed by 1.27-1.35), and kubectl's `--short`. */
const REMOVED = [/--container-runtime[= ]/, /--short\b/, /--pod-infra-container-image/, /--insecure-port/, /--experimental-/, /--register-schedulable/];

describe.each(RELEASES.map((r) => [r.minor, r] as const))("Kubernetes %s", (_, release) => {
  const cwd = tempDir();
  const r = dk(["ssh", "root@192.0.2.10", "--dry-run", "--k8s-version", release.knownPatch], { cwd });

  it("plans with the releases paired with it", () => {
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`/v${release.knownPatch}/bin/linux/amd64/kube-apiserver`);
    expect(r.stdout).toContain(`etcd-v${release.etcd}-linux-amd64.tar.gz`);
    expect(r.stdout).toContain(`containerd-${release.containerd}-linux-amd64.tar.gz`);
    expect(r.stdout).toContain(`/v${release.runc}/runc.amd64`);
  });

  it("uses no removed flag", () => {
    for (const flag of REMOVED) expect(r.stdout, String(flag)).not.toMatch(flag);
  });
});
