import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  DkError,
  InputError,
  type RenewResult,
  checkExpiration,
  formatExpirationTables,
  generateClusterPki,
  generateWorkshopPki,
  openClusterFolder,
  parseDuration,
  refuseDuringRotation,
  renewCertificates,
  withClusterFolder,
} from "@dk-bootstrap/pki";
import { type KubeconfigSpec, refreshComponentKubeconfigs, writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";
import type { Command } from "commander";
import { kubeconfigSpecFromFlags, specFromFlags } from "../spec-flags.js";
import { type ClusterOptions, addClusterOptions, addDirOption } from "../options/cluster-options.js";
import { printActions } from "../render/pki-actions.js";
import { guardInterrupt } from "../interrupt.js";
import { kubeconfigExpiryRows } from "../kubeconfig-expiry.js";
import { workshopExpiry } from "../workshop-expiry.js";
import { type Saved, applySavedSettings, describeChange, readSavedSettings, settingsToSave, stageSavedSettings } from "../saved-settings.js";

interface CertsOptions extends ClusterOptions {
  workshop?: boolean;
}

/** The kubeconfig settings the folder was made with, from its saved settings (undefined when it saved none). */
function savedKubeconfigSpec(saved: Saved): KubeconfigSpec | undefined {
  if (![...saved.keys()].some((k) => ["--cluster-name", "--server", "--context-name"].includes(k))) return undefined;
  const get = (flag: string) => saved.get(flag) as string | undefined;
  try {
    return kubeconfigSpecFromFlags({ clusterName: get("--cluster-name"), server: get("--server"), contextName: get("--context-name") });
  } catch {
    return undefined;
  }
}

/** `dk-bootstrap certs` and its subcommands. */
export function registerCerts(program: Command): void {
  const certs = addClusterOptions(program.command("certs"))
    .summary("make the cluster PKI offline, the way kubeadm lays it out")
    .description(
      "Makes the cluster PKI in DIR/pki: the cluster, etcd and front-proxy CAs, one certificate per component, the\n" +
        "service-account key pair. A re-run keeps what is valid, re-issues what no longer fits the flags with its\n" +
        "existing key, and never replaces a CA or a key unless --force.",
    )
    .option("--workshop", "make the workshop's single CA and admin certificate instead (cfssl's output, in DIR/certs)")
    .addHelpText(
      "after",
      "\nExamples:\n  # The PKI of the workshop's node, in ./cluster\n  dk-bootstrap certs\n\n  # A node with an IP, ECDSA keys\n  dk-bootstrap certs --node-name kubernetes --node-ip 192.168.1.10 --key-algo ecdsa\n\n  # What expires when\n  dk-bootstrap certs check-expiration",
    )
    // `certs check` must name its subcommands rather than say "too many arguments".
    .allowExcessArguments()
    .action(async (o: CertsOptions, cmd: Command) => {
      // `certs help renew`, as `kubeadm certs renew --help` or git's `help` reads.
      if (cmd.args[0] === "help") {
        const sub = cmd.args[1] === undefined ? cmd : cmd.commands.find((c) => c.name() === cmd.args[1]);
        if (sub) return void sub.outputHelp();
      }
      if (cmd.args.length > 0) {
        const names = cmd.commands.map((c) => c.name());
        const near = names.find((n) => n.startsWith(cmd.args[0]!) || cmd.args[0]!.startsWith(n));
        throw new InputError(
          `unknown command; certs' commands: ${names.join(", ")}`,
          { field: "certs", value: cmd.args[0] },
          near ? { hint: `did you mean \`dk-bootstrap certs ${near}\`?` } : {},
        );
      }
      const dir = resolve(o.dir);
      if (o.workshop) {
        // The workshop's two cfssl commands take no choices: a flag that shapes the cluster PKI would be ignored.
        const ignored = cmd.options.find(
          (opt) => !["--dir", "--force", "--workshop"].includes(opt.long!) && cmd.getOptionValueSource(opt.attributeName()) === "cli",
        );
        if (ignored) throw new InputError("the workshop's PKI takes only --dir and --force", { field: ignored.long! });
        printActions(await generateWorkshopPki(dir, { force: o.force ?? false }), dir);
        return;
      }
      const { saved, text } = await readSavedSettings(dir);
      const changes = applySavedSettings(cmd, saved);
      // Checked before a change is said: a flag refused is one line, not a change announced and then not made.
      const [spec, kubeconfigs] = [specFromFlags(o), kubeconfigSpecFromFlags(o)];
      // What the kubeconfigs were made with: a file nobody edited follows a changed --server, an edited one keeps its own.
      const previous = savedKubeconfigSpec(saved) ?? kubeconfigs;
      for (const c of changes) process.stderr.write(`[certs] changing a saved setting: ${describeChange(c)}\n`);
      // The PKI, the kubeconfigs that embed it and the settings they were made with: one set, written all or none, under the folder's lock.
      const guard = guardInterrupt(dir);
      // On a terminal, each key as it is made: `--key-size 4096` is many silent seconds otherwise.
      const onKey = process.stderr.isTTY
        ? // A carriage return and spaces, no escape code: NO_COLOR and --no-color need nothing turned off.
          (name: string, done: number, total: number) =>
            process.stderr.write(`\r${`[certs] key ${done}/${total}: ${name}`.padEnd(60)}${done === total ? "\n" : ""}`)
        : undefined;
      const { pki, files } = await withClusterFolder(dir, undefined, async (folder) => {
        if (o.force) await refuseDuringRotation(folder, { force: true });
        await stageSavedSettings(folder, settingsToSave(cmd, saved), text);
        const pki = await generateClusterPki(spec, dir, {
          force: o.force ?? false,
          allowNameRemoval: o.allowNameRemoval ?? false,
          folder,
          ...(onKey ? { onKey } : {}),
        });
        const files = await writeComponentKubeconfigs(pki, kubeconfigs, { folder, previous });
        guard.writing();
        return { pki, files };
      }).finally(() => guard.done());
      printActions(pki.actions, dir, spec);
      for (const k of files) {
        process.stdout.write(
          `[kubeconfig] ${k.action === "kept" ? "Using the existing" : "Wrote"} "${k.file}" kubeconfig file${k.note ? ` (${k.note})` : ""}\n`,
        );
      }
      for (const w of pki.warnings) process.stderr.write(`[certs] warning: ${w}\n`);
    });

  addDirOption(certs.command("check-expiration"))
    .description("when each certificate of the cluster folder expires (kubeadm's table, or JSON)")
    .option("-o, --output <format>", "text or json", "text")
    .option("--fail-within <duration>", "exit 1 when a certificate has expired or expires within this time (e.g. 720h), for scripts")
    .addHelpText(
      "after",
      "\nExamples:\n  dk-bootstrap certs check-expiration\n  dk-bootstrap certs check-expiration --dir ./cluster -o json\n  dk-bootstrap certs check-expiration --fail-within 720h || echo 'renew soon'",
    )
    .action(async (o: { dir: string; output: string; failWithin?: string }) => {
      if (!["text", "json"].includes(o.output)) throw new InputError("must be text or json", { field: "--output", value: o.output });
      const within = o.failWithin === undefined ? undefined : parseDuration(o.failWithin, { field: "--fail-within" });
      // Read-only, but it first finishes (or undoes) what an interrupted run left.
      const folder = await openClusterFolder(resolve(o.dir), { readOnly: true });
      let report = await checkExpiration(resolve(o.dir)).finally(() => folder.release());
      // A workshop-layout folder (certs --workshop) has its own two certificates.
      if (report.authorities.every((r) => r.missing)) report = (await workshopExpiry(resolve(o.dir))) ?? report;
      if (report.authorities.every((r) => r.missing))
        throw new InputError("no cluster PKI here", { file: resolve(o.dir) }, { hint: "run `dk-bootstrap certs --dir DIR` first" });
      // kubeadm's table lists the kubeconfigs too: what a client presents is the certificate embedded there.
      const ca = report.authorities.find((r) => r.name === "ca");
      report.certificates.push(...(await kubeconfigExpiryRows(resolve(o.dir), ca?.externallyManaged ?? false)));
      if (o.output === "json") process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(formatExpirationTables(report));
      if (within === undefined) return;
      const soon = [...report.certificates, ...report.authorities].filter((r) => !r.missing && r.residualMs! < within);
      if (soon.length > 0)
        throw new DkError(`${soon.length} certificate(s) expired or expire within ${o.failWithin}: ${soon.map((r) => r.name).join(", ")}`, "EXPIRING", {
          hint: "dk-bootstrap certs renew NAME (or all); a CA: dk-bootstrap certs rotate-ca",
        });
    });

  addDirOption(certs.command("renew <name>"))
    .description("re-issue a certificate (or all) with a new key, keeping its identity and SANs; CAs are never renewed")
    .option("--validity <duration>", "validity of the renewed certificates (default: the folder's saved --validity, else 8760h)")
    .addHelpText("after", "\nExamples:\n  dk-bootstrap certs renew apiserver\n  dk-bootstrap certs renew all --validity 4380h")
    .action(async (name: string, o: { dir: string; validity?: string }) => {
      // The folder's saved validity is what its certificates were made with: a renewal keeps it unless told otherwise.
      const saved = (await readSavedSettings(resolve(o.dir))).saved.get("--validity") as string | undefined;
      const validity = o.validity ?? saved ?? "8760h";
      if (o.validity !== undefined && saved !== undefined && o.validity !== saved)
        process.stderr.write(`[renew] --validity ${o.validity} overrides the folder's saved ${saved} for this renewal\n`);
      const validityMs = parseDuration(validity, { field: "--validity" });
      // The renewed certificates and the kubeconfigs that embed them: one set, written all or none. In the folder of a
      // cluster of several (apply), every node's folder too, signed by the cluster's CAs.
      const { results, files } = await withClusterFolder(
        resolve(o.dir),
        undefined,
        async (folder) => {
          await refuseDuringRotation(folder, { renew: name });
          const nodes = await readdir(join(folder.dir, "nodes")).catch(() => [] as string[]);
          const places = [{ dir: folder.dir, label: "" }, ...nodes.sort().map((n) => ({ dir: join(folder.dir, "nodes", n), label: `${n}: ` }))];
          const results: { label: string; r: RenewResult }[] = [];
          const files: string[] = [];
          // A name is renewed in every folder that holds it (`kubelet`: each node's; `admin`: the top one's).
          const several = places.length > 1;
          for (const p of places) {
            for (const r of await renewCertificates(p.dir, name, { validityMs, folder, caDir: folder.dir, skipMissing: several }))
              results.push({ label: p.label, r });
            for (const f of await refreshComponentKubeconfigs(p.dir, { folder })) files.push(`${p.label}${f}`);
          }
          if (results.length === 0 && several && name !== "all")
            throw new InputError(
              "neither the cluster's folder nor any node's holds this certificate, nothing to renew",
              { field: "NAME", value: name },
              { hint: `the folders: ${places.map((p) => join(p.dir, "pki")).join(", ")}` },
            );
          if (results.length === 0)
            throw new InputError(
              "no cluster PKI here, nothing to renew",
              { file: resolve(o.dir, "pki") },
              { hint: "run `dk-bootstrap certs --dir DIR` first" },
            );
          return { results, files };
        },
        { mustExist: true },
      );
      for (const { label, r } of results) {
        process.stdout.write(`[renew] ${label}${r.name}: renewed, valid until ${r.notAfter.toISOString()}\n`);
        for (const w of r.warnings) process.stderr.write(`[renew] warning: ${label}${w}\n`);
      }
      for (const file of files) process.stdout.write(`[renew] ${file}: now holds the renewed client certificate\n`);
      process.stdout.write("[renew] restart the components that use them to load the new certificates (apply -f does it host by host)\n");
    });

  addDirOption(certs.command("rotate-ca <ca> [ssh] [target]"))
    .description("rotate a CA in three phases with rolling restarts: trust old + new, re-issue every leaf, trust the new one alone")
    .option("-f, --file <file>", "the cluster file the cluster was applied from (or `ssh [user@]host` for the one-node cluster)")
    .option("--abort", "go back to the old CA (while phase 1 or 2 is in progress)")
    .option("--purge-archive", "after the rotation: remove its archive, the old CA's key with it (no host is asked)")
    .option("--dry-run", "connect to nothing: print what each phase changes and restarts on each host")
    .option("--until <step>", "restart steps up to this one (default: the last step any host has done)")
    .option("-i, --identity <file>", "private key for every host (over the file's keyPath)")
    .option("--known-hosts <file>", "known_hosts file (over the file's knownHosts)")
    .option("--accept-new-host-key", "trust unknown host keys and record them (a changed key is always refused)")
    .option("--sudo-password-stdin", "read the sudo password from stdin (the same for every host)")
    .option("-p, --port <port>", "SSH port of the one-node form (default: ~/.ssh/config's, else 22)")
    .option("-J, --jump <hops>", "jump host(s) of the one-node form, [user@]host[:port], comma-separated")
    .option("--concurrency <n>", "how many hosts are asked at once (changes stay one host at a time)", "10")
    .option("--json", "one JSON event per line")
    .option("-v, --verbose", "every line of every command")
    .addHelpText(
      "after",
      "\nCAs: etcd, cluster, front-proxy.\n\nExamples:\n  dk-bootstrap certs rotate-ca etcd -f cluster.yaml\n  dk-bootstrap certs rotate-ca etcd ssh root@192.168.1.10 --dir ./cluster\n  dk-bootstrap certs rotate-ca cluster -f cluster.yaml --dry-run\n  dk-bootstrap certs rotate-ca etcd -f cluster.yaml --abort\n  dk-bootstrap certs rotate-ca etcd --purge-archive --dir ./cluster",
    )
    .action(async (ca: string, how: string | undefined, target: string | undefined, o: Parameters<typeof import("./rotate-ca.js").rotateCaCommand>[3]) =>
      (await import("./rotate-ca.js")).rotateCaCommand(ca, how, target, o),
    );
}
