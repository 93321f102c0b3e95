// Builds every peer the test suite runs, at the versions of the tested-combination table (the product's own
// RELEASES), by calling scripts/build-peers.sh once per module and version; what is built already is reused.
// `npm test` runs it before the tests, so no test waits on a build. DK_TEST_ALL_RELEASES=1 builds every row of
// the table, not only the newest (the slower run the README documents).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { DEFAULT_VERSIONS, RELEASES, corednsVersion } from "@dk-bootstrap/orchestrator";

const here = import.meta.dirname;
const rows = process.env.DK_TEST_ALL_RELEASES === "1" ? RELEASES : RELEASES.slice(0, 1);
/** Built once whatever the rows: our own programs (pause, the web app), Traefik, etcd 3.6 (the multi-host tests) and current cfssl. */
const wanted = new Map([
  ["pause:1", ["pause", "1"]],
  ["webapp:1", ["webapp", "1"]],
  ["etcd:" + RELEASES[1].etcd, ["etcd", RELEASES[1].etcd]],
  ["traefik:" + DEFAULT_VERSIONS.traefik, ["traefik", DEFAULT_VERSIONS.traefik]],
  // Current cfssl (cmd/cfssl, cmd/cfssljson): the cfssl test data and interop tests run it beside Debian's 1.2.
  ["cfssl:1.6.5", ["cfssl", "1.6.5"]],
]);
for (const r of rows) {
  for (const [family, version] of [
    ["kubernetes", r.knownPatch],
    ["etcd", r.etcd],
    ["containerd", r.containerd],
    ["runc", r.runc],
    ["cni", r.cni],
    ["coredns", corednsVersion(r.knownPatch)],
  ])
    wanted.set(`${family}:${version}`, [family, version]);
}
const started = Date.now();
for (const [family, version] of wanted.values()) {
  try {
    execFileSync("bash", [join(here, "build-peers.sh"), family, version], { stdio: ["ignore", "ignore", "inherit"] });
  } catch {
    // build-peers.sh said why on stderr, in one line.
    process.exit(1);
  }
}
console.error(`build-test-peers: ${wanted.size} peers ready in ${Math.round((Date.now() - started) / 1000)} s`);
