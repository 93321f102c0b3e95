// certs rotate-ca as a hostile folder sees it: a tampered state file, a tampered archive, an abort too late, a umask of
// 000, a dry run; all without a host (the refusals come before any host is dialled: 10.9.0.1 answers no one).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { advanceRotation, markRolledOut, readRotation, startRotation, withClusterFolder } from "@dk-bootstrap/pki";
import { CLI, dk, folderSnapshot, tempDir } from "../../../test-support/peers.js";
import { clusterFolder } from "./rotate-ca-folder.js";

const FILE = `apiVersion: dk-bootstrap/v1alpha1
kind: Cluster
metadata: { name: demo }
spec:
  hosts:
    - { ssh: { address: 10.9.0.1 }, role: controller, nodeName: cp1 }
  versions: { kubernetes: 1.35.2 }
  pki: { keyAlgorithm: ecdsa }
`;

const folderFor = (cwd: string) => clusterFolder(cwd, FILE);

const inFolder = <T>(dir: string, work: Parameters<typeof withClusterFolder<T>>[2]) => withClusterFolder(dir, undefined, work);
const statePath = (dir: string) => join(dir, "pki", "rotation", "state.json");

/** Runs rotate-ca on FILE, bounded: a run that got past its checks dials 10.9.0.1 and fails (or is killed) later. */
function rotate(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [CLI, "certs", "rotate-ca", ...args, "-f", "cluster.yaml"], { cwd, encoding: "utf8", timeout: 60_000 });
}

/** One `error:` line (and at most a hint), no stack, nothing said about the rollout (no host dialled). */
function refusedInOneLine(r: { status: number | null; stdout: string; stderr: string }, line: RegExp): void {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("error: "))).toHaveLength(1);
  expect(r.stderr).toMatch(line);
  expect(r.stderr).not.toContain("    at ");
  expect(r.stdout).not.toMatch(/note:/);
  expect(r.stdout + r.stderr).not.toContain("PRIVATE KEY");
}

/** A folder (in a new CWD) with an etcd CA rotation started: phase 1, nothing rolled out. */
async function startedEtcdRotation() {
  const cwd = tempDir("dk-rot-safe-");
  const dir = await folderFor(cwd);
  return { cwd, dir, r: await inFolder(dir, (f) => startRotation(f, "etcd")) };
}

/** Another cluster's etcd CA: a consistent certificate and key that are not this rotation's. */
async function otherEtcdCa(): Promise<{ crt: Buffer; key: Buffer }> {
  const pki = join(await folderFor(tempDir("dk-rot-other-")), "pki", "etcd");
  return { crt: readFileSync(join(pki, "ca.crt")), key: readFileSync(join(pki, "ca.key")) };
}

describe("certs rotate-ca with a tampered state file", () => {
  const cases: [string, (s: Record<string, unknown>) => unknown, RegExp][] = [
    ["not JSON", () => "{ phase: 1", /^error: .*state\.json: not readable JSON$/m],
    ["an unknown phase", (s) => ({ ...s, phase: 7 }), /^error: .*state\.json: phase: must be 1, 2 or 3 \(got "7"\)$/m],
    [
      "phase 0 (advancing it would make the new CA the only one trusted before any leaf moved)",
      (s) => ({ ...s, phase: 0, rolledOut: true }),
      /^error: .*state\.json: phase: must be 1, 2 or 3 \(got "0"\)$/m,
    ],
    ["a phase as text", (s) => ({ ...s, phase: "2" }), /^error: .*state\.json: phase: must be 1, 2 or 3 \(got "\\"2\\""\)$/m],
    ["rolledOut not a boolean", (s) => ({ ...s, rolledOut: "yes" }), /^error: .*state\.json: rolledOut: must be true or false \(got "\\"yes\\""\)$/m],
    ["a CA that is not the name's", (s) => ({ ...s, ca: "ca" }), /^error: .*state\.json: ca: must be "etcd\/ca", the etcd CA's \(got "\\"ca\\""\)$/m],
    ["an unknown name", (s) => ({ ...s, name: "kubelet" }), /^error: .*state\.json: name: must be etcd, cluster or front-proxy \(got "\\"kubelet\\""\)$/m],
    [
      "an archive outside pki/rotation",
      (s) => ({ ...s, archive: "../../outside" }),
      /^error: .*state\.json: archive: must be a folder pki\/rotation\/NAME \(got "\\"..\/..\/outside\\""\)$/m,
    ],
    ["a field missing", (s) => ({ ...s, new: undefined }), /^error: .*state\.json: new: must be a SHA-256 fingerprint \(got "undefined"\)$/m],
    ["an array", () => [], /^error: .*state\.json: must be a JSON object$/m],
  ];
  for (const [what, tamper, line] of cases)
    it(`refuses ${what} in one line naming the file and field, before any host is dialled`, async () => {
      const { cwd, dir } = await startedEtcdRotation();
      const s = JSON.parse(readFileSync(statePath(dir), "utf8")) as Record<string, unknown>;
      const t = tamper(s);
      writeFileSync(statePath(dir), typeof t === "string" ? t : JSON.stringify(t));
      const before = folderSnapshot(cwd);
      refusedInOneLine(rotate(cwd, "etcd"), line);
      expect(folderSnapshot(cwd)).toEqual(before);
    });

  it("refuses a phase whose archived CA is missing, naming the file", async () => {
    const { cwd, dir, r } = await startedEtcdRotation();
    rmSync(join(dir, r.archive, "new.key"));
    refusedInOneLine(rotate(cwd, "etcd"), /^error: .*new\.key: missing: the rotation's CAs are kept there$/m);
  });

  it("refuses an archived CA that is not the one the state names (a CA swapped in would sign every leaf)", async () => {
    const { cwd, dir, r } = await startedEtcdRotation();
    // Another cluster's etcd CA, with its own key: a consistent pair, only the fingerprint tells it apart.
    const other = await otherEtcdCa();
    writeFileSync(join(dir, r.archive, "new.crt"), other.crt);
    writeFileSync(join(dir, r.archive, "new.key"), other.key);
    refusedInOneLine(rotate(cwd, "etcd"), /^error: .*new\.crt: not the CA the rotation recorded \(sha256 [0-9A-F:]+\)$/m);
    // The library's read refuses it, and every phase change re-reads the state first: no caller signs with it.
    await expect(inFolder(dir, (f) => advanceRotation(f, { ...r, rolledOut: true }))).rejects.toThrow(/not the CA the rotation recorded/);
    await expect(inFolder(dir, (f) => readRotation(f))).rejects.toThrow(/not the CA the rotation recorded/);
  });

  it("refuses an archived CA key that is not its certificate's (phase 2 would copy it over every CA key)", async () => {
    const { cwd, dir, r } = await startedEtcdRotation();
    writeFileSync(join(dir, r.archive, "new.key"), (await otherEtcdCa()).key);
    refusedInOneLine(rotate(cwd, "etcd"), /^error: .*new\.key: does not match .*new\.crt$/m);
  });
});

describe("certs rotate-ca --abort", () => {
  it("is refused in phase 3 before any host is dialled", async () => {
    const { cwd, dir, r: started } = await startedEtcdRotation();
    let r = await inFolder(dir, (f) => markRolledOut(f, started));
    r = (await inFolder(dir, (f) => advanceRotation(f, r))).rotation;
    r = await inFolder(dir, (f) => markRolledOut(f, r));
    r = (await inFolder(dir, (f) => advanceRotation(f, r))).rotation;
    expect(r.phase).toBe(3);
    const before = folderSnapshot(cwd);
    refusedInOneLine(rotate(cwd, "etcd", "--abort"), /^error: the etcd CA rotation is in phase 3 \(the old CA leaves every bundle\): too late to abort$/m);
    expect(folderSnapshot(cwd)).toEqual(before);
  });

  it("is refused for a CA other than the one rotating", async () => {
    const { cwd } = await startedEtcdRotation();
    refusedInOneLine(rotate(cwd, "front-proxy", "--abort"), /^error: a rotation of the etcd CA is in progress \(phase 1\): one CA at a time$/m);
  });
});

describe("certs rotate-ca's archive", () => {
  it("is 0700 with 0600 keys even when the umask is 000", async () => {
    const cwd = tempDir("dk-rot-safe-");
    const dir = await folderFor(cwd);
    // The umask is per process: a child with umask 000 starts the rotation through the built library.
    // A pki/rotation that someone left open is tightened too.
    mkdirSync(join(dir, "pki", "rotation"), { mode: 0o777 });
    chmodSync(join(dir, "pki", "rotation"), 0o777);
    const script = `import { startRotation, withClusterFolder } from "@dk-bootstrap/pki";
const r = await withClusterFolder(process.argv[1], undefined, (f) => startRotation(f, "etcd"));
process.stdout.write(r.archive);`;
    const archive = execFileSync("sh", ["-c", 'umask 000 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, dir], {
      cwd: join(import.meta.dirname, ".."),
      encoding: "utf8",
    });
    const mode = (p: string) => (statSync(join(dir, p)).mode & 0o777).toString(8);
    expect(mode("pki/rotation")).toBe("700");
    expect(mode(archive)).toBe("700");
    expect([mode(join(archive, "old.key")), mode(join(archive, "new.key")), mode("pki/rotation/state.json"), mode("pki/etcd/ca.key")]).toEqual([
      "600",
      "600",
      "600",
      "600",
    ]);
    expect([mode(join(archive, "old.crt")), mode(join(archive, "new.crt"))]).toEqual(["644", "644"]);
  });
});

describe("certs rotate-ca --dry-run", () => {
  it("changes nothing on disk, with a rotation in progress or none, for a cluster file and for ssh HOST", async () => {
    const cwd = tempDir("dk-rot-safe-");
    await folderFor(cwd);
    const before = folderSnapshot(cwd);
    const r = rotate(cwd, "cluster", "--dry-run", "--dir", "cluster", "--verbose", "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain("PRIVATE KEY");
    expect(folderSnapshot(cwd)).toEqual(before);

    const node = tempDir("dk-rot-safe-node-");
    expect(dk(["certs", "--dir", "cluster", "--key-algo", "ecdsa", "--node-name", "n1"], { cwd: node }).status).toBe(0);
    await inFolder(join(node, "cluster"), (f) => startRotation(f, "etcd"));
    const nodeBefore = folderSnapshot(node);
    const s = dk(["certs", "rotate-ca", "etcd", "ssh", "root@192.0.2.1", "--dir", "cluster", "--dry-run", "--verbose", "--json"], { cwd: node });
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout + s.stderr).not.toContain("PRIVATE KEY");
    expect(folderSnapshot(node)).toEqual(nodeBefore);
  });
});
