/**
 * `status -f cluster.yaml`: every host's steps, etcd's members and their health, and each node's certificates' expiry.
 * Status is what one runs with a node down: the hosts that answer are shown, the others marked unreachable.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DkError, checkExpiration, describeRotation, readRotation, rotationInProgress, table, withClusterFolder } from "@dk-bootstrap/pki";
import { type ClusterNode, clusterStatus, installedVersions, nodeRotation, nodeRotationFile } from "@dk-bootstrap/orchestrator";
import { type ClusterCommandFlags, type UnreachableHost, withCluster } from "../cluster-hosts.js";

/** `status -f cluster.yaml`: every host's steps, etcd's members and their health, and each node's certificates' expiry. */
export function clusterStatusCommand(o: ClusterCommandFlags): Promise<void> {
  return withCluster(
    o,
    async (nodes, unreachable) => {
      // Status is what one runs with a node down: the hosts that answered are shown, then the run fails naming the others.
      await printClusterStatus(o, nodes, unreachable);
      if (unreachable.length > 0)
        throw new DkError(
          `${unreachable.length} of ${nodes.length + unreachable.length} hosts did not answer: ${unreachable.map((u) => u.node.spec.nodeName).join(", ")}`,
          "SSH",
        );
    },
    { partial: true },
  );
}

/** The status of the hosts that answered, and etcd's members as one of them reports them. */
async function printClusterStatus(o: ClusterCommandFlags, nodes: ClusterNode[], unreachable: UnreachableHost[]): Promise<void> {
  const { hosts, members, health } = await clusterStatus(nodes, 10);
  const yn = (b: boolean) => (b ? "yes" : "no");
  const rotation = await withClusterFolder(resolve(o.dir), undefined, readRotation, { readOnly: true });
  if (rotation && rotationInProgress(rotation)) process.stdout.write(`rotation: ${describeRotation(rotation)}\n`);
  for (const { node, steps } of hosts) {
    process.stdout.write(`\n== ${node.spec.nodeName} (${node.spec.role}, ${node.conn.host.ssh.address})\n`);
    // It answered: "unreachable" would send the user after the network, when the host was only never applied.
    if (!existsSync(join(node.spec.dir, "pki")) || (!(steps instanceof Error) && steps.every((r) => !r.done))) process.stdout.write("not applied yet\n");
    else if (steps instanceof Error) process.stdout.write(`could not read its steps: ${steps.message.split("\n")[0]}\n`);
    else {
      process.stdout.write(
        table(
          ["STEP", "DONE", "CURRENT", "HEALTHY"],
          steps.map((r) => [r.id, yn(r.done), r.done ? yn(r.current) : "-", r.done ? yn(r.healthy) : "-"]),
        ),
      );
      const onNode = rotation && rotationInProgress(rotation) ? await nodeRotation(node.spec, node.conn.transport) : undefined;
      if (onNode === "invalid") process.stdout.write(`rotation: this node's ${nodeRotationFile(node.spec)} is not a record dk-bootstrap writes (not shown)\n`);
      else if (onNode) process.stdout.write(`rotation: the ${onNode.name} CA's phase ${onNode.phase} reached this node on ${onNode.at}\n`);
      const installed = Object.entries(await installedVersions(node));
      if (installed.length > 0) process.stdout.write(`installed: ${installed.map(([p, v]) => `${p} ${v}`).join(", ")}\n`);
    }
    const expiry = await checkExpiration(node.spec.dir);
    const soonest = expiry.certificates.filter((c) => c.expires !== undefined).sort((a, b) => a.expires!.getTime() - b.expires!.getTime())[0];
    if (soonest) {
      const days = Math.floor((soonest.residualMs ?? 0) / 86_400_000);
      process.stdout.write(
        `certificates: the first to expire is ${soonest.name}, on ${soonest.expires!.toISOString().slice(0, 10)} (${days} days)${days < 30 ? ": renew it now" : ""}\n`,
      );
    }
  }
  for (const u of unreachable)
    process.stdout.write(`\n== ${u.node.spec.nodeName} (${u.node.spec.role}, ${u.node.conn.host.ssh.address})\nunreachable: ${u.reason}\n`);
  process.stdout.write("\n== etcd\n");
  if (!members) process.stdout.write("no member answers\n");
  else
    process.stdout.write(
      table(
        ["MEMBER", "ID", "STATUS", "PEER URL", "HEALTHY"],
        members.map((m) => [
          m.name || "-",
          m.id,
          m.started ? "started" : "unstarted",
          m.peerUrls.join(","),
          yn(m.clientUrls.some((u) => health.get(u) === true)),
        ]),
      ),
    );
}
