import { readFileSync } from "node:fs";
import { Command } from "commander";
import { GO_COMMANDS } from "./commands/go-commands.js";
import { reportError } from "./errors.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

/** Each command group's module, loaded only when its command runs (or for the full help): start-up stays small. */
const GROUPS = {
  certs: async () => (await import("./commands/certs.js")).registerCerts,
  kubeconfig: async () => (await import("./commands/kubeconfig.js")).registerKubeconfig,
  node: async () => (await import("./commands/node.js")).registerNode,
  inspect: async () => (await import("./commands/inspect.js")).registerInspect,
  cluster: async () => (await import("./commands/cluster.js")).registerCluster,
  etcd: async () => (await import("./commands/etcd.js")).registerEtcd,
  web: async () => (await import("./commands/web.js")).registerWeb,
};
const GROUP_OF: Record<string, keyof typeof GROUPS> = {
  bundle: "node",
  certs: "certs",
  kubeconfig: "kubeconfig",
  ssh: "node",
  local: "node",
  reset: "node",
  explain: "inspect",
  status: "inspect",
  logs: "inspect",
  apply: "cluster",
  init: "cluster",
  etcd: "etcd",
  web: "web",
};

async function buildProgram(command: string | undefined, versionOnly: boolean): Promise<Command> {
  const program = new Command("dk-bootstrap")
    .version(version)
    .description("Bootstrap a Kubernetes node from raw binaries, and see why each component is needed.")
    .option("--debug", "print stacks with errors")
    .option("--no-color", "no colors, spinners or other escape codes (as NO_COLOR=1)")
    .showHelpAfterError("hint: run with --help for usage")
    // commander's own errors in the CLI's one form: its "(Did you mean --force?)" line becomes a hint.
    .configureOutput({ outputError: (text, write) => write(usageErrorText(text)) })
    // An option belongs to the command it follows: `certs renew --dir X` is renew's, not certs'.
    .enablePositionalOptions()
    .hook("preAction", async (_program, action) => (await import("./inherited-options.js")).handOverParentOptions(action))
    // Then the cluster folder: `~` expanded, beside the -f file by default, a PKI folder refused.
    .hook("preAction", async (_program, action) => (await import("./cluster-dir.js")).checkClusterDir(action))
    .exitOverride();
  const group = command === undefined ? undefined : GROUP_OF[command];
  // `--version` needs no command; the full help (and an unknown command's suggestions) need them all.
  const wanted = group ? [group] : versionOnly ? [] : (Object.keys(GROUPS) as (keyof typeof GROUPS)[]);
  for (const g of wanted) (await GROUPS[g]())(program);
  program
    .command("version")
    .description("print dk-bootstrap's version (as --version)")
    .action(() => {
      process.stdout.write(`${version}\n`);
    });
  program
    .command("completion <shell>")
    .description("print a shell completion script: bash, zsh or fish (source <(dk-bootstrap completion bash))")
    .action(async (shell: string) => {
      process.stdout.write((await import("./completion.js")).completionScript(program, shell));
    });
  for (const c of GO_COMMANDS) {
    // Listed for help only: they are parsed with Go's flag rules, outside commander (see main()).
    program.command(c.name).summary(c.summary).description(`${c.summary}\n\nUsage:\n  ${c.usage}`).allowUnknownOption().allowExcessArguments();
  }
  return program;
}

/** Options other tools take for the same thing, and what dk-bootstrap calls it. */
const HABITS: Record<string, string> = { "--config": "-f (--file)", "--kubeconfig-dir": "--dir", "--cert-dir": "--dir" };

/**
 * A commander error as `error:` and `hint:` lines: its suggestion line rewritten, a known habit's option named. A
 * required option reported missing while the command line holds another tool's name for it (`apply --config FILE`) is
 * said as that option, unknown, with the name to use: commander checks required options before unknown ones.
 */
export function usageErrorText(text: string, argv: readonly string[] = process.argv.slice(2)): string {
  const missing = /^error: required option '([^']+)' not specified/.exec(text)?.[1];
  const given = missing && argv.map((a) => a.split("=")[0]!).find((a) => HABITS[a] && missing.includes(HABITS[a]!.replace(/ \(.*$/, "")));
  if (given) return `error: unknown option '${given}'\nhint: did you mean ${HABITS[given]}?\n`;
  const out = text.replace(
    /\n\(Did you mean (one of )?(.+)\?\)/,
    (_, several: string | undefined, names: string) => `\nhint: did you mean ${several ? "one of " : ""}${names}?`,
  );
  const unknown = /^error: unknown option '([^'=]+)/.exec(out);
  const habit = unknown ? HABITS[unknown[1]!] : undefined;
  return habit && !out.includes("hint: did you mean") ? out.replace(/\n?$/, `\nhint: did you mean ${habit}?\n`) : out;
}

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const args = argv.filter((a) => a !== "--debug");
  try {
    const go = GO_COMMANDS.find((c) => c.name === args[0]);
    if (go) {
      if (args.slice(1).some((a) => /^--?(h|help)$/.test(a))) {
        process.stdout.write(`${go.summary}\n\nUsage:\n  ${go.usage}\n`);
        return 0;
      }
      const [{ GO_RUNNERS }, { parseGoFlags }] = await Promise.all([import("./commands/cfssl.js"), import("./go-flags.js")]);
      await GO_RUNNERS[go.name]!(parseGoFlags(args.slice(1), go.flags, go.name, go.maxArgs));
      return 0;
    }
    const command = args.find((a) => !a.startsWith("-"));
    const versionOnly = command === undefined && args.some((a) => a === "-V" || a === "--version");
    await (await buildProgram(command, versionOnly)).parseAsync(args, { from: "user" });
    return 0;
  } catch (e) {
    return reportError(e, debug);
  }
}

// `dk-bootstrap explain | head`: a closed pipe ends the output, it is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

// No top-level await: the bundle is a classic script, compiled with a code cache (see bin.js).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
