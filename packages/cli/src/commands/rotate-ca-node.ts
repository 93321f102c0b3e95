import { resolve } from "node:path";
import { InputError, describeRotation, rotatableCa, rotationInProgress } from "@dk-bootstrap/pki";
import { nodeStatus, plan, rotateCaOnNode, rotationCaveats } from "@dk-bootstrap/orchestrator";
import { RunOutput } from "../render/output.js";
import { readSavedSettings } from "../saved-settings.js";
import { asRoot, connect, parseTarget } from "../connection.js";
import { nodeSpecFromFlags } from "../node-spec-flags.js";
import type { NodeOptions } from "../options/node-options.js";
import { type RotateCaFlags, checkRotationState, mustBeClusterFolder, sayImpact } from "../rotation-checks.js";

/**
 * `certs rotate-ca NAME ssh [user@]host`: the one-node cluster of `dk-bootstrap ssh`, its spec rebuilt from the
 * settings saved in the folder (a changed setting would restart everything, not only what the rotation changes).
 */
export async function rotateCaOnNodeCommand(name: string, target: string, o: RotateCaFlags): Promise<void> {
  const ca = rotatableCa(name);
  const dir = resolve(o.dir);
  await mustBeClusterFolder(dir, "pass the --dir that `dk-bootstrap ssh` used");
  const { saved, text } = await readSavedSettings(dir);
  if (text === undefined)
    throw new InputError(
      "no saved settings: this is not the folder of a one-node cluster",
      { file: dir },
      { hint: "pass the --dir that `dk-bootstrap ssh` used" },
    );
  const settings = Object.fromEntries([...saved].map(([flag, v]) => [flag.slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase()), v]));
  const flags: NodeOptions = {
    ...(settings as Partial<NodeOptions>),
    dir,
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.knownHosts ? { knownHosts: o.knownHosts } : {}),
    ...(o.acceptNewHostKey ? { acceptNewHostKey: true } : {}),
    ...(o.sudoPasswordStdin ? { sudoPasswordStdin: true } : {}),
    ...(o.port ? { port: o.port } : {}),
    ...(o.jump ? { jump: o.jump } : {}),
  };
  const { host } = parseTarget(target);
  const spec = nodeSpecFromFlags(flags, host);
  const say = (line: string) => process.stdout.write(`[rotate-ca] ${line}\n`);
  if (o.dryRun) {
    say(`${name} CA (${ca}): three phases, each written in ${dir} as one set, then rolled out on ${target}`);
    for (const c of rotationCaveats(name)) say(`note: ${c}`);
    sayImpact(say, spec.nodeName, spec, ca);
    return;
  }
  await checkRotationState(dir, name, ca, o.abort ?? false, `ssh ${target}`);
  for (const c of rotationCaveats(name)) say(`note: ${c}`);
  const t = await connect(target, flags);
  const out = new RunOutput({ host, json: o.json ?? false, verbose: o.verbose ?? false });
  try {
    let rt = await asRoot(t, spec.remoteRoot === "/", flags);
    // Root as the steps that ran need it (a remote root of one's own runs etcd as the user, the kubelet as root).
    const done = (await nodeStatus(spec, rt)).filter((s) => s.done).map((s) => s.id);
    if (spec.remoteRoot !== "/" && plan({}, spec).some((s) => s.needsRoot && done.includes(s.id))) rt = await asRoot(t, true, flags);
    const r = await rotateCaOnNode(spec, rt, {
      name,
      ...(o.abort ? { abort: true } : {}),
      ...(o.until ? { until: o.until } : {}),
      events: (e) => out.sink(e),
      say,
    });
    if (rotationInProgress(r)) say(`stopped: ${describeRotation(r)}`);
    else
      say(
        `done: the ${name} CA is ${r.aborting ? r.old : r.new} (sha256); the old one's key is kept in ${resolve(dir, r.archive)} until \`certs rotate-ca ${name} --purge-archive\``,
      );
  } finally {
    await out.close();
    await t.close();
  }
}
