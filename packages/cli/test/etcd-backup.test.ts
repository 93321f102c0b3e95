// etcd snapshot and etcd restore on a real 3-member etcd 3.6.17 (the release table's for Kubernetes 1.35/1.36, built from
// etcd's modules by test-support/built-peers.ts: snapshot status and restore run etcdutl on the nodes) over SSH (network-namespace hosts, each with its own sshd,
// user and remote root): keys written before the snapshot come back, keys written after it are gone, and what would
// be refused (no --yes, a damaged file) is refused before any member stops.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mirror, etcdMirrorFiles, etcdTool, etcdctlOf, startMirror } from "../../../test-support/mirror.js";
import { background, until } from "../../../test-support/background.js";
import { RELEASES } from "@dk-bootstrap/orchestrator";
import { dkAsync, runAsync, tempDir } from "../../../test-support/peers.js";
import { type ClusterHost, type TestCluster, clusterFileFor, etcdctlFlags, startTestCluster } from "../../../test-support/test-cluster.js";

// From 3.5 on, the nodes' snapshot status and restore are etcdutl's (3.6's etcdctl cannot restore).
const ETCD = RELEASES[1]!.etcd;

describe("etcd snapshot and restore on a 3-member cluster", () => {
  const work = tempDir("dk-etcd-backup-");
  const dir = join(work, "cluster");
  const file = join(work, "cluster.yaml");
  let cluster: TestCluster;
  let mirror: Mirror;
  let hosts: [ClusterHost, ClusterHost, ClusterHost];
  const snap = join(work, "snap.db");

  const dk = (...args: string[]) => dkAsync([...args, "-f", file, "--dir", dir], { cwd: work });
  /** etcdctl (the cluster's release) from this machine as the health-check client of `via`'s node folder, against its member. */
  const etcdctl = (via: ClusterHost, ...args: string[]) =>
    runAsync(etcdctlOf(ETCD).path, [...etcdctlFlags({ dir, via }), ...args], { env: etcdctlOf(ETCD).env });
  const put = async (key: string, value: string) => {
    const r = await etcdctl(hosts[0], "put", key, value);
    expect(r.status, r.stderr).toBe(0);
  };
  /** A key's value as `via`'s member gives it (a linearizable read: the cluster's answer), "" when absent. */
  const get = async (via: ClusterHost, key: string) => {
    const r = await etcdctl(via, "get", key, "--print-value-only");
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const memberList = async () => {
    const r = await etcdctl(hosts[0], "member", "list", "-w", "simple");
    expect(r.status, r.stderr).toBe(0);
    return r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(", "))
      .map(([id, status, name]) => ({ id: id!, status: status!, name: name! }));
  };
  /**
   * The leader's name: the endpoint whose member ID is the leader it reports (`endpoint status --cluster -w json`; the
   * IDs are read as text, since they are 64-bit numbers JSON.parse would round).
   */
  const leader = async () => {
    const r = await etcdctl(hosts[0], "endpoint", "status", "--cluster", "-w", "json");
    const url = r.stdout
      .split('{"Endpoint":')
      .slice(1)
      .find((e) => {
        const [member, lead] = [/"member_id":(\d+)/.exec(e)?.[1], /"leader":(\d+)/.exec(e)?.[1]];
        return member !== undefined && member === lead;
      })
      ?.match(/^"([^"]+)"/)?.[1];
    return hosts.find((h) => url === `https://${h.ip}:2379`)?.name;
  };
  const pids = () => hosts.map((h) => execFileSync("pgrep", ["-u", String(h.uid), "-x", "etcd"], { encoding: "utf8" }).trim());
  const record = () => JSON.parse(readFileSync(join(dir, "apply-record.json"), "utf8")) as { token: string; started: Record<string, { state: string }> };
  const dataFolders = (h: ClusterHost) => readdirSync(join(h.remoteRoot, "var", "lib")).filter((f) => f.startsWith("etcd"));

  beforeAll(async () => {
    cluster = await startTestCluster(work, 3);
    hosts = cluster.hosts as [ClusterHost, ClusterHost, ClusterHost];
    mirror = await startMirror(cluster.hostIp, etcdMirrorFiles(join(work, "mirror"), ETCD, "amd64"));
    writeFileSync(file, clusterFileFor(cluster, hosts, { name: "backup-test", mirror: mirror.url, checksums: mirror.checksums(), etcd: ETCD }));
    const r = await dk("apply", "--until", "etcd");
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await mirror?.close();
    await cluster?.stop();
  });

  it("takes a snapshot from a member into a 0600 file, checked by etcd, and leaves no copy on the node", async () => {
    await put("/dk/kept", "before");
    await put("/dk/changed", "old");
    const leaderBefore = await leader();
    const r = await dk("etcd", "snapshot", "--out", snap);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    // From the leader, as etcd's upgrade guide takes it (asked before and after: an election may fall in between).
    const taken = /snapshot from (\S+) \(the leader\)/.exec(r.stdout)?.[1];
    expect([leaderBefore, await leader()]).toContain(taken);
    expect(r.stdout).toMatch(/revision \d+, \d+ keys, \d+ bytes/);
    expect(statSync(snap).mode & 0o777).toBe(0o600);
    // etcd's own reading of the file, on this machine.
    const status = await runAsync(etcdTool(ETCD, "etcdutl"), ["snapshot", "status", snap, "-w", "json"]);
    expect(status.status, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { revision: number; totalKey: number };
    expect(r.stdout).toContain(`revision ${s.revision}, ${s.totalKey} keys, ${statSync(snap).size} bytes`);
    for (const h of hosts) {
      const folder = join(h.remoteRoot, "var", "lib", "dk-bootstrap", "etcd-snapshots");
      expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
    }
    // An --out that is a folder: refused in one line, before any snapshot, and nothing left in it or beside it.
    const folder = join(work, "a-folder");
    mkdirSync(folder);
    const intoFolder = await dk("etcd", "snapshot", "--out", folder);
    expect(intoFolder.status).toBe(1);
    expect(intoFolder.stderr).toMatch(/^error: .*\/a-folder: is a folder: give the snapshot a file name$/m);
    expect([...readdirSync(folder), ...readdirSync(work).filter((f) => f.endsWith(".tmp"))]).toEqual([]);
    // The default name, under the cluster folder.
    const d = await dk("etcd", "snapshot");
    expect(d.status, d.stderr).toBe(0);
    const backups = readdirSync(join(dir, "backups")).sort();
    expect(backups).toEqual([expect.stringMatching(/^etcd-\d{8}T\d{6}Z\.db$/), `${backups[0]}.json`]);
    // The sidecar says whose snapshot it is.
    const side = JSON.parse(readFileSync(`${snap}.json`, "utf8")) as { cluster: string; sha256: string; revision: number; members: { name: string }[] };
    expect(side).toMatchObject({ cluster: "backup-test", revision: s.revision, sha256: createHash("sha256").update(readFileSync(snap)).digest("hex") });
    expect(side.members.map((m) => m.name).sort()).toEqual(hosts.map((h) => h.name).sort());
  }, 120_000);

  it("keeps the previous good snapshot when the new one fails its check, and leaves nothing beside it", async () => {
    const [before, side] = [readFileSync(snap), readFileSync(`${snap}.json`)];
    // Test-only: the copy fetched beside FILE is damaged before its check, as a snapshot etcd wrote damaged would be.
    const r = await dkAsync(["etcd", "snapshot", "--out", snap, "-f", file, "--dir", dir], {
      cwd: work,
      env: { ...process.env, DK_TEST_SNAPSHOT_DAMAGE: "1" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*: damaged: its content does not match the SHA-256 etcd wrote at its end$/m);
    expect(readFileSync(snap).equals(before)).toBe(true);
    expect(readFileSync(`${snap}.json`).equals(side)).toBe(true);
    expect(readdirSync(work).filter((f) => f.startsWith(".snap.db"))).toEqual([]);
  }, 120_000);

  it("refuses a restore without --yes, saying what it would do, and changes nothing", async () => {
    await put("/dk/after", "written after the snapshot");
    await put("/dk/changed", "new");
    const [before, running, token] = [await memberList(), pids(), record().token];
    const r = await dk("etcd", "restore", snap);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: etcd restore stops every etcd member of .*, replaces its data .* starts the members again as a new cluster/m);
    expect(r.stderr).toMatch(/^hint: add --yes/m);
    expect([await memberList(), pids(), record().token]).toEqual([before, running, token]);
    expect(await get(hosts[1], "/dk/after")).toBe("written after the snapshot");
  }, 120_000);

  it("refuses a damaged or truncated snapshot before any member stops", async () => {
    const damaged = join(work, "damaged.db");
    copyFileSync(snap, damaged);
    const bytes = readFileSync(damaged);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(damaged, bytes);
    const truncated = join(work, "truncated.db");
    copyFileSync(snap, truncated);
    truncateSync(truncated, statSync(snap).size - 100);
    // Whole by its integrity hash, but no database etcd can open: refused on the nodes, in the trial before any stop.
    const garbage = join(work, "garbage.db");
    const junk = randomBytes(4096);
    writeFileSync(garbage, Buffer.concat([junk, createHash("sha256").update(junk).digest()]));
    const [before, running] = [await memberList(), pids()];
    const unreadable = await dk("etcd", "restore", garbage, "--yes", "--force");
    expect(unreadable.status).toBe(1);
    expect(unreadable.stderr).toMatch(/^error: .*etcd cannot read the snapshot .*: nothing was stopped or changed$/m);
    const bad = await dk("etcd", "restore", damaged, "--yes");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^error: .*damaged\.db: damaged: its content does not match the SHA-256 etcd wrote at its end$/m);
    const short = await dk("etcd", "restore", truncated, "--yes");
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/^error: .*truncated\.db: not an etcd snapshot with its integrity hash/m);
    expect([await memberList(), pids()]).toEqual([before, running]);
    for (const h of hosts) {
      expect(dataFolders(h)).toEqual(["etcd"]);
      expect(readdirSync(join(h.remoteRoot, "var", "lib", "dk-bootstrap", "etcd-restore"))).toEqual([]);
    }
    expect(await get(hosts[2], "/dk/after")).toBe("written after the snapshot");
  }, 120_000);

  it("refuses a snapshot that is not known to be this cluster's without --force, before any member stops", async () => {
    const [before, running] = [await memberList(), pids()];
    // A copy without its sidecar: nothing says whose it is.
    const bare = join(work, "bare.db");
    copyFileSync(snap, bare);
    const none = await dk("etcd", "restore", bare, "--yes");
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(
      /^error: .*bare\.db: not known to be this cluster's snapshot: no bare\.db\.json beside it says whose snapshot it is: nothing was stopped or changed\nhint: .*--force/m,
    );
    // Another cluster's, as its sidecar says: another name, another etcd CA.
    const other = join(work, "other.db");
    copyFileSync(snap, other);
    const side = JSON.parse(readFileSync(`${snap}.json`, "utf8")) as Record<string, unknown>;
    writeFileSync(`${other}.json`, JSON.stringify({ ...side, snapshot: "other.db", cluster: "prod", etcdCA: "ab".repeat(32) }));
    const foreign = await dk("etcd", "restore", other, "--yes");
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toMatch(
      /^error: .*other\.db: not known to be this cluster's snapshot: it is cluster "prod"'s, not "backup-test"'s; its etcd CA \(SHA-256 abababababababab…\) is not this cluster folder's: nothing/m,
    );
    expect([await memberList(), pids()]).toEqual([before, running]);
    expect(await get(hosts[2], "/dk/after")).toBe("written after the snapshot");
  }, 120_000);

  it("restores every member from the snapshot, one of them dead: its keys back, later keys gone, 3 healthy members under a new token that apply keeps", async () => {
    const [before, token] = [await memberList(), record().token];
    // The case a restore is for: a member lost (its process killed; its host and SSH are up).
    execFileSync("pkill", ["-9", "-u", String(hosts[1].uid), "-x", "etcd"]);
    const run = background(["etcd", "restore", snap, "--yes", "-f", file, "--dir", dir], work);
    // Once members are being stopped: the cluster folder and every node are held by the restore (an apply or a run waits).
    await until("the restore to stop a member", () => /stopping etcd/.test(run.out.stdout) || run.out.ended);
    const owner = JSON.parse(readFileSync(join(dir, ".dk-bootstrap.lock"), "utf8")) as { pid: number; command: string };
    expect(owner).toMatchObject({ pid: run.pid, command: expect.stringMatching(/etcd restore/) });
    for (const h of hosts) expect(spawnSync("flock", ["-n", join(h.remoteRoot, "var", "lib", "dk-bootstrap", "lock"), "true"]).status, h.name).not.toBe(0);
    const end = await run.done;
    const r = { status: end.code, ...run.out };
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const h of hosts) {
      expect(await get(h, "/dk/kept")).toBe("before");
      expect(await get(h, "/dk/changed")).toBe("old");
      expect(await get(h, "/dk/after")).toBe("");
    }
    const health = await etcdctl(hosts[0], "endpoint", "health", "--cluster");
    expect(health.status, health.stderr).toBe(0);
    expect(`${health.stdout}${health.stderr}`.match(/is healthy/g)).toHaveLength(3);
    const after = await memberList();
    expect(after.map((m) => [m.name, m.status]).sort()).toEqual(hosts.map((h) => [h.name, "started"]).sort());
    // etcdutl's restore moved the revision on by a billion and marked the old ones compacted (etcd's recovery guide: so
    // that Kubernetes' watch caches start over).
    const snapshotRevision = (JSON.parse(readFileSync(`${snap}.json`, "utf8")) as { revision: number }).revision;
    const status = await etcdctl(hosts[0], "endpoint", "status", "-w", "json");
    expect(status.status, status.stderr).toBe(0);
    const [{ Status: now }] = JSON.parse(status.stdout) as [{ Status: { header: { revision: number }; version: string } }];
    expect(now.version).toBe(ETCD);
    expect(now.header.revision).toBeGreaterThanOrEqual(snapshotRevision + 1_000_000_000);
    expect((await etcdctl(hosts[0], "get", "/dk/kept", `--rev=${snapshotRevision}`)).stderr).toMatch(/required revision has been compacted/);
    // A new cluster: new member IDs, a new token recorded for apply, and each member's old data kept aside.
    expect(after.map((m) => m.id).filter((id) => before.some((b) => b.id === id))).toEqual([]);
    expect(record().token).not.toBe(token);
    for (const h of hosts) {
      expect(record().started[h.name]!.state).toBe("new");
      expect(dataFolders(h).sort()).toEqual(["etcd", expect.stringMatching(/^etcd\.before-restore-\d{8}T\d{6}Z$/)]);
      expect(readdirSync(join(h.remoteRoot, "var", "lib", "dk-bootstrap", "etcd-restore"))).toEqual([]);
    }
    // The next apply finds the members as the record says they started: nothing restarts.
    const running = pids();
    const again = await dk("apply", "--until", "etcd");
    expect(again.status, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(pids()).toEqual(running);
    expect(await get(hosts[1], "/dk/kept")).toBe("before");
    // And the restored cluster takes writes.
    await put("/dk/after-restore", "yes");
    expect(await get(hosts[2], "/dk/after-restore")).toBe("yes");
  }, 180_000);

  it("takes the snapshot from another member when the leader's is dead", async () => {
    let name = await leader();
    for (let i = 0; i < 40 && name === undefined; i++) name = await new Promise((r) => setTimeout(r, 500)).then(leader);
    const gone = hosts.find((h) => h.name === name)!;
    execFileSync("pkill", ["-9", "-u", String(gone.uid), "-x", "etcd"]);
    const out = join(work, "without-leader.db");
    const r = await dk("etcd", "snapshot", "--out", out);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const from = /snapshot from (\S+)/.exec(r.stdout)?.[1];
    expect(hosts.filter((h) => h !== gone).map((h) => h.name)).toContain(from);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  }, 120_000);
  it("reset -f removes the data folders restores set aside or staged on every host, and nothing else of var/lib", async () => {
    const lib = (h: ClusterHost) => join(h.remoteRoot, "var", "lib");
    for (const h of hosts) {
      expect(dataFolders(h)).toContainEqual(expect.stringMatching(/^etcd\.before-restore-\d{8}T\d{6}Z$/));
      // What a restore killed between its trial and the swap leaves, and folders dk-bootstrap did not make.
      for (const f of ["etcd.restore-20260101T000000Z", "etcd.before-restore-mine", "etcd.mine", "other"]) {
        mkdirSync(join(lib(h), f));
        writeFileSync(join(lib(h), f, "data"), "x");
        // As the host's user made them (this process is root; the host's reset runs as its user).
        for (const p of [join(lib(h), f), join(lib(h), f, "data")]) chownSync(p, h.uid, h.uid);
      }
    }
    const r = await dk("reset", "--yes");
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const h of hosts) expect(readdirSync(lib(h)).sort(), h.name).toEqual(["etcd.before-restore-mine", "etcd.mine", "other"]);
  }, 180_000);
});
