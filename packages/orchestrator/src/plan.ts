import { InputError, nearestName } from "@dk-bootstrap/pki";
import { etcd, kubeApiserver, kubeControllerManager, kubeScheduler, rbac } from "./steps/control-plane.js";
import type { Step } from "./steps/step.js";
import { cni, containerd, kubeProxy, kubelet, web } from "./steps/worker.js";
import { coredns } from "./steps/coredns.js";
import { traefik } from "./steps/addons.js";
import { type NodeSpec, runsOn } from "./spec.js";

/** Every step, in the workshop's order (the preflight is made per run, for the steps that are pending). */
export const STEPS: readonly Step[] = [
  etcd,
  kubeApiserver,
  rbac,
  kubeControllerManager,
  kubeScheduler,
  containerd,
  kubelet,
  cni,
  kubeProxy,
  coredns,
  web,
  traefik,
];

/** The id of the preflight: not in {@link STEPS} (it is made per run), but a run can start or stop there. */
export const PREFLIGHT = "preflight";

/**
 * The steps from `from` to `until` (ids, both included), without the optional ones the spec does not ask for.
 * `preflight` comes before every step: `from: "preflight"` is the whole plan, `until: "preflight"` no step at all
 * (a run then only checks the node for the whole plan).
 */
export function plan(range: { from?: string; until?: string } = {}, spec?: NodeSpec): Step[] {
  const index = (id: string | undefined, flag: string, fallback: number) => {
    if (id === undefined) return fallback;
    if (id === PREFLIGHT) return -1;
    const i = STEPS.findIndex((s) => s.id === id);
    if (i < 0) throw unknownStep(id, flag);
    return i;
  };
  const from = Math.max(index(range.from, "--from", 0), 0);
  const until = index(range.until, "--until", STEPS.length - 1);
  if (until >= 0 && from > until) throw new InputError(`--from ${range.from} comes after --until ${range.until}`, { field: "--from" });
  return STEPS.slice(from, until + 1).filter((s) => !spec || ((!s.enabled || s.enabled(spec)) && runsOn(spec, s.runsOn)));
}

/** A step by its id (optional steps included), or the one-line error that lists the steps. */
export function stepById(id: string, field = "STEP"): Step {
  const step = STEPS.find((s) => s.id === id);
  if (!step) throw unknownStep(id, field);
  return step;
}

/** The one line for a step name that is none, with the nearest one when it looks like a typo (`etdc`). */
function unknownStep(id: string, field: string): InputError {
  const ids = [PREFLIGHT, ...STEPS.map((s) => s.id)];
  const near = nearestName(id, ids);
  return new InputError(`unknown step; steps: ${ids.join(", ")}`, { field, value: id }, near ? { hint: `did you mean ${near}?` } : {});
}
