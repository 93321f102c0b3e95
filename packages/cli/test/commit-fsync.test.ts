// What survives a power loss cannot be pulled out of a running machine here, but its preconditions can be watched:
// strace records the order in which a `certs` makes its files durable, and the journal's protocol (packages/pki/src/
// journal.ts) needs this order. Before the commit point (the journal's rename) every staged file, the journal, the
// staging folder and the cluster folder holding it are synced; after the renames, every folder that holds a target,
// and each folder above it, is synced before the journal goes.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, peer, run, tempDir } from "../../../test-support/peers.js";

/**
 * The completed fsyncs and the renames and unlinks of a traced run, in order, each with its path. With -f, a call that
 * another thread's call interrupts is printed in two lines (`<unfinished ...>`, then `<... NAME resumed>`): joined here.
 */
function durabilityEvents(trace: string): { op: "fsync" | "rename" | "unlink"; path: string; to?: string }[] {
  const pending = new Map<string, string>();
  const events: { op: "fsync" | "rename" | "unlink"; path: string; to?: string }[] = [];
  for (const line of trace.split("\n")) {
    // strace pads the PID to five columns: a PID of four digits is followed by two spaces.
    const [, pid = "", part = ""] = /^(\d+)\s+(.*)$/s.exec(line) ?? [];
    if (part.endsWith(" <unfinished ...>")) {
      pending.set(pid, part.slice(0, -" <unfinished ...>".length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(part);
    const call = resumed ? `${pending.get(pid) ?? ""}${resumed[1]}` : part;
    let m: RegExpExecArray | null;
    if ((m = /^fsync\(\d+<([^>]*)>\) += 0$/.exec(call))) events.push({ op: "fsync", path: m[1]! });
    else if ((m = /^rename\("([^"]*)", "([^"]*)"\) += 0$/.exec(call))) events.push({ op: "rename", path: m[1]!, to: m[2]! });
    else if ((m = /^unlink\("([^"]*)"\) += 0$/.exec(call))) events.push({ op: "unlink", path: m[1]! });
  }
  return events;
}

describe("a commit's order of durability, as strace sees it", () => {
  it("syncs every staged file and both folders before the commit point, and every target's folder up to the cluster folder before the journal goes", () => {
    const work = tempDir("dk-fsync-");
    const dir = join(work, "c");
    const traceFile = join(work, "trace");
    const r = run(
      peer("strace"),
      ["-f", "-y", "-o", traceFile, "-e", "trace=fsync,rename,unlink", process.execPath, CLI, "certs", "--key-algo", "ecdsa", "--dir", dir],
      {
        cwd: work,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const events = durabilityEvents(run("cat", [traceFile]).stdout);
    const staging = join(dir, ".dk-staging");
    const commit = events.findIndex((e) => e.op === "rename" && e.to === join(staging, "journal.json"));
    expect(commit).toBeGreaterThan(0);
    const synced = (from: number, to: number) =>
      new Set(
        events
          .slice(from, to)
          .filter((e) => e.op === "fsync")
          .map((e) => e.path),
      );

    const before = synced(0, commit);
    const staged = events.filter((e) => e.op === "rename" && e.path.startsWith(`${staging}/`) && e.path.endsWith(".new"));
    expect(staged.length).toBeGreaterThan(40);
    for (const s of staged) expect(before, s.path).toContain(s.path);
    expect(before).toContain(events[commit]!.path); // the journal itself
    expect(before).toContain(staging);
    expect(before).toContain(dir);

    const firstMove = events.findIndex((e, i) => i > commit && e.op === "rename");
    expect(synced(commit, firstMove)).toContain(staging);

    const end = events.findIndex((e) => e.op === "unlink" && e.path === join(staging, "journal.json"));
    expect(end).toBeGreaterThan(firstMove);
    const after = synced(firstMove, end);
    for (const folder of [dir, join(dir, "pki"), join(dir, "pki", "etcd"), join(dir, "pki", "clients")]) expect(after, folder).toContain(folder);
    for (const s of staged) expect(after, `the folder of ${s.to}`).toContain(join(s.to!, ".."));
  });
});
