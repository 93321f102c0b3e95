import { join, resolve } from "node:path";
import { DkError } from "@dk-bootstrap/pki";
import { restoreSnapshot, stamp, takeSnapshot, verifySnapshotFile } from "@dk-bootstrap/orchestrator";
import type { Command } from "commander";
import { RunOutput } from "../render/output.js";
import { type ClusterCommandFlags, withCluster } from "../cluster-hosts.js";

interface SnapshotFlags extends ClusterCommandFlags {
  out?: string;
}

interface RestoreFlags extends ClusterCommandFlags {
  yes?: boolean;
  force?: boolean;
}

/** The connection options every whole-cluster command takes. */
function clusterOptions(cmd: Command): Command {
  return cmd
    .requiredOption("-f, --file <file>", "the cluster file apply used")
    .option("--dir <dir>", "cluster folder (the CAs in pki/, each node in nodes/NAME)", "./cluster")
    .option("-i, --identity <file>", "private key for every host (over the file's keyPath)")
    .option("--known-hosts <file>", "known_hosts file (over the file's knownHosts)")
    .option("--accept-new-host-key", "trust unknown host keys and record them (a changed key is always refused)")
    .option("--sudo-password-stdin", "read the sudo password from stdin (the same for every host)")
    .option("-v, --verbose", "show the nodes' output");
}

const say = (line: string) => process.stdout.write(`[etcd] ${line}\n`);

/** `dk-bootstrap etcd snapshot` and `dk-bootstrap etcd restore`. */
export function registerEtcd(program: Command): void {
  const etcd = program.command("etcd").description("back up the cluster's etcd to a file on this machine, and restore every member from one");

  clusterOptions(etcd.command("snapshot"))
    .description("take a snapshot from a healthy member (the leader when it answers), verified, into a file of mode 0600")
    .option("--out <file>", "where to write it (default: DIR/backups/etcd-TIME.db)")
    .addHelpText(
      "after",
      "\nThe snapshot is written beside FILE and checked before it replaces it: a failed check leaves the previous FILE as it was.\nFILE.json, beside it, says whose snapshot it is (cluster, etcd CA, members, revision): `etcd restore` checks it.\nThe file holds every Secret of the cluster: keep it as you keep the CA keys.",
    )
    .action(async (o: SnapshotFlags) => {
      const out = resolve(o.out ?? join(o.dir, "backups", `etcd-${stamp()}.db`));
      await withCluster(o, async (nodes) => {
        const s = await takeSnapshot(nodes, out, { say });
        say(`revision ${s.status.revision}, ${s.status.totalKey} keys, ${s.size} bytes (hash ${s.status.hash}, sha256 ${s.sha256})`);
        say(`written to ${s.path} (mode 0600)`);
      });
    });

  clusterOptions(etcd.command("restore <snapshot>"))
    .description("stop every etcd member, replace its data with the snapshot's (the old data kept aside) and start them again as a new cluster")
    .option("--yes", "do it: every write made after the snapshot is lost")
    .option("--force", "restore a snapshot whose SNAPSHOT.json does not say it is this cluster's (another cluster's, or none)")
    .addHelpText(
      "after",
      "\nThe file is checked first (its integrity hash here, its SNAPSHOT.json against this cluster's name and etcd CA, `snapshot status`\nand a trial restore on every controller); nothing is stopped unless all pass. The cluster folder and every node stay locked\nfrom start to end. The apiservers, controller-managers, schedulers and kubelets are stopped before etcd and started after it.",
    )
    .action(async (file: string, o: RestoreFlags) => {
      const path = resolve(file);
      // Read before asking: a file that would be refused anyway is said first.
      const { size } = await verifySnapshotFile(path);
      if (!o.yes)
        throw new DkError(
          `etcd restore stops every etcd member of ${o.file}, replaces its data with ${path}'s (${size} bytes; the old data is kept aside) and starts the members again as a new cluster: every write since the snapshot is lost; nothing was done`,
          "CONFIRM",
          { hint: "add --yes to do it" },
        );
      const outputs = new Map<string, RunOutput>();
      const out = (host: string) => outputs.get(host) ?? outputs.set(host, new RunOutput({ host, json: false, verbose: o.verbose ?? false })).get(host)!;
      try {
        await withCluster(o, async (nodes) => {
          const r = await restoreSnapshot(nodes, path, resolve(o.dir), { say, events: (host, e) => out(host).sink(e) }, { force: o.force ?? false });
          say(`restored revision ${r.status.revision} (${r.status.totalKey} keys) on ${r.members.map((m) => m.name).join(", ")}: all healthy`);
          for (const [name, kept] of Object.entries(r.keptAside)) say(`${name}: the previous data is kept in ${kept}`);
        });
      } finally {
        for (const x of outputs.values()) await x.close();
      }
    });
}
