// `dk-bootstrap ssh`, `local`, `bundle` and `reset`: one node, planned and run step by step. The flags, the connection
// and the spec from the flags live in shared modules below (options/, connection.ts, node-spec-flags.ts), which the
// other commands that reach a node use too.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { type ClusterFolder, InputError, generateClusterPki, openClusterFolder } from "@dk-bootstrap/pki";
import { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import {
  type NodeSpec,
  LocalTransport,
  artifactsFor,
  bundle,
  withPinnedSha256,
  bundleImages,
  type Step,
  type Transport,
  bootstrap,
  chooseNodeIPs,
  nodeAddresses,
  PREFLIGHT,
  parseKubernetesRequest,
  plan,
  installedLocalFiles,
  renderScript,
  reset,
} from "@dk-bootstrap/orchestrator";
import { type Command, Option } from "commander";
import { type SavedSettings, settingsToSave, stageSavedSettings } from "../saved-settings.js";
import { RunOutput } from "../render/output.js";
import { printActions } from "../render/pki-actions.js";
import { addDirOption, addIdentityOptions } from "../options/cluster-options.js";
import {
  type NodeOptions,
  addArtifactOptions,
  addNodeOptions,
  addOutputOptions,
  addPlanOptions,
  addRangeOptions,
  sshOptions,
} from "../options/node-options.js";
import { asRoot, connect, parseTarget } from "../connection.js";
import { nodeSpecFromFlags } from "../node-spec-flags.js";
import { offlineVersionsNote, resolveVersionFlags } from "../version-flags.js";
import { withSavedSettings } from "../with-saved-settings.js";

/**
 * The cluster folder for this run: the PKI, its kubeconfigs and the settings they were made with,
 * written as one set. The node's IPs are the ones it holds (asked for with --node-ip, or saved, which
 * must be among them; else detected), never an address that only reaches it, such as a NAT's. The folder
 * comes back still locked: the steps upload this PKI, so another command that writes it (`certs --force`)
 * must wait for the end of the run, not replace it halfway through the upload.
 */
async function prepareOn(
  t: Transport,
  o: NodeOptions,
  cmd: Command,
  settings: SavedSettings,
  reachedAt: string | undefined,
): Promise<{ spec: NodeSpec; folder: ClusterFolder }> {
  let folder: ClusterFolder | undefined;
  try {
    cmd.setOptionValueWithSource("nodeIp", chooseNodeIPs(await nodeAddresses(t), o.nodeIp ?? [], reachedAt, t.host), "config");
    const spec = nodeSpecFromFlags(o);
    folder = await openClusterFolder(spec.dir);
    await stageSavedSettings(folder, settingsToSave(cmd, settings.saved), settings.text);
    const pki = await generateClusterPki(spec, spec.dir, { force: o.force ?? false, allowNameRemoval: o.allowNameRemoval ?? false, folder });
    const kubeconfigs = await writeComponentKubeconfigs(pki, spec, { folder });
    await folder.commit();
    if (pki.actions.some((a) => a.action !== "kept")) printActions(pki.actions, spec.dir, spec);
    // An edited kubeconfig kept (or backed up) is said, never done silently.
    for (const k of kubeconfigs) if (k.note) process.stdout.write(`[kubeconfig] "${k.file}": ${k.note}\n`);
    return { spec, folder };
  } catch (e) {
    await folder?.release();
    await t.close();
    throw e;
  }
}

/**
 * What a real run does on this machine before it connects, for the dry run's head: the same PKI step,
 * staged and never committed, so the script names every certificate it would make or re-issue (and
 * fails as the real run would, e.g. on a name a certificate would lose).
 */
async function dryRunNotes(
  spec: NodeSpec,
  o: NodeOptions,
  range: { from?: string; until?: string },
): Promise<{ notes: string[]; digests: Map<string, string> }> {
  const ips = `node IPs: ${spec.nodeIPs.join(", ") || "none"}; a real run first reads the node's own addresses, uses them when none are given, and refuses one the node does not hold.`;
  const digests = new Map<string, string>();
  if (!existsSync(join(spec.dir, "pki", "ca.crt")))
    return { notes: [ips, `certs: a real run first makes the cluster PKI and the component kubeconfigs in ${spec.dir} for node ${spec.nodeName}.`], digests };
  const folder = await openClusterFolder(spec.dir, { readOnly: true });
  try {
    const pki = await generateClusterPki(spec, spec.dir, { force: o.force ?? false, allowNameRemoval: o.allowNameRemoval ?? false, folder });
    const kubeconfigs = await writeComponentKubeconfigs(pki, spec, { folder });
    const changed = [
      ...pki.actions.filter((a) => a.action === "made" || a.action === "renewed").map((a) => `${a.name} (${a.action === "made" ? "new" : a.reason})`),
      ...kubeconfigs.filter((k) => k.action !== "kept").map((k) => k.file),
    ];
    // Each installed file as the real run would find it after its PKI step (staged here): the script checks them.
    for (const local of installedLocalFiles(spec, range)) {
      const text = await folder.read(local);
      if (text !== undefined) digests.set(local, createHash("sha256").update(text).digest("hex"));
    }
    return {
      notes: [
        ips,
        changed.length === 0 ? `certs: ${spec.dir} fits this plan as it is.` : `certs: a real run first writes in ${spec.dir}: ${changed.join(", ")}.`,
      ],
      digests,
    };
  } finally {
    await folder.release();
  }
}

/**
 * `--dry-run` of `ssh` and `local`: the whole plan as one script on stdout, nothing changed, nothing asked of any
 * network (dl.k8s.io included: the table's patch, said in the script's head).
 */
async function printDryRun(cmd: Command, o: NodeOptions, say: (line: string) => void, host: string | undefined): Promise<void> {
  const asked = o.k8sVersion;
  await resolveVersionFlags(cmd, o, false, say);
  const flagged = nodeSpecFromFlags(o, host);
  const range = { ...(o.from ? { from: o.from } : {}), ...(o.until ? { until: o.until } : {}) };
  // The printed script pins the same trusted checksums a real run would.
  const spec = await withPinnedSha256(flagged, artifactsFor(flagged, flagged.arch ?? "amd64", range));
  const { notes, digests } = await dryRunNotes(spec, o, range);
  const all = [offlineVersionsNote(asked, spec.versions.kubernetes), ...notes].filter((n) => n !== undefined);
  process.stdout.write(renderScript(spec, range, undefined, all, digests));
}

/** Every flag checked offline, before a version is asked of the network or a host is reached. */
function checkFlags(o: NodeOptions, host?: string): void {
  parseKubernetesRequest(o.k8sVersion);
  nodeSpecFromFlags({ ...o, k8sVersion: undefined, etcdVersion: undefined, containerdVersion: undefined, runcVersion: undefined, cniVersion: undefined }, host);
}

async function runOn(t: Transport, spec: NodeSpec, o: NodeOptions, address: string): Promise<void> {
  const out = new RunOutput({ host: t.host, json: o.json ?? false, verbose: o.verbose ?? false });
  try {
    const range = { ...(o.from ? { from: o.from } : {}), ...(o.until ? { until: o.until } : {}) };
    const guide = o.step ? guidedRun(out) : undefined;
    // `--until preflight` checks for every step a whole run would make, so it needs what they need.
    const checked = o.until === PREFLIGHT ? plan({ ...(o.from ? { from: o.from } : {}) }) : plan(range);
    const r = await bootstrap(spec, await asRoot(t, spec.remoteRoot === "/" || checked.some((s) => s.needsRoot), o), {
      ...range,
      events: out.sink,
      ...(guide ? { beforeStep: guide.ask, show: true } : {}),
    });
    guide?.close();
    if (r.stoppedBefore) out.say(`[${t.host}] stopped before ${r.stoppedBefore}: run the same command again to go on from there`);
    out.say(`[${t.host}] done in ${((Date.now() - out.started) / 1000).toFixed(1)}s: ${r.done.length} step(s) run, ${r.skipped.length} already done`);
    out.say(`[${t.host}] full log: ${out.logFile}`);
    if (plan(range).some((s) => s.id === "kube-apiserver")) await handOverKubeconfig(spec, address, o, out);
  } finally {
    await out.close();
    await t.close();
  }
}

/** The guided run's questions, on the terminal: the why of the next step, then Enter to run it or q to stop. */
function guidedRun(out: RunOutput): { ask: (step: Step) => Promise<boolean>; close(): void } {
  if (!process.stdin.isTTY)
    throw new InputError("--step needs a terminal to answer its questions", { field: "--step" }, { hint: "run it in a terminal, or drop --step" });
  // readline redraws its line with escape codes on a terminal; NO_COLOR / --no-color promise none.
  const plain = Boolean(process.env.NO_COLOR) || process.argv.includes("--no-color");
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: !plain });
  return {
    ask: async (step) => {
      out.say(`\n== ${step.id}: ${step.title}\n${wrap(step.why)}\n`);
      const answer = await rl.question(`Enter to run ${step.id}, q to stop: `);
      return answer.trim().toLowerCase() !== "q";
    },
    close: () => rl.close(),
  };
}

function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].map((l) => `   ${l}`).join("\n");
}

/**
 * The admin kubeconfig for this machine: admin.conf pointed at the node's address, verifying the
 * apiserver as `kubernetes` (a name its certificate always holds, whatever the address is called);
 * merged into the user's own kubeconfig with --merge-kubeconfig.
 */
async function handOverKubeconfig(spec: NodeSpec, address: string, o: NodeOptions, out: RunOutput): Promise<void> {
  const { readKubeconfig, writeKubeconfig, mergeIntoFile, kubeconfigFiles } = await import("@dk-bootstrap/kubeconfig");
  const cfg = await readKubeconfig(join(spec.dir, "admin.conf"), { mustExist: true });
  const host = address.includes(":") ? `[${address}]` : address;
  for (const c of cfg.clusters ?? []) Object.assign(c.cluster, { server: `https://${host}:6443`, "tls-server-name": "kubernetes" });
  const file = join(spec.dir, `admin-${address.replace(/[^\w.-]/g, "_")}.conf`);
  await writeKubeconfig(file, cfg);
  if (o.mergeKubeconfig) {
    const report = await mergeIntoFile(kubeconfigFiles(undefined)[0]!, cfg, { setCurrent: true });
    if (report.backup) out.say(`Backed up your kubeconfig to ${report.backup}`);
    out.say(`Merged into your kubeconfig; current context: ${report.config["current-context"]}`);
    out.say("Next:\n  kubectl get nodes");
  } else out.say(`Next:\n  export KUBECONFIG=${file}\n  kubectl get nodes`);
}

/** `dk-bootstrap ssh`, `dk-bootstrap local` and `dk-bootstrap reset`. */
export function registerNode(program: Command): void {
  sshOptions(addNodeOptions(program.command("ssh <target>")))
    .description("bootstrap the workshop's one-node cluster on [user@]host over SSH, step by step; a re-run resumes")
    .addOption(
      // The script goes to stdout: nothing else may be printed there, and nothing is run to be guided or merged.
      new Option("--dry-run", "connect to nothing: print the whole plan as one shell script").conflicts(["json", "verbose", "step", "mergeKubeconfig"]),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  # The whole node, trusting its host key on first use\n  dk-bootstrap ssh root@192.168.1.10 --accept-new-host-key\n\n  # Only etcd, as a normal user, in a folder of your own\n  dk-bootstrap ssh me@node --remote-root /home/me/k8s --until etcd\n\n  # Read what would run\n  dk-bootstrap ssh root@node --dry-run > plan.sh",
    )
    .action(async (target: string, o: NodeOptions, cmd: Command) => {
      const { host } = parseTarget(target);
      const say = (line: string) => process.stderr.write(`[${host}] ${line}\n`);
      const settings = await withSavedSettings(cmd, o.dir, say, () => checkFlags(o, host));
      if (o.dryRun) return printDryRun(cmd, o, say, host);
      await resolveVersionFlags(cmd, o, true, say);
      const t = await connect(target, o);
      const { spec, folder } = await prepareOn(t, o, cmd, settings, isIP(host) ? host : undefined);
      await runOn(t, spec, o, host).finally(() => folder.release());
    });

  addRangeOptions(addArtifactOptions(program.command("bundle")))
    .description("download every binary the plan needs, verified, into a folder to serve as --mirror or to --upload to air-gapped nodes")
    .requiredOption("--out <dir>", "the bundle folder (DIR/HOST/PATH, as --mirror reads it)")
    .option("--arches <list>", "architectures, comma-separated", "amd64,arm64")
    .option(
      "--images <dir>",
      "air-gapped images: copy this folder's image archives (OCI or docker save tars) into the bundle; --upload imports them on the node",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  dk-bootstrap bundle --out ./bundle\n  dk-bootstrap bundle --out ./bundle --images ./archives   # pause, CoreDNS, the web app... as tars\n  dk-bootstrap ssh root@node --upload ./bundle      # the node downloads nothing\n  dk-bootstrap ssh root@node --mirror http://files.lan/bundle",
    )
    .action(async (o: NodeOptions & { out: string; arches: string; images?: string }, cmd: Command) => {
      const range = { ...(o.from ? { from: o.from } : {}), ...(o.until ? { until: o.until } : {}) };
      plan(range);
      const arches = o.arches.split(",").map((a) => a.trim());
      for (const a of arches) if (!["amd64", "arm64"].includes(a)) throw new InputError("must be amd64 or arm64", { field: "--arches", value: a });
      checkFlags(o);
      await resolveVersionFlags(cmd, o, true, (line) => process.stderr.write(`[bundle] ${line}\n`));
      const spec = nodeSpecFromFlags(o);
      // The images first: a bad archive is refused before any download starts.
      if (o.images !== undefined)
        await bundleImages(resolve(o.images), resolve(o.out), (path, action, images) =>
          process.stdout.write(`[bundle] ${action === "kept" ? "have" : "got "} ${path} (${images.join(", ")})\n`),
        );
      await bundle(spec, resolve(o.out), arches, range, (path, action) => process.stdout.write(`[bundle] ${action === "kept" ? "have" : "got "} ${path}\n`));
    });

  addNodeOptions(program.command("local"))
    .description("bootstrap this machine itself (no SSH), step by step; a re-run resumes")
    .addOption(new Option("--dry-run", "change nothing: print the whole plan as one shell script").conflicts(["json", "verbose", "step", "mergeKubeconfig"]))
    .addHelpText(
      "after",
      "\nExamples:\n  sudo dk-bootstrap local\n  dk-bootstrap local --remote-root ~/k8s --until etcd\n  dk-bootstrap local --dry-run > plan.sh",
    )
    .action(async (o: NodeOptions, cmd: Command) => {
      const say = (line: string) => process.stderr.write(`[local] ${line}\n`);
      const settings = await withSavedSettings(cmd, o.dir, say, () => checkFlags(o));
      if (o.dryRun) return printDryRun(cmd, o, say, undefined);
      await resolveVersionFlags(cmd, o, true, say);
      const t = new LocalTransport();
      const { spec, folder } = await prepareOn(t, o, cmd, settings, undefined);
      await runOn(t, spec, o, "127.0.0.1").finally(() => folder.release());
    });

  sshOptions(addOutputOptions(addPlanOptions(addIdentityOptions(addDirOption(program.command("reset [target]"))))))
    .description("stop and remove exactly what dk-bootstrap made on [user@]host, or on every host of a cluster file (also after a half-done run)")
    .option("-f, --file <file>", "every host of this cluster file, workers first")
    .option("-y, --yes", "reset without asking (a run with no terminal and no --yes is refused)")
    .addHelpText(
      "after",
      "\nA node dk-bootstrap did not set up (no mark in var/lib/dk-bootstrap) is refused and left untouched; on its own nodes it\nremoves the paths its record says it made, and the folders it made when they are empty.\n\nExamples:\n  dk-bootstrap reset root@192.168.1.10\n  dk-bootstrap reset me@node --remote-root /home/me/k8s\n  dk-bootstrap reset -f cluster.yaml --yes",
    )
    .action(async (target: string | undefined, o: NodeOptions & { file?: string; yes?: boolean }, cmd: Command) => {
      const { confirmClusterReset, resetConfirmation } = await import("./reset-confirm.js");
      if (o.file) {
        await confirmClusterReset(o.yes, o.file);
        return (await import("./cluster-reset.js")).clusterResetCommand({ ...o, file: o.file });
      }
      if (!target) throw new InputError("a target is needed: [user@]host, or -f cluster.yaml", { field: "target" });
      await withSavedSettings(cmd, o.dir, () => undefined);
      await resolveVersionFlags(cmd, o, false, () => undefined);
      const spec = nodeSpecFromFlags(o, parseTarget(target).host);
      const confirm = resetConfirmation(o.yes, target);
      const t = await connect(target, o);
      try {
        const out = new RunOutput({ host: t.host, json: o.json ?? false, verbose: o.verbose ?? false });
        const r = await reset(spec, await asRoot(t, spec.remoteRoot === "/", o), { events: out.sink, ...(confirm ? { confirm } : {}) });
        out.say(`[${t.host}] ${r.nothing ? "nothing of dk-bootstrap's on this node: nothing to reset" : "reset done"}`);
        await out.close();
      } finally {
        await t.close();
      }
    });
}
