// The survey on Node, from the page's own archive: what the drawing marks, at chosen clocks.
import { describe, expect, it } from "vitest";
import { clusterArchive, makeClusterFiles } from "../src/make.js";
import { settingsOf } from "../src/settings.js";
import { SOON_MS, generateWorkshopPki } from "@dk-bootstrap/pki";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../../test-support/peers.js";
import { type CertView, survey, workshopFiles } from "../src/survey.js";
import { gunzip, readTar } from "../src/tar.js";

const DAY = 86_400_000;

describe("the survey of the page's own cluster.tar.gz", async () => {
  const made = new Date("2026-06-01T00:00:00Z");
  const settings = settingsOf({ "--key-algo": "ecdsa", "--node-name": "node-1" });
  const files = await makeClusterFiles(settings, made);
  const unpacked = new Map(readTar(await gunzip(await clusterArchive(files, made))).map((f) => [f.path, f.content]));
  const standings = async (now: Date) => {
    const s = await survey(unpacked, settings.spec, now);
    const all = s.authorities.flatMap((a) => [a.cert, ...a.leaves]).filter((v): v is CertView => v !== undefined);
    return { s, by: (st: string) => all.filter((v) => v.standing === st).map((v) => v.name) };
  };

  it("finds every certificate under its CA, valid, and the six kubeconfigs", async () => {
    const { s, by } = await standings(new Date(made.getTime() + DAY));
    expect(s.problems).toEqual([]);
    expect(s.authorities.map((a) => [a.ca, a.cert?.name, a.leaves.length])).toEqual([
      ["ca", "ca", 9],
      ["etcd/ca", "etcd/ca", 4],
      ["front-proxy-ca", "front-proxy-ca", 1],
    ]);
    expect(by("ok")).toHaveLength(17);
    expect(s.kubeconfigs.map((k) => [k.file, k.user, k.cert?.standing, k.problems])).toContainEqual(["kubelet.conf", "system:node:node-1", "ok", []]);
    expect(s.kubeconfigs).toHaveLength(6);
  });

  it("marks the leaves soon to expire in their last 30 days, and expired after", async () => {
    const leafEnd = made.getTime() + 8760 * 3_600_000;
    const soon = await standings(new Date(leafEnd - SOON_MS + DAY));
    expect(soon.by("soon")).toHaveLength(14);
    expect(soon.by("ok")).toEqual(["ca", "etcd/ca", "front-proxy-ca"]);
    const expired = await standings(new Date(leafEnd + DAY));
    expect(expired.by("expired")).toHaveLength(14);
    expect(expired.s.kubeconfigs.every((k) => k.cert?.standing === "expired")).toBe(true);
  });

  it("finds a serving certificate that lacks a name of another plan", async () => {
    const other = settingsOf({ "--key-algo": "ecdsa", "--node-name": "node-2" });
    const s = await survey(unpacked, other.spec, new Date(made.getTime() + DAY));
    const problem = s.authorities.flatMap((a) => a.leaves).filter((v) => v.standing === "problem");
    expect(problem.map((v) => v.name).sort()).toEqual(["apiserver", "clients/kubelet", "etcd/peer", "etcd/server", "kubelet"]);
  });
});

describe("the survey of a workshop-layout folder (certs --workshop)", async () => {
  const made = new Date("2026-06-01T00:00:00Z");
  const dir = tempDir("dk-web-workshop-");
  await generateWorkshopPki(dir, { now: made });
  // As a dropped folder arrives: under the folder's own name.
  const read = (p: string) => [`workshop/${p}`, new Uint8Array(readFileSync(join(dir, p)))] as const;
  const files = new Map(["certs/ca.pem", "certs/ca-key.pem", "certs/ca.csr", "certs/admin.pem", "certs/admin-key.pem", "certs/admin.csr"].map(read));
  const spec = settingsOf({}).spec;

  it("draws the CA with the admin certificate under it, each with its key, and nothing of the cluster PKI as missing", async () => {
    const s = await survey(files, spec, new Date(made.getTime() + DAY));
    expect(s.problems).toEqual([]);
    expect(s.others).toEqual([]);
    const ca = s.authorities.find((a) => a.ca === "ca")!;
    expect([ca.cert?.file, ca.cert?.standing, ca.cert?.hasKey, ca.cert?.problems]).toEqual(["certs/ca.pem", "ok", true, []]);
    expect(ca.leaves.map((v) => [v.name, v.file, v.standing, v.hasKey, v.problems])).toEqual([["admin", "certs/admin.pem", "ok", true, []]]);
  });

  it("says a key that is not the certificate's, and reads no folder with a pki/ as a workshop", async () => {
    const swapped = new Map(files).set("workshop/certs/admin-key.pem", files.get("workshop/certs/ca-key.pem")!);
    const s = await survey(swapped, spec, new Date(made.getTime() + DAY));
    expect(s.authorities[0]!.leaves[0]!.problems).toContainEqual("its key certs/admin-key.pem does not match it");
    expect(workshopFiles(new Map([...files, ["workshop/pki/ca.crt", new Uint8Array()]]))).toBeUndefined();
  });
});
