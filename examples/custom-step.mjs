// Run a step of your own with the orchestrator, on this machine or over SSH, and consume the event stream.
//   node examples/custom-step.mjs [--remote-root DIR]                       (this machine; DIR: $TMPDIR/dk-example)
//   node examples/custom-step.mjs user@host -i KEY --known-hosts FILE       (over SSH; host key must be known)
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LocalTransport, SshTransport, nodeSpec, runSteps, sh } from "@dk-bootstrap/orchestrator";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "remote-root": { type: "string", default: join(tmpdir(), "dk-example") }, i: { type: "string" }, "known-hosts": { type: "string" } },
});
const target = positionals[0];
const transport = target
  ? await SshTransport.connect({
      host: target.split("@").pop(),
      username: target.includes("@") ? target.split("@")[0] : process.env.USER,
      privateKey: values.i ? readFileSync(values.i) : undefined,
      knownHosts: [values["known-hosts"] ?? `${process.env.HOME}/.ssh/known_hosts`],
    })
  : new LocalTransport();

/** A step is data plus shell: what it puts, what it runs, how to check it. Every `${}` value is quoted. */
const motd = {
  id: "motd",
  title: "a message of the day",
  why: "To show the shape of a step.",
  observe: "the file says hello",
  files: (c) => [{ path: c.node.path("etc/dk-motd"), mode: 0o644, content: "hello from dk-bootstrap\n" }],
  script: (c) => sh`echo ${"written under " + c.node.root}`,
  check: (c) => sh`grep -q hello ${c.node.path("etc/dk-motd")}`,
  checkTimeout: 5,
  creates: () => [],
  components: [],
};

const spec = nodeSpec({ dir: `${values["remote-root"]}-cluster`, remoteRoot: values["remote-root"], arch: "amd64" });
const result = await runSteps(spec, transport, [motd], (event) => {
  // Any UI can be built on these events; here, one line each.
  if (event.type === "step-done") console.log(`${event.step}: ${event.status}`);
  if (event.type === "output") console.log(`  ${event.line}`);
});
await transport.close();
console.log(`ran ${result.done.length}, skipped ${result.skipped.length}`);
