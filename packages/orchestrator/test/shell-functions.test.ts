import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import { NodeLayout, type StepContext, lines, nodeSpec, preamble, raw, sh, waitFor } from "../src/index.js";
import { cni, kubelet } from "../src/steps/worker.js";
import { wrap } from "../src/transport/wrap.js";

/** A script as the runner sends it (`set -e`, a full PATH): the shared functions, then the body. */
const script = (root: string, ...body: string[]) => wrap(raw([preamble(new NodeLayout(root)).text, ...body].join("\n")));

/** Runs a script under a POSIX shell (dash) or bash. */
const shell = (name: "dash" | "bash", text: string) => run(peer(name), ["-c", text]);
/** The same, in a network namespace of its own (`unshare --net`: root), where a test may listen on any port. */
const inOwnNetns = (name: "dash" | "bash", text: string) => run(peer("unshare"), ["--net", peer(name), "-c", text]);

describe("dk_stop", () => {
  const work = tempDir();

  it("gives a component that stops slowly (an etcd leader handing over) more than 10 s to stop by itself, and forgets its PID after", () => {
    const root = join(work, "slow");
    const done = join(work, "stopped-cleanly");
    // Takes 12 s to stop on SIGTERM, then says it stopped by itself; meanwhile it keeps its port.
    const component = join(work, "component.sh");
    writeFileSync(component, `trap 'sleep 12; echo yes > ${done}; exit 0' TERM\nwhile :; do sleep 0.2; done\n`);
    const r = shell(
      "dash",
      script(root, sh`dk_start slow /bin/sh ${component}`.text, "sleep 0.5", sh`dk_stop slow`.text, sh`[ ! -f "$DK_RUN/slow.pid" ] && echo gone`.text),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("gone");
    expect(existsSync(done) && readFileSync(done, "utf8").trim()).toBe("yes");
    // It stopped by itself: no word of a kill.
    expect(r.stderr).not.toContain("did not stop");
  }, 60_000);

  it("kills a component that does not stop within 30 s of SIGTERM, and says so (its port was closed all that time)", () => {
    const root = join(work, "stuck");
    // Ignores SIGTERM, as a kube-apiserver waiting on open watches did for 60 s.
    const component = join(work, "stuck.sh");
    writeFileSync(component, `trap '' TERM\nwhile :; do sleep 0.2; done\n`);
    const r = shell(
      "dash",
      script(
        root,
        sh`dk_start stuck /bin/sh ${component}`.text,
        "sleep 0.5",
        sh`pid=$(cat "$DK_RUN/stuck.pid")`.text,
        sh`dk_stop stuck`.text,
        sh`kill -0 "$pid" 2>/dev/null || echo gone`.text,
      ),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("gone");
    expect(r.stderr).toContain("warning: stuck did not stop within 30 s of SIGTERM: killed");
  }, 60_000);
});

describe("dk_wait", () => {
  const work = tempDir();

  it.each(["dash", "bash"] as const)("evaluates its probe again on every try (%s): a $(...) that turns true on its third call passes", (name) => {
    const count = join(work, `${name}.count`);
    // Prints 1, 2, 3... one more on each call.
    const probe = raw(`[ "$(n=$(cat ${count} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${count}; echo $n)" -ge 3 ]`);
    const r = shell(name, script(work, waitFor(10, probe).text));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(count, "utf8").trim()).toBe("3");
  });

  it.each(["dash", "bash"] as const)("the cni step's check (node Ready, asked of kubectl) passes once kubectl says True (%s)", (name) => {
    const root = join(work, `node-${name}`);
    const bin = join(root, "usr/local/bin");
    mkdirSync(bin, { recursive: true });
    // A kubectl that says the node is not Ready twice, then Ready.
    writeFileSync(
      join(bin, "kubectl"),
      `#!/bin/sh\nn=$(cat "$0.n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$0.n"\nif [ $n -ge 3 ]; then echo True; else echo False; fi\n`,
    );
    chmodSync(join(bin, "kubectl"), 0o755);
    const spec = nodeSpec({ dir: join(work, "cluster"), remoteRoot: root });
    const c: StepContext = { spec, node: new NodeLayout(root), arch: "amd64", supervisor: "process" };
    const r = shell(name, script(root, waitFor(10, cni.check(c)).text));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(bin, "kubectl.n"), "utf8").trim()).toBe("3");
  });

  it.each(["dash", "bash"] as const)(
    "the kubelet step's check passes only once its node's Lease was renewed after this kubelet process started (%s)",
    (name) => {
      const root = join(work, `kubelet-${name}`);
      const bin = join(root, "usr/local/bin");
      const run = new NodeLayout(root).run;
      mkdirSync(bin, { recursive: true });
      mkdirSync(run, { recursive: true });
      // The kubelet was started at 12:00:00 (its pid file's time, as dk_start writes it).
      writeFileSync(join(run, "kubelet.pid"), "1\n");
      const started = new Date("2026-12-07T12:00:00Z");
      utimesSync(join(run, "kubelet.pid"), started, started);
      // A kubectl that answers the Lease's renewTime from a file (nothing, as when the API refuses the kubelet).
      const renew = join(root, "renew");
      writeFileSync(join(bin, "kubectl"), `#!/bin/sh\ncat ${renew}\n`);
      chmodSync(join(bin, "kubectl"), 0o755);
      const spec = nodeSpec({ dir: join(work, "cluster"), remoteRoot: root });
      const c: StepContext = { spec, node: new NodeLayout(root), arch: "amd64", supervisor: "process" };
      // Healthz answers (a server in a network namespace of its own: port 10248 of this machine is not ours), once it
      // listens (a loaded machine takes more than half a second to start node).
      const check = (renewTime: string) => {
        writeFileSync(renew, renewTime);
        const server = `node -e 'require("http").createServer((q, s) => s.end("ok")).listen(10248, "127.0.0.1")' >/dev/null 2>&1 & srv=$!; i=0; until curl -fs http://127.0.0.1:10248/healthz >/dev/null || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done`;
        return inOwnNetns(
          name,
          script(root, "ip link set lo up", server, sh`if ${raw(kubelet.check(c).text)}; then echo passed; else echo failed; fi`.text, 'kill "$srv"'),
        );
      };
      // The previous kubelet's last renewal, a second before this one started: the API has not heard this one.
      expect(check("2026-12-07T11:59:59.500000Z").stdout).toContain("failed");
      // No Lease, or an API that refuses the kubelet's credentials: nothing to read.
      expect(check("").stdout).toContain("failed");
      // Renewed by this kubelet, 2 s after its start.
      const ok = check("2026-12-07T12:00:02.104000Z");
      expect(ok.stdout, ok.stderr).toContain("passed");
    },
  );

  it("fails after its time with the probe's own output, and a probe with quotes and a pipe stays one probe", () => {
    const r = shell("dash", script(work, waitFor(1, sh`echo ${"it's not; ready"} | grep -q ready && false`).text, "echo not reached"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/still failing after 1 s: echo 'it'\\''s not; ready' \| grep -q ready && false/);
    expect(r.stdout).not.toMatch(/not reached/);
  });
});

/** The words of systemd's `Command Line:` dump (C-style escapes in double quotes, as systemd quotes them). */
function parseCommandLine(line: string): string[] {
  const words: string[] = [];
  const escapes: Record<string, string> = { n: "\n", t: "\t", "\\": "\\", '"': '"', $: "$", "`": "`", "'": "'" };
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    let word = "";
    if (line[i] === '"') {
      i++;
      while (line[i] !== '"') {
        if (line[i] === "\\") {
          word += escapes[line[i + 1]!] ?? `\\${line[i + 1]}`;
          i += 2;
        } else word += line[i++];
      }
      i++;
    } else while (i < line.length && line[i] !== " ") word += line[i++];
    words.push(word);
  }
  return words;
}

describe("dk_start under systemd: a unit whose ExecStart systemd reads back as the intended argv", () => {
  const work = tempDir();
  // What a user may put in a flag: spaces, specifiers, variables, quotes, backslashes, a lone `;`, nothing at all.
  const argv = [
    "--cluster-name=demo cluster %h",
    "--x=$HOME and ${PATH} $$",
    `--q="quoted" 'single' it's`,
    "--b=back\\slash\\n",
    ";",
    "",
    "-dash",
    "tab\there",
  ];
  const root = join(work, "root");
  const units = join(root, "etc/systemd/system");
  const exe = "/usr/local/bin/dk-argv";

  /** Runs dk_start as a step does, systemd pretended (units written under `root`, systemctl a no-op). */
  const start = (name: string, after: string, args: string[]) => {
    const body = lines([
      raw(`DK_UNITS=${units}; dk_systemd() { true; }; systemctl() { :; }`),
      after ? sh`DK_AFTER=${after} dk_start ${name} ${exe} ${args}` : sh`dk_start ${name} ${exe} ${args}`,
    ]);
    return shell("dash", script("/", body.text));
  };

  it("writes a unit systemd-analyze verifies, with every argument quoted and escaped for systemd", () => {
    mkdirSync(units, { recursive: true });
    mkdirSync(join(root, "usr/local/bin"), { recursive: true });
    writeFileSync(join(root, exe), "#!/bin/sh\n");
    chmodSync(join(root, exe), 0o755);
    // systemd-analyze verify --root needs systemd's own units (sysinit.target...) in that root.
    cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true });
    const r = start("demo", "", argv);
    expect(r.status, r.stderr).toBe(0);
    const unit = readFileSync(join(units, "dk-demo.service"), "utf8");
    expect(unit).toMatch(/^ExecStart="\/usr\/local\/bin\/dk-argv" "--cluster-name=demo cluster %%h" /m);
    const verify = run(peer("systemd-analyze"), ["verify", `--root=${root}`, "dk-demo.service"]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr).toBe("");
  });

  it("systemd's own unit loader (systemd --test) reads the argv back: specifiers unescaped, $ kept as $$ (a literal $ when it runs)", () => {
    const systemd = "/usr/lib/systemd/systemd";
    if (!existsSync(systemd)) throw new Error("peer tool systemd is missing: run scripts/install-peers.sh as root");
    const dirs = { units: join(work, "user-units"), home: join(work, "home"), xdg: join(work, "xdg") };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    writeFileSync(join(dirs.units, "dk-demo.service"), readFileSync(join(units, "dk-demo.service")));
    // systemd refuses --test as root: run it as nobody when we are root.
    const asUser = process.getuid?.() === 0 ? [peer("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    if (asUser.length > 0) {
      chmodSync(work, 0o755);
      for (const d of [dirs.home, dirs.xdg]) chownSync(d, 65534, 65534);
    }
    const [cmd, ...args] = [
      ...asUser,
      "env",
      `HOME=${dirs.home}`,
      `XDG_RUNTIME_DIR=${dirs.xdg}`,
      `SYSTEMD_UNIT_PATH=${dirs.units}:`,
      systemd,
      "--test",
      "--user",
      "--unit=dk-demo.service",
      "--no-pager",
    ];
    const r = run(cmd!, args);
    expect(r.status, r.stderr).toBe(0);
    const block = r.stdout.slice(r.stdout.indexOf("-> Unit dk-demo.service:"));
    const line = /Command Line: (.*)/.exec(block)?.[1];
    expect(line).toBeDefined();
    expect(parseCommandLine(line!)).toEqual([exe, ...argv.map((a) => a.replaceAll("$", () => "$$"))]);
  });

  it.each(["dash", "bash"] as const)("orders a unit after the components it needs, and wants them; the next unit is ordered after nothing (%s)", (name) => {
    const body = lines([
      raw(`DK_UNITS=${units}; dk_systemd() { true; }; systemctl() { :; }`),
      sh`DK_AFTER=${"etcd containerd"} dk_start ${`after-${name}`} ${exe} --x`,
      sh`dk_start ${`next-${name}`} ${exe} --y`,
    ]);
    const r = shell(name, script("/", body.text));
    expect(r.status, r.stderr).toBe(0);
    const unit = readFileSync(join(units, `dk-after-${name}.service`), "utf8");
    expect(unit).toMatch(/^Wants=network-online.target dk-etcd.service dk-containerd.service$/m);
    expect(unit).toMatch(/^After=network-online.target dk-etcd.service dk-containerd.service$/m);
    expect(readFileSync(join(units, `dk-next-${name}.service`), "utf8")).toMatch(/^After=network-online.target$/m);
  });

  it("refuses an argument with a newline (a unit file is one line a setting) and writes no unit", () => {
    const r = start("newline", "", ["a\nb"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/dk_start: a unit file cannot hold an argument with a newline/);
    expect(existsSync(join(units, "dk-newline.service"))).toBe(false);
  });
});
