import { rm } from "node:fs/promises";
import { join } from "node:path";
import { contextFor } from "./context.js";
import { stepScript } from "./context.js";
import { EtcdTools, restoreLeftovers } from "./etcd-snapshot-file.js";
import type { EventSink } from "./events.js";
import { STEPS } from "./plan.js";
import { lines, sh } from "./shell.js";
import type { NodeSpec } from "./spec.js";
import { type Transport, exec } from "./transport/transport.js";

/**
 * The workshop's Cleanup, for exactly what dk-bootstrap made: stops every component it starts (in
 * reverse order), removes the files it puts, the programs it installs, the data, state, cache and log
 * folders, the data folders `etcd restore` set aside or staged beside etcd's (`var/lib/etcd.before-restore-STAMP`,
 * `.restore-STAMP`), and, under a remote root other than `/`, the folders left empty. Works after a half-done run.
 */
export async function reset(spec: NodeSpec, transport: Transport, options: { events?: EventSink } = {}): Promise<void> {
  const emit = options.events ?? (() => undefined);
  const c = await contextFor(spec, transport);
  const steps = [...STEPS].reverse();
  const stops = steps
    .flatMap((s) => s.components)
    .map(
      (name) =>
        sh`dk_stop ${name}; if dk_systemd; then systemctl disable ${`dk-${name}`} >/dev/null 2>&1 || true; rm -f ${`/etc/systemd/system/dk-${name}.service`}; fi`,
    );
  const paths = [
    ...new Set([...steps.flatMap((s) => [...s.files(c).map((f) => f.path), ...s.creates(c)]), c.node.state, c.node.cache, c.node.logs, c.node.run]),
  ];
  const prune = spec.remoteRoot === "/" ? sh`true` : sh`find ${spec.remoteRoot} -mindepth 1 -depth -type d -empty -delete`;
  emit({ type: "step-start", step: "reset", title: "reset", why: "stop what dk-bootstrap started and remove what it made" });
  const restores = restoreLeftovers(new EtcdTools(transport, spec.remoteRoot).dataDir);
  await exec(transport, stepScript(c, lines([...stops, sh`rm -rf ${paths} ${restores}`, prune])), {
    onLine: (line, stream) => emit({ type: "output", step: "reset", stream, line }),
  });
  await rm(join(spec.dir, "state.json"), { force: true });
  emit({ type: "step-done", step: "reset", status: "done", ms: 0 });
}
