// The page's table of which component reads which file is the orchestrator's: each step's files, as a run installs them.
import { NodeLayout, STEPS, assumedSupervisor, nodeSpec } from "@dk-bootstrap/orchestrator";
import { COMPONENT_KUBECONFIGS } from "@dk-bootstrap/kubeconfig";
import { CERT_DEFS } from "@dk-bootstrap/pki";
import { describe, expect, it } from "vitest";
import { COMPONENTS, TRUSTS } from "../src/components.js";

describe("the page's components", () => {
  const spec = nodeSpec({ dir: "/tmp/dk-web-components" });
  const c = { spec, node: new NodeLayout(spec.remoteRoot), arch: "amd64", supervisor: assumedSupervisor(spec) };

  it("read exactly the cluster folder's files their step installs", () => {
    for (const comp of COMPONENTS.filter((x) => x.step)) {
      const step = STEPS.find((s) => s.id === comp.step)!;
      expect(step.components, comp.name).toContain(comp.name);
      // One local file may be installed twice (ca.crt is also kube-controller-manager's single-certificate ca-signer.crt).
      const installed = [
        ...new Set(
          step
            .files(c)
            .map((f) => f.local)
            .filter((l): l is string => typeof l === "string"),
        ),
      ].sort();
      expect([...new Set(comp.reads.map((r) => r.file))].sort(), comp.name).toEqual(installed);
    }
  });

  it("name only certificates and kubeconfigs of the cluster PKI", () => {
    const names = new Set(CERT_DEFS.map((d) => d.name));
    const confs = new Set(COMPONENT_KUBECONFIGS.map((k) => k.file));
    for (const comp of COMPONENTS)
      for (const r of comp.reads) {
        const m = /^pki\/(.+)\.(crt|key|pub)$/.exec(r.file);
        expect(m ? names.has(m[1]!) || m[1] === "sa" : confs.has(r.file), r.file).toBe(true);
      }
    for (const t of TRUSTS) for (const n of [t.presents, t.checkedWith]) expect(names.has(n), n).toBe(true);
  });
});
