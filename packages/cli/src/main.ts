import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerCerts } from "./commands/certs.js";
import { GO_COMMANDS } from "./commands/cfssl.js";
import { registerKubeconfig } from "./commands/kubeconfig.js";
import { registerNode } from "./commands/node.js";
import { reportError } from "./errors.js";
import { parseGoFlags } from "./go-flags.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

function buildProgram(): Command {
  const program = new Command("dk-bootstrap")
    .version(version)
    .description("Bootstrap a Kubernetes node from raw binaries, and see why each component is needed.")
    .option("--debug", "print stacks with errors")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerCerts(program);
  registerKubeconfig(program);
  registerNode(program);
  for (const c of GO_COMMANDS) {
    // Listed for help only: they are parsed with Go's flag rules, outside commander (see main()).
    program.command(c.name).summary(c.summary).description(`${c.summary}\n\nUsage:\n  ${c.usage}`).allowUnknownOption().allowExcessArguments();
  }
  return program;
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
      await go.run(parseGoFlags(args.slice(1), go.flags, go.name));
      return 0;
    }
    await buildProgram().parseAsync(args, { from: "user" });
    return 0;
  } catch (e) {
    return reportError(e, debug);
  }
}

process.exitCode = await main(process.argv.slice(2));
