// Builds every peer the test suite runs, at the versions of the tested-combination table (the product's own
// RELEASES), by calling scripts/build-peers.sh once per module and version; what is built already is reused.
// `npm test` runs it before the tests, so no test waits on a build. DK_TEST_ALL_RELEASES=1 builds every row of
// the table, not only the newest (the slower run the README documents).
//
// Two builds run at once (DK_BUILD_JOBS to change it), the largest first: one `go build` leaves a core idle while it
// downloads modules, links, or compiles one large package alone, and a second build fills those gaps. On a cold cache
// (README, Tests) that is most of the difference between the CPU time and the wall time.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DEFAULT_VERSIONS, RELEASES, corednsVersion } from "@dk-bootstrap/orchestrator";

const here = import.meta.dirname;
const rows = process.env.DK_TEST_ALL_RELEASES === "1" ? RELEASES : RELEASES.slice(0, 1);
const jobsText = process.env.DK_BUILD_JOBS ?? "2";
if (!/^[1-9]\d*$/.test(jobsText)) {
  console.error(`build-test-peers: DK_BUILD_JOBS is '${jobsText}': it takes how many builds run at once, a whole number from 1`);
  process.exit(2);
}
const jobs = Number(jobsText);
/** Each peer once, by family and version: the rows' components, and whatever the rows Traefik, etcd 3.6 (the multi-host tests), current cfssl and our own programs. */
const wanted = new Map();
const want = (family, version) => wanted.set(`${family}:${version}`, [family, version]);
// The largest first (cold CPU time on this 2-core machine: Kubernetes ~18 min, Traefik ~12, CoreDNS ~6, the others
// 3 or less), so that the small ones fill the end rather than a large one running alone last.
for (const r of rows) want("kubernetes", r.knownPatch);
want("traefik", DEFAULT_VERSIONS.traefik);
for (const r of rows) want("coredns", corednsVersion(r.knownPatch));
for (const r of rows) for (const family of ["containerd", "etcd", "runc", "cni"]) want(family, r[family]);
want("etcd", RELEASES[1].etcd);
// Current cfssl (cmd/cfssl, cmd/cfssljson): the cfssl test data and interop tests run it beside Debian's 1.2.
want("cfssl", "1.6.5");
want("pause", "1");
want("webapp", "1");

/** One build; resolves with its exit code (build-peers.sh says why on stderr, in one line). */
const build = ([family, version]) =>
  new Promise((resolve) => {
    const child = spawn("bash", [join(here, "build-peers.sh"), family, version], { stdio: ["ignore", "ignore", "inherit"] });
    child.on("close", (code) => resolve(code ?? 1));
    child.on("error", () => resolve(1));
  });

const started = Date.now();
const queue = [...wanted.values()];
let failed = false;
await Promise.all(
  Array.from({ length: jobs }, async () => {
    while (queue.length > 0 && !failed) if ((await build(queue.shift())) !== 0) failed = true;
  }),
);
if (failed) process.exit(1);
console.error(`build-test-peers: ${wanted.size} peers ready in ${Math.round((Date.now() - started) / 1000)} s (${jobs} at once)`);
