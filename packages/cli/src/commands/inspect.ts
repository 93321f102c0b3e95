import { type Command } from "commander";
import { NodeLayout, STEPS, componentLogs, explainStep, nodeMark, nodeRotation, nodeRotationFile, nodeStatus, plan } from "@dk-bootstrap/orchestrator";
import { InputError, describeRotation, readRotation, rotationInProgress, table, withClusterFolder } from "@dk-bootstrap/pki";
import { addDirOption, addIdentityOptions } from "../options/cluster-options.js";
import { type NodeOptions, addPlanOptions, sshOptions } from "../options/node-options.js";
import { asRoot, connect, parseTarget } from "../connection.js";
import { nodeSpecFromFlags } from "../node-spec-flags.js";
import { resolveVersionFlags } from "../version-flags.js";
import { withSavedSettings } from "../with-saved-settings.js";

/** `dk-bootstrap explain`, `status` and `logs`: look at the plan and at a node without changing anything. */
export function registerInspect(program: Command): void {
  addPlanOptions(addIdentityOptions(addDirOption(program.command("explain [step]"))))
    .description("why each step is needed, offline; with a step, also the exact commands it runs (with the folder's saved settings)")
    .addHelpText("after", "\nExamples:\n  dk-bootstrap explain\n  dk-bootstrap explain kubelet\n  dk-bootstrap explain kubelet --dir ./cluster")
    .action(async (step: string | undefined, o: NodeOptions, cmd: Command) => {
      // The commands a run of this folder would send: its saved node name, IPs and versions, as the dry run uses them.
      await withSavedSettings(cmd, o.dir, () => undefined);
      await resolveVersionFlags(cmd, o, false, () => undefined);
      if (step) {
        process.stdout.write(explainStep(nodeSpecFromFlags(o), step));
        return;
      }
      for (const s of plan({}, nodeSpecFromFlags(o))) process.stdout.write(`${s.id}: ${s.title}\n  ${s.why}\n\n`);
      process.stdout.write("Run `dk-bootstrap explain STEP` for a step's commands.\n");
    });

  sshOptions(addPlanOptions(addIdentityOptions(addDirOption(program.command("status [target]")))))
    .description("each step on [user@]host (or on every host of a cluster file): done, with today's inputs, healthy now")
    .option("-f, --file <file>", "every host of this cluster file, with etcd's members and each node's certificates")
    .addHelpText("after", "\nExamples:\n  dk-bootstrap status root@192.168.1.10\n  dk-bootstrap status -f cluster.yaml")
    .action(async (target: string | undefined, o: NodeOptions & { file?: string }, cmd: Command) => {
      if (o.file) return (await import("./cluster-status.js")).clusterStatusCommand({ ...o, file: o.file });
      if (!target) throw new InputError("a target is needed: [user@]host, or -f cluster.yaml", { field: "target" });
      await withSavedSettings(cmd, o.dir, () => undefined);
      await resolveVersionFlags(cmd, o, false, () => undefined);
      const spec = nodeSpecFromFlags(o, parseTarget(target).host);
      const t = await connect(target, o);
      try {
        const rt = await asRoot(t, spec.remoteRoot === "/", o);
        const rows = await nodeStatus(spec, rt);
        const yn = (b: boolean) => (b ? "yes" : "no");
        process.stdout.write(
          table(
            ["STEP", "DONE", "CURRENT", "HEALTHY"],
            rows.map((r) => [r.id, yn(r.done), r.done ? yn(r.current) : "-", r.done ? yn(r.healthy) : "-"]),
          ),
        );
        // Whose node it is: what `reset` goes by (it refuses a node without dk-bootstrap's mark).
        const marked = await nodeMark(new NodeLayout(spec.remoteRoot), rt);
        process.stdout.write(
          marked
            ? `node: set up by dk-bootstrap as node ${marked.mark.node} of ${marked.mark.cluster} on ${marked.mark.at}; ${marked.made.length} path(s) recorded as made\n`
            : "node: no dk-bootstrap mark (reset refuses it)\n",
        );
        const rotation = await withClusterFolder(spec.dir, undefined, readRotation, { readOnly: true });
        if (rotation && rotationInProgress(rotation)) {
          const onNode = await nodeRotation(spec, rt);
          const reached =
            onNode === "invalid"
              ? `; this node's ${nodeRotationFile(spec)} is not a record dk-bootstrap writes (not shown)`
              : onNode
                ? `; phase ${onNode.phase} reached this node on ${onNode.at}`
                : "";
          process.stdout.write(`rotation: ${describeRotation(rotation)}${reached}\n`);
        }
        // The old CA's key stays in the archive of a finished rotation until it is purged: said until then.
        const kept = await (await import("../rotation-checks.js")).keptArchiveNote(spec.dir);
        if (kept) process.stdout.write(`${kept}\n`);
      } finally {
        await t.close();
      }
    });

  sshOptions(program.command("logs <target> <component>"))
    .option("--remote-root <dir>", "the remote root the node was bootstrapped with", "/")
    .option("--file <file>", "a cluster file: the target is then one of its hosts (node name or address); -f follows, as kubectl logs")
    .option("--dir <dir>", "with --file: the cluster folder", "./cluster")
    .description("a component's log on [user@]host (journald under systemd, else its log file)")
    .option("-f, --follow", "keep printing new lines")
    .option("--tail <n>", "lines from the end", "100")
    .addHelpText("after", "\nExamples:\n  dk-bootstrap logs root@node etcd\n  dk-bootstrap logs root@node kubelet -f")
    .action(async (target: string, component: string, o: NodeOptions & { follow?: boolean; tail: string; file?: string }) => {
      const components = STEPS.flatMap((s) => s.components);
      if (!components.includes(component))
        throw new InputError(`unknown component; components: ${components.join(", ")}`, { field: "COMPONENT", value: component });
      const lines = Number(o.tail);
      if (!Number.isInteger(lines) || lines < 0) throw new InputError("must be a whole number of lines", { field: "--tail", value: o.tail });
      if (o.file)
        return (await import("./cluster-logs.js")).clusterLogsCommand({ ...o, file: o.file }, target, component, { follow: o.follow ?? false, lines });
      const spec = nodeSpecFromFlags(o, parseTarget(target).host);
      const t = await connect(target, o);
      try {
        await componentLogs(spec, await asRoot(t, spec.remoteRoot === "/", o), component, {
          follow: o.follow ?? false,
          lines,
          onLine: (line) => process.stdout.write(`${line}\n`),
        });
      } finally {
        await t.close();
      }
    });
}
