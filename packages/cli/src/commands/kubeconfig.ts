import { resolve } from "node:path";
import { readFile } from "node:fs/promises";
import { DkError, InputError, exists, parseDuration } from "@dk-bootstrap/pki";
import {
  type Config,
  KubeconfigFiles,
  type SetClusterOptions,
  type SetCredentialsOptions,
  checkKubeconfig,
  connectCheck,
  mergeIntoFile,
  readKubeconfig,
  setProperty,
  unsetProperty,
  userKubeconfig,
  contextsTable,
  deleteEntry,
  findEntry,
  kubeconfigFiles,
  renameContext,
  setCluster,
  setContext,
  setCredentials,
  jsonPath,
  kubectlObject,
  parseJsonPath,
  toKubectlJson,
  toYaml,
  useContext,
  viewConfig,
} from "@dk-bootstrap/kubeconfig";
import { type Command, Option } from "commander";

const collect = (v: string, prev: string[] = []) => [...prev, v];
/** kubectl booleans take `--flag`, `--flag=true` and `--flag=false`. */
function bool(v: string | undefined): boolean {
  if (v === undefined || v === "" || v === "true") return true;
  if (v === "false") return false;
  throw new InputError("expected true or false", { value: v });
}

interface Global {
  kubeconfig?: string;
}

async function files(o: Global): Promise<KubeconfigFiles> {
  return KubeconfigFiles.load(kubeconfigFiles(o.kubeconfig));
}

/** A read-modify-write of the kubeconfig files under their locks: the files are read once the locks are held. */
function update<T>(o: Global, edit: (merged: Config, where: string) => T): Promise<T> {
  const paths = kubeconfigFiles(o.kubeconfig);
  return KubeconfigFiles.update(paths, (cfg) => edit(cfg, paths.join(":")));
}

function out(text: string): void {
  process.stdout.write(text);
}

function sub(parent: Command, name: string, summary: string, example: string): Command {
  return parent
    .command(name)
    .description(summary)
    .option("--kubeconfig <file>", "use this file only (default: $KUBECONFIG, else ~/.kube/config)")
    .addHelpText("after", `\nExamples:\n${example}`);
}

/** `dk-bootstrap kubeconfig ...`: kubectl config's subcommands, same flags, same files, same bytes. */
export function registerKubeconfig(program: Command): void {
  const kc = program
    .command("kubeconfig")
    .description("build and edit kubeconfigs exactly as `kubectl config` does (same flags, same KUBECONFIG rules, same bytes)");

  sub(
    kc,
    "set-cluster <name>",
    "set a cluster entry",
    "  dk-bootstrap kubeconfig set-cluster demystifions-kubernetes --certificate-authority=certs/ca.pem --embed-certs=true --server=https://127.0.0.1:6443",
  )
    .option("--server <url>", "the apiserver URL")
    .option("--certificate-authority <file>", "CA file")
    .addOption(new Option("--embed-certs [bool]", "embed the CA in the kubeconfig").argParser(bool))
    .addOption(new Option("--insecure-skip-tls-verify [bool]", "do not verify the server's certificate").argParser(bool))
    .option("--tls-server-name <name>", "server name to verify the certificate against")
    .option("--proxy-url <url>", "proxy for requests to this cluster")
    .action(async (name: string, o: Global & SetClusterOptions) => {
      // commander names options exactly as SetClusterOptions does; unset ones are undefined, which setCluster skips.
      await update(o, (cfg) => setCluster(cfg, name, o));
      out(`Cluster "${name}" set.\n`);
    });

  sub(
    kc,
    "set-credentials <name>",
    "set a user entry",
    "  dk-bootstrap kubeconfig set-credentials admin --embed-certs=true --client-certificate=certs/admin.pem --client-key=certs/admin-key.pem",
  )
    .option("--client-certificate <file>", "client certificate file")
    .option("--client-key <file>", "client key file")
    .addOption(new Option("--embed-certs [bool]", "embed the client certificate and key").argParser(bool))
    .option("--token <token>", "bearer token")
    .option("--username <name>", "basic auth user")
    .option("--password <password>", "basic auth password")
    .option("--auth-provider <name>", "auth provider name")
    .option("--auth-provider-arg <k=v>", "auth provider setting, k- removes (repeatable)", collect)
    .option("--exec-command <cmd>", "credential plugin command")
    .option("--exec-api-version <version>", "credential plugin API version")
    .option("--exec-arg <arg>", "credential plugin argument (repeatable; replaces the list)", collect)
    .option("--exec-env <K=V>", "credential plugin environment, K- removes (repeatable)", collect)
    .addOption(new Option("--exec-interactive-mode <mode>", "Never, IfAvailable or Always").choices(["Never", "IfAvailable", "Always"]))
    .addOption(new Option("--exec-provide-cluster-info [bool]", "pass cluster info to the plugin").argParser(bool))
    .action(async (name: string, o: Global & SetCredentialsOptions & { authProviderArg?: string[]; execArg?: string[]; execEnv?: string[] }) => {
      // Repeatable flags are singular on the command line, plural in SetCredentialsOptions.
      const { authProviderArg, execArg, execEnv, ...rest } = o;
      await update(o, (cfg) => setCredentials(cfg, name, { ...rest, authProviderArgs: authProviderArg, execArgs: execArg, execEnv }));
      out(`User "${name}" set.\n`);
    });

  sub(kc, "set-context [name]", "set a context entry", "  dk-bootstrap kubeconfig set-context admin --cluster=demystifions-kubernetes --user=admin")
    .option("--current", "modify the current context")
    .option("--cluster <name>", "cluster")
    .option("--user <name>", "user")
    .option("--namespace <ns>", "namespace")
    .action(async (name: string | undefined, o: Global & { current?: boolean; cluster?: string; user?: string; namespace?: string }) => {
      if (!name && !o.current) throw new InputError("a context name (or --current) is needed", { field: "NAME" });
      const [target, what] = await update(o, (cfg) => {
        const target = o.current ? cfg["current-context"] : name!;
        if (!target) throw new InputError("no current context is set");
        return [target, setContext(cfg, target, o)] as const;
      });
      out(`Context "${target}" ${what}.\n`);
    });

  sub(kc, "use-context <name>", "set the current context", "  dk-bootstrap kubeconfig use-context admin").action(async (name: string, o: Global) => {
    await update(o, (cfg, where) => useContext(cfg, name, where));
    out(`Switched to context "${name}".\n`);
  });

  sub(kc, "current-context", "print the current context", "  dk-bootstrap kubeconfig current-context").action(async (o: Global) => {
    const current = (await files(o)).merged()["current-context"];
    if (!current) throw new InputError("current-context is not set");
    out(`${current}\n`);
  });

  sub(kc, "get-contexts [name]", "list contexts", "  dk-bootstrap kubeconfig get-contexts")
    .option("-o, --output <format>", "name")
    .action(async (name: string | undefined, o: Global & { output?: string }) => {
      if (o.output !== undefined && o.output !== "" && o.output !== "name")
        throw new InputError("output must be one of '' or 'name'", { field: "--output", value: o.output });
      const cfg = (await files(o)).merged();
      if (name && !findEntry(cfg, "contexts", name)) throw new InputError(`context ${name} not found`);
      if (o.output === "name")
        out(
          (cfg.contexts ?? [])
            .filter((c) => !name || c.name === name)
            .map((c) => `${c.name}\n`)
            .join(""),
        );
      else out(contextsTable(cfg, name));
    });

  for (const [section, header] of [
    ["clusters", "NAME"],
    ["users", "NAME"],
  ] as const) {
    sub(kc, `get-${section}`, `list ${section}`, `  dk-bootstrap kubeconfig get-${section}`).action(async (o: Global) => {
      const cfg = (await files(o)).merged();
      out(`${header}\n${(cfg[section] ?? []).map((e) => `${e.name}\n`).join("")}`);
    });
  }

  for (const section of ["clusters", "users", "contexts"] as const) {
    const kind = section.slice(0, -1);
    sub(kc, `delete-${kind} <name>`, `delete a ${kind} entry (nothing cascades)`, `  dk-bootstrap kubeconfig delete-${kind} NAME`).action(
      async (name: string, o: Global) => {
        const where = kubeconfigFiles(o.kubeconfig).join(":");
        const wasCurrent = await update(o, (cfg) => {
          const current = section === "contexts" && cfg["current-context"] === name;
          deleteEntry(cfg, section, name, where);
          return current;
        });
        if (wasCurrent)
          process.stderr.write(`warning: this removed your active context, use "dk-bootstrap kubeconfig use-context" to select a different one\n`);
        out(`deleted ${kind} ${name} from ${where}\n`);
      },
    );
  }

  sub(kc, "rename-context <old> <new>", "rename a context (current-context follows)", "  dk-bootstrap kubeconfig rename-context admin cluster-admin").action(
    async (from: string, to: string, o: Global) => {
      await update(o, (cfg, where) => renameContext(cfg, from, to, where));
      out(`Context "${from}" renamed to "${to}".\n`);
    },
  );

  sub(
    kc,
    "set <property> <value>",
    "set one field by its dotted path, e.g. clusters.NAME.server",
    '  dk-bootstrap kubeconfig set clusters.demystifions-kubernetes.server https://192.168.1.10:6443\n  dk-bootstrap kubeconfig set users.admin.client-key-data "$(base64 -w0 admin-key.pem)"',
  )
    .addOption(new Option("--set-raw-bytes [bool]", "store the value of a *-data field as text, not base64").argParser(bool))
    .action(async (property: string, value: string, o: Global & { setRawBytes?: boolean }) => {
      await update(o, (cfg) => setProperty(cfg, property, value, { rawBytes: o.setRawBytes ?? false }));
      out(`Property "${property}" set.\n`);
    });

  sub(kc, "unset <property>", "unset one field, or a whole entry (clusters.NAME)", "  dk-bootstrap kubeconfig unset contexts.admin.namespace").action(
    async (property: string, o: Global) => {
      await update(o, (cfg) => unsetProperty(cfg, property));
      out(`Property "${property}" unset.\n`);
    },
  );

  sub(
    kc,
    "merge <file>",
    "merge a kubeconfig into yours (a backup first; clashing names made unique)",
    "  dk-bootstrap kubeconfig merge cluster/admin.conf --set-current",
  )
    .option("--into <file>", "the kubeconfig to merge into (default: the first file of $KUBECONFIG, else ~/.kube/config)")
    .option("--set-current", "switch to the merged file's current context")
    .action(async (file: string, o: Global & { into?: string; setCurrent?: boolean }) => {
      const incoming = await readKubeconfig(resolve(file), { mustExist: true });
      const target = o.into ? resolve(o.into) : kubeconfigFiles(o.kubeconfig)[0]!;
      const report = await mergeIntoFile(target, incoming, { setCurrent: o.setCurrent ?? false });
      if (report.backup) out(`Backed up ${target} to ${report.backup}\n`);
      for (const r of report.renamed) out(`${r.section.slice(0, -1)} "${r.from}" exists with other settings: merged as "${r.to}"\n`);
      const current = report.config["current-context"];
      const merged = incoming["current-context"]
        ? (report.renamed.find((r) => r.section === "contexts" && r.from === incoming["current-context"])?.to ?? incoming["current-context"])
        : undefined;
      out(`Merged ${report.added.length} entries into ${target}; current context "${current}"\n`);
      // Kept (the user's own current context): say how to switch, as the other tools' "you are ready" would.
      if (merged && current !== merged) out(`Switch to the merged cluster with: kubectl config use-context ${merged}\n`);
    });

  sub(
    kc,
    "user",
    "print a kubeconfig for a new user, signed by the cluster CA (kubeadm kubeconfig user)",
    "  dk-bootstrap kubeconfig user --client-name alice --org developers > alice.conf",
  )
    .requiredOption("--client-name <name>", "the user's name (certificate CN)")
    .option("--org <group>", "a group (certificate O; repeatable)", collect)
    .option("--dir <dir>", "cluster folder", "./cluster")
    .option("--validity <duration>", "certificate validity", "8760h")
    .action(async (o: { clientName: string; org?: string[]; dir: string; validity: string }) => {
      const cfg = await userKubeconfig(resolve(o.dir), {
        clientName: o.clientName,
        orgs: o.org ?? [],
        validityMs: parseDuration(o.validity, { field: "--validity" }),
      });
      out(toYaml(cfg));
    });

  sub(
    kc,
    "check [file]",
    "check a kubeconfig: references, files, key/cert match, validity, issuer; --connect also dials the server",
    "  dk-bootstrap kubeconfig check cluster/admin.conf --connect",
  )
    .option("--connect", "also connect to the current context's server and verify its certificate and ours")
    .action(async (file: string | undefined, o: Global & { connect?: boolean }) => {
      const paths = file ? [resolve(file)] : kubeconfigFiles(o.kubeconfig);
      // A missing file is no kubeconfig to check (other commands read it as empty, as kubectl does).
      const present = await Promise.all(paths.map((p) => exists(p)));
      if (file && !present[0]) throw new InputError("cannot read: no such file", { file: paths[0] });
      if (!present.some((p) => p)) throw new InputError("no kubeconfig to check: none of these files exists", { file: paths.join(":") });
      const set = await KubeconfigFiles.load(paths);
      const cfg = set.merged();
      const problems = [...(await checkKubeconfig(cfg)), ...(o.connect ? await connectCheck(cfg) : [])];
      const where = set.paths.join(":");
      if (problems.length === 0) {
        out(`${where}: OK\n`);
        return;
      }
      for (const p of problems) process.stderr.write(`${where}: ${p.where}: ${p.problem}\n`);
      throw new DkError(`${where}: ${problems.length} problem${problems.length === 1 ? "" : "s"} found`, "CHECK");
    });

  sub(
    kc,
    "view",
    "print the merged kubeconfig (secrets redacted unless --raw)",
    "  dk-bootstrap kubeconfig view --minify --raw\n  dk-bootstrap kubeconfig view -o jsonpath='{.current-context}'",
  )
    .option("--minify", "only the current context, its cluster and user")
    .option("--raw", "show secrets")
    .option("--flatten", "read the files it names into the kubeconfig (implies --raw)")
    .option("-o, --output <format>", "yaml, json, jsonpath=TEMPLATE or jsonpath-file=FILE (kubectl's JSONPath)", "yaml")
    .action(async (o: Global & { minify?: boolean; raw?: boolean; flatten?: boolean; output: string }) => {
      // The format is checked before anything is read: a typo is refused even when the files are broken.
      const print = await printer(o.output);
      const cfg = viewConfig((await files(o)).merged(), { minify: o.minify ?? false, raw: o.raw ?? false, flatten: o.flatten ?? false });
      out(print(cfg));
    });
}

const FORMATS = "json, yaml, jsonpath=TEMPLATE, jsonpath-file=FILE";

/** kubectl's `-o` of `config view`, the formats that make sense without Go templates. */
async function printer(format: string): Promise<(cfg: Config) => string> {
  if (format === "yaml") return toYaml;
  if (format === "json") return toKubectlJson;
  const eq = format.indexOf("=");
  const kind = eq < 0 ? format : format.slice(0, eq);
  if (kind === "jsonpath" || kind === "jsonpath-file") {
    let template = eq < 0 ? "" : format.slice(eq + 1);
    if (kind === "jsonpath-file" && template !== "") template = await readFile(resolve(template), "utf8");
    if (template === "") throw new InputError("template format specified but no template given", { field: "--output", value: format });
    parseJsonPath(template); // refused now, with its error, rather than after loading the files
    return (cfg) => jsonPath(template, kubectlObject(cfg));
  }
  throw new InputError(`unable to match a printer suitable for the output format, allowed formats are: ${FORMATS}`, { field: "--output", value: format });
}
